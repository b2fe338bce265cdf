"""What the sender's reliability needs from the stack: a receive budget that outlasts transient
trouble, and narrow permissions to dead-letter records and refuse requests itself."""

from __future__ import annotations

from sesmailengine.testing import ResourceGraph

QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUS = "aws:cloudwatch/eventBus:EventBus"


def sender_statements(graph: ResourceGraph) -> dict[str, dict]:
    statements = graph.one(ROLE_POLICY, "sender").json_input("policy")["Statement"]
    return {statement["Sid"]: statement for statement in statements}


def test_email_queue_allows_ten_receives_before_its_dlq(dev):
    redrive = dev.one(QUEUE, "email-queue").json_input("redrivePolicy")
    assert redrive == {
        "deadLetterTargetArn": dev.one(QUEUE, "email-dlq").outputs["arn"],
        "maxReceiveCount": 10,
    }


def test_the_sender_may_send_only_to_the_email_dlq(dev):
    # GIVEN the dev stack
    statements = sender_statements(dev)
    # THEN SendMessage is granted on the email DLQ alone, whose URL the sender is given
    assert statements["MoveUnusableRecordsToDeadLetterQueue"] == {
        "Sid": "MoveUnusableRecordsToDeadLetterQueue",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": dev.one(QUEUE, "email-dlq").outputs["arn"],
    }
    env = dev.one(FUNCTION, "sender").inputs["environment"]["variables"]
    assert env["EMAIL_DEAD_LETTER_QUEUE_URL"] == dev.one(QUEUE, "email-dlq").outputs["url"]


def test_the_sender_may_put_only_rejection_events_on_the_bus(dev):
    statements = sender_statements(dev)
    assert statements["PublishRequestRejections"] == {
        "Sid": "PublishRequestRejections",
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": dev.one(BUS).outputs["arn"],
        "Condition": {
            "StringEquals": {
                "events:detail-type": "Email Request Rejected",
                "events:source": "sesmailengine",
            }
        },
    }
    put_events = [s for s in statements.values() if "events:PutEvents" in str(s["Action"])]
    assert len(put_events) == 1
    env = dev.one(FUNCTION, "sender").inputs["environment"]["variables"]
    assert env["EVENT_BUS_NAME"] == dev.one(BUS).outputs["name"]
