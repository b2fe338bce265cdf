"""What a real deployment does that a first `pulumi up` does not show: messages ageing through a
dead-letter queue, and `pulumi refresh` reading back what the sending brake changed."""

from __future__ import annotations

import json

import pytest
from sesmailengine.testing import ResourceGraph

QUEUE = "aws:sqs/queue:Queue"
SQS_MAX_RETENTION_SECONDS = 14 * 24 * 3600


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_dead_letter_queue_keeps_messages_longer_than_its_source(stack, request):
    # GIVEN every queue that redrives to a DLQ (a standard queue's message keeps its original
    # enqueue time in the DLQ, so it expires there at the DLQ's retention counted from then)
    graph: ResourceGraph = request.getfixturevalue(stack)
    sources = [queue for queue in graph.of_type(QUEUE) if queue.inputs.get("redrivePolicy")]
    assert sources, "no queue redrives to a DLQ: the test would check nothing"
    by_arn = {queue.outputs["arn"]: queue for queue in graph.of_type(QUEUE)}
    for source in sources:
        # WHEN its DLQ is looked up by the redrive policy's ARN
        dead_letter_queue = by_arn[
            json.loads(source.inputs["redrivePolicy"])["deadLetterTargetArn"]
        ]
        # THEN the DLQ outlives the source's retention, at SQS's maximum
        source_retention = source.inputs["messageRetentionSeconds"]
        dlq_retention = dead_letter_queue.inputs["messageRetentionSeconds"]
        assert dlq_retention > source_retention, (source.name, dead_letter_queue.name)
        assert dlq_retention == SQS_MAX_RETENTION_SECONDS


def test_every_queue_the_engine_calls_a_dlq_keeps_messages_as_long_as_sqs_allows(prod):
    dead_letter_queues = [q for q in prod.of_type(QUEUE) if "dlq" in q.name]
    assert len(dead_letter_queues) >= 4
    for queue in dead_letter_queues:
        assert queue.inputs["messageRetentionSeconds"] == SQS_MAX_RETENTION_SECONDS, queue.name


@pytest.mark.parametrize(
    ("type_", "name", "switch"),
    [
        ("aws:sesv2/configurationSet:ConfigurationSet", "configuration-set", "sendingOptions"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "sender-trigger", "enabled"),
    ],
)
def test_a_refresh_after_the_brake_does_not_turn_sending_back_on(prod, type_, name, switch):
    # GIVEN the switches the brake turns off at run time (prod runs the brake)
    resource = prod.one(type_, name)
    # WHEN Pulumi compares the program with a refreshed state
    # THEN it keeps the state's value for the switch: `up` never re-enables sending
    assert switch in resource.ignore_changes
    # and a first deployment still creates it switched on
    assert resource.inputs[switch] in (True, {"sendingEnabled": True})
