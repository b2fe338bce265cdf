"""StatusEvents: the tracking table's stream feeds the status-events function, which alone may
put `Email Status Changed` events; batches it gives up on go to its own DLQ."""

from __future__ import annotations

FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
QUEUE = "aws:sqs/queue:Queue"
TABLE = "aws:dynamodb/table:Table"


def test_the_tracking_table_streams_both_images_of_every_write(dev):
    tracking = dev.one(TABLE, "tracking").inputs
    assert tracking["streamEnabled"] is True
    assert tracking["streamViewType"] == "NEW_AND_OLD_IMAGES"
    assert "streamEnabled" not in dev.one(TABLE, "suppression").inputs


def test_the_stream_triggers_the_function_with_partial_failures_bisection_and_a_dlq(dev):
    mapping = dev.one(MAPPING, "status-events").inputs
    assert mapping["eventSourceArn"] == dev.one(TABLE, "tracking").outputs["streamArn"]
    assert mapping["functionName"] == dev.one(FUNCTION, "status-events").outputs["arn"]
    assert mapping["startingPosition"] == "LATEST"
    assert mapping["batchSize"] == 100
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["maximumRetryAttempts"] == 100
    assert mapping["maximumRecordAgeInSeconds"] == 6 * 3600
    assert mapping["destinationConfig"] == {
        "onFailure": {"destinationArn": dev.one(QUEUE, "status-events-dlq").outputs["arn"]}
    }


def test_the_dlq_keeps_messages_fourteen_days_encrypted(dev):
    queue = dev.one(QUEUE, "status-events-dlq").inputs
    assert queue["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue["sqsManagedSseEnabled"] is True


def test_the_function_is_configured_with_the_bus_and_the_source(dev, run_stack):
    function = dev.one(FUNCTION, "status-events").inputs
    assert function["handler"] == "handlers.status_events.handler"
    env = function["environment"]["variables"]
    assert env["EVENT_BUS_NAME"] == "sesmailengine-dev"
    assert env["STATUS_EVENT_SOURCE"] == "sesmailengine"
    assert env["POWERTOOLS_SERVICE_NAME"] == "status-events"
    tuned = run_stack("dev", statusEventSource="acme.mail").one(FUNCTION, "status-events")
    assert tuned.inputs["environment"]["variables"]["STATUS_EVENT_SOURCE"] == "acme.mail"


def test_the_function_may_read_the_stream_put_on_the_bus_and_write_its_dlq_only(dev):
    policy = dev.one("aws:iam/rolePolicy:RolePolicy", "status-events").json_input("policy")
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {
        "WriteOwnLogs",
        "ReadTrackingStream",
        "PublishStatusEvents",
        "KeepAbandonedBatches",
    }
    assert (
        statements["ReadTrackingStream"]["Resource"]
        == (dev.one(TABLE, "tracking").outputs["streamArn"])
    )
    assert sorted(statements["ReadTrackingStream"]["Action"]) == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ]
    assert statements["PublishStatusEvents"]["Action"] == "events:PutEvents"
    assert statements["PublishStatusEvents"]["Condition"] == {
        "StringEquals": {
            "events:detail-type": "Email Status Changed",
            "events:source": "sesmailengine",
        }
    }
    assert (
        statements["PublishStatusEvents"]["Resource"]
        == (dev.one("aws:cloudwatch/eventBus:EventBus", "bus").outputs["arn"])
    )
    assert (
        statements["KeepAbandonedBatches"]["Resource"]
        == (dev.one(QUEUE, "status-events-dlq").outputs["arn"])
    )


def test_only_the_status_events_function_may_put_status_events(dev):
    for policy in dev.of_type("aws:iam/rolePolicy:RolePolicy"):
        sids = {s["Sid"] for s in policy.json_input("policy")["Statement"]}
        assert ("PublishStatusEvents" in sids) == ("status-events" in policy.name), policy.name
