"""The sender under transient faults, redeliveries and reused ids: end to end through
``handler(event, context)`` against moto, with records received from a real queue (so their
visibility can be read back) and faults injected into the real AWS calls."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sender_support import BUS, REGION, Aws, FakeContext, email_request, error_response
from sesmailengine.handlers.aws import clients

HOLD_REASON = "previous attempt ended without a result; not resent (ambiguousSendPolicy=hold)"


@dataclass
class Queues:
    """EmailQueue and its DLQ in moto, and a queue the rejection events are routed to."""

    aws: Aws
    email_url: str
    email_arn: str
    dead_letter_url: str
    rejections_url: str

    def receive(self, *bodies: dict[str, Any] | str) -> dict[str, Any]:
        """Send ``bodies`` to EmailQueue and receive them: the SQS event Lambda would pass."""
        sqs = self.aws.client("sqs")
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body)
            sqs.send_message(QueueUrl=self.email_url, MessageBody=text)
        messages = sqs.receive_message(
            QueueUrl=self.email_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
        )["Messages"]
        assert len(messages) == len(bodies)
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message["Attributes"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.email_arn,
                    "awsRegion": REGION,
                }
                for message in messages
            ]
        }

    def visible(self) -> list[str]:
        """Bodies SQS would deliver now (received with a zero visibility, so left in place)."""
        messages = self.aws.client("sqs").receive_message(
            QueueUrl=self.email_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [message["Body"] for message in messages.get("Messages", [])]

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.aws.client("sqs").receive_message(
            QueueUrl=self.dead_letter_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return messages.get("Messages", [])

    def rejections(self) -> list[dict[str, Any]]:
        messages = self.aws.client("sqs").receive_message(
            QueueUrl=self.rejections_url, MaxNumberOfMessages=10
        )
        return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


@pytest.fixture
def queues(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Queues:
    sqs, events = aws.client("sqs"), aws.client("events")

    def create(name: str) -> tuple[str, str]:
        # A zero visibility timeout: without the sender's backoff a retry is visible at once.
        url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    email_url, email_arn = create("EmailQueue")
    dead_letter_url, _ = create("EmailQueue-dlq")
    rejections_url, rejections_arn = create("rejections")
    events.put_rule(
        Name="rejections",
        EventBusName=BUS,
        EventPattern=json.dumps({"detail-type": ["Email Request Rejected"]}),
    )
    events.put_targets(
        Rule="rejections", EventBusName=BUS, Targets=[{"Id": "q", "Arn": rejections_arn}]
    )
    monkeypatch.setenv("EMAIL_DEAD_LETTER_QUEUE_URL", dead_letter_url)
    return Queues(aws, email_url, email_arn, dead_letter_url, rejections_url)


@pytest.fixture
def run(queues: Queues) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Invoke the handler as the event source mapping does: then delete what it consumed."""
    from sesmailengine.handlers.email_sender import handler

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        response = handler(event, FakeContext())
        retried = set(failed_ids(response))
        for record in event["Records"]:
            if record["messageId"] not in retried:
                queues.aws.client("sqs").delete_message(
                    QueueUrl=queues.email_url, ReceiptHandle=record["receiptHandle"]
                )
        return response

    return invoke


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def fail(operation: str, code: str, status: int, chance: float = 1.0, seed: int = 7) -> None:
    """Make ``operation`` (``dynamodb.TransactWriteItems``...) answer ``code``, with the given
    chance per call, drawn from a seeded generator."""
    service = operation.split(".")[0]
    draw = random.Random(seed)

    def hook(**_: Any) -> Any:
        return error_response(status, code) if draw.random() < chance else None

    clients.client(service).meta.events.register(f"before-call.{operation}", hook)


# -- backoff ------------------------------------------------------------------------------------


def test_a_retried_record_stays_invisible_for_its_backoff_delay(aws: Aws, queues, run) -> None:
    # GIVEN S3 fails to serve the template (a transient error)
    aws.put_template()
    fail("s3.GetObject", "ServiceUnavailable", 503)
    event = queues.receive(email_request(emailId="e1"))
    # WHEN the record is handled on its first receive
    response = run(event)
    # THEN it is reported for retry and SQS keeps it out of sight for the first delay (1-2 s),
    # although the queue's own visibility timeout is zero
    assert failed_ids(response) == [event["Records"][0]["messageId"]]
    assert queues.visible() == []
    time.sleep(2.1)
    assert len(queues.visible()) == 1


def test_the_backoff_delay_grows_with_the_receive_count() -> None:
    from sesmailengine.handlers.core.backoff import CAP_SECONDS, retry_delay

    # GIVEN the receives a record can have before the DLQ (ten) and far beyond
    random.seed(3)
    delays = [retry_delay(count) for count in range(1, 10)]
    # THEN each delay lies in the upper half of its doubling ceiling, capped at 15 minutes
    assert all(2 ** (n - 1) <= d <= 2**n for n, d in enumerate(delays, start=1))
    assert 511 <= sum(delays) <= 1022
    assert CAP_SECONDS / 2 <= retry_delay(40) <= CAP_SECONDS


# -- records that can never succeed -------------------------------------------------------------


def test_an_untrackable_record_goes_to_the_dlq_at_once_with_its_reason(
    aws: Aws, queues, run
) -> None:
    # GIVEN a batch with a body that is not JSON and a good request
    aws.put_template()
    event = queues.receive("not json", email_request(emailId="good"))
    broken = next(r for r in event["Records"] if r["body"] == "not json")
    # WHEN it is handled
    response = run(event)
    # THEN nothing is retried: the broken record is in the DLQ with why, and the rest is sent
    assert response == {"batchItemFailures": []}
    [dead] = queues.dead_letters()
    assert dead["Body"] == "not json"
    assert dead["MessageAttributes"]["reason"]["StringValue"] == "body is not JSON"
    assert dead["MessageAttributes"]["sourceMessageId"]["StringValue"] == broken["messageId"]
    assert len(aws.sent_mail()) == 1


def test_an_untrackable_record_the_dlq_refuses_is_retried_not_dropped(
    aws: Aws, queues, run
) -> None:
    # GIVEN the DLQ refuses messages
    fail("sqs.SendMessage", "InternalError", 500)
    event = queues.receive("not json")
    # WHEN the record is handled
    response = run(event)
    # THEN it is reported for retry
    assert failed_ids(response) == [event["Records"][0]["messageId"]]


# -- transaction faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code,status", [("ThrottlingException", 400), ("InternalServerError", 500)]
)
def test_a_failing_claim_transaction_falls_back_to_single_writes(
    aws: Aws, queues, run, code: str, status: int
) -> None:
    # GIVEN every TransactWriteItems call fails
    aws.put_template()
    fail("dynamodb.TransactWriteItems", code, status)
    event = queues.receive(
        *(email_request(emailId=f"e{n}", to=f"u{n}@example.org") for n in (1, 2, 3))
    )
    # WHEN the batch is handled
    response = run(event)
    # THEN every email is claimed, sent and finished one item at a time
    assert response == {"batchItemFailures": []}
    assert len(aws.sent_mail()) == 3
    assert {item["status"] for item in aws.items()} == {"sent"}


def test_one_transaction_in_five_failing_fails_no_email(aws: Aws, queues, run) -> None:
    # GIVEN TransactWriteItems fails 20 % of the time (seeded)
    aws.put_template()
    fail("dynamodb.TransactWriteItems", "ProvisionedThroughputExceededException", 400, 0.2)
    sent = 0
    for batch in range(10):
        ids = [f"b{batch}-{n}" for n in range(5)]
        event = queues.receive(*(email_request(emailId=i, to=f"{i}@example.org") for i in ids))
        # WHEN each batch is handled
        response = run(event)
        # THEN no record is retried
        assert response == {"batchItemFailures": []}
        sent += 5
    assert len(aws.sent_mail()) == sent


# -- claims held by other attempts ---------------------------------------------------------------


def test_a_live_claim_is_retried_with_backoff_and_not_sent(aws: Aws, queues, run) -> None:
    # GIVEN another attempt holds a live claim on the email
    aws.put_template()
    aws.put_item(
        emailId="e1", status="processing", claimToken="other", claimExpiresAt=int(time.time()) + 600
    )
    event = queues.receive(email_request(emailId="e1"))
    # WHEN the request is redelivered
    response = run(event)
    # THEN it is retried later (out of sight now), not sent, the claim untouched
    assert failed_ids(response) == [event["Records"][0]["messageId"]]
    assert queues.visible() == []
    assert aws.sent_mail() == []
    assert aws.item("e1")["claimToken"] == "other"


def abandoned(aws: Aws, email_id: str) -> None:
    aws.put_item(
        emailId=email_id,
        status="processing",
        claimToken="crashed",
        claimExpiresAt=int(time.time()) - 1,
        createdAt="2026-01-01T00:00:00.000Z",
    )


def test_an_expired_claim_under_hold_becomes_unknown_and_is_not_sent(
    aws: Aws, queues, run, monkeypatch
) -> None:
    # GIVEN the hold policy and an attempt that died mid-send
    monkeypatch.setenv("AMBIGUOUS_SEND_POLICY", "hold")
    aws.put_template()
    abandoned(aws, "e1")
    # WHEN the request comes back
    response = run(queues.receive(email_request(emailId="e1")))
    # THEN it is consumed as unknown, with why, and nothing is sent
    assert response == {"batchItemFailures": []}
    item = aws.item("e1")
    assert item["status"] == "unknown"
    assert item["statusReason"] == HOLD_REASON
    assert "claimToken" not in item
    assert aws.sent_mail() == []


def test_a_released_claim_under_hold_is_sent(aws: Aws, queues, run, monkeypatch) -> None:
    # GIVEN the hold policy and a claim released by an attempt that failed before sending
    monkeypatch.setenv("AMBIGUOUS_SEND_POLICY", "hold")
    aws.put_template()
    aws.put_item(emailId="e1", status="processing", claimExpiresAt=0, lastError="throttled")
    # WHEN the request comes back
    response = run(queues.receive(email_request(emailId="e1")))
    # THEN it is sent: a released claim never reached SES
    assert response == {"batchItemFailures": []}
    assert aws.item("e1")["status"] == "sent"
    assert len(aws.sent_mail()) == 1


def test_an_expired_claim_under_resend_is_sent_once(aws: Aws, queues, run, monkeypatch) -> None:
    # GIVEN the resend policy and an attempt that died mid-send
    monkeypatch.setenv("AMBIGUOUS_SEND_POLICY", "resend")
    aws.put_template()
    abandoned(aws, "e1")
    # WHEN the request comes back twice
    run(queues.receive(email_request(emailId="e1")))
    response = run(queues.receive(email_request(emailId="e1")))
    # THEN it is sent once
    assert response == {"batchItemFailures": []}
    assert aws.item("e1")["status"] == "sent"
    assert len(aws.sent_mail()) == 1


# -- emailId conflicts --------------------------------------------------------------------------


def test_an_email_id_reused_for_another_request_is_rejected_loudly(
    aws: Aws, queues, run, capsys
) -> None:
    # GIVEN an email sent under an id
    aws.put_template()
    run(queues.receive(email_request(emailId="order-1", to="ada@example.org")))
    # WHEN another request reuses the id with another recipient and data
    response = run(
        queues.receive(
            email_request(emailId="order-1", to="bob@example.org", templateData={"name": "Bob"})
        )
    )
    # THEN it is consumed, not sent, announced on the bus with what differs, and counted
    assert response == {"batchItemFailures": []}
    assert len(aws.sent_mail()) == 1
    assert aws.item("order-1")["toEmail"] == "ada@example.org"
    [rejection] = queues.rejections()
    assert rejection["detail"] == {
        "emailId": "order-1",
        "source": "app.orders",
        "reason": "conflict: emailId already used for another request "
        "(recipient, templateData differ)",
    }
    metrics = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert any(document.get("EmailIdConflicts") == [1.0] for document in metrics)


def test_a_conflict_within_one_batch_is_rejected_too(aws: Aws, queues, run) -> None:
    # GIVEN two requests with one id and different subjects in one batch
    aws.put_template()
    event = queues.receive(
        email_request(emailId="e1", subject="One"), email_request(emailId="e1", subject="Two")
    )
    # WHEN the batch is handled
    response = run(event)
    # THEN one is sent and the other rejected
    assert response == {"batchItemFailures": []}
    assert len(aws.sent_mail()) == 1
    assert [r["detail"]["reason"] for r in queues.rejections()] == [
        "conflict: emailId already used for another request (subject differs)"
    ]


def test_a_conflict_whose_rejection_cannot_be_put_is_retried(aws: Aws, queues, run) -> None:
    # GIVEN a sent email, and PutEvents failing
    aws.put_template()
    run(queues.receive(email_request(emailId="e1")))
    fail("events.PutEvents", "InternalException", 500)
    # WHEN another request reuses the id
    event = queues.receive(email_request(emailId="e1", to="bob@example.org"))
    response = run(event)
    # THEN it is retried rather than dropped silently, and not sent
    assert failed_ids(response) == [event["Records"][0]["messageId"]]
    assert len(aws.sent_mail()) == 1


def test_an_identical_redelivery_is_a_silent_duplicate(aws: Aws, queues, run) -> None:
    # GIVEN a sent email
    aws.put_template()
    request = email_request(emailId="e1")
    run(queues.receive(request))
    # WHEN the same request is delivered again
    response = run(queues.receive(request))
    # THEN it is consumed without a send or a rejection
    assert response == {"batchItemFailures": []}
    assert len(aws.sent_mail()) == 1
    assert queues.rejections() == []


def test_a_live_claim_by_another_request_is_a_conflict(aws: Aws, queues, run) -> None:
    # GIVEN an email another attempt is sending, for another recipient
    aws.put_template()
    run(queues.receive(email_request(emailId="e1", to="ada@example.org")))
    aws.client("dynamodb").update_item(
        TableName="EmailTracking",
        Key={"emailId": {"S": "e1"}},
        UpdateExpression="SET #s = :p, claimToken = :t, claimExpiresAt = :e",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":p": {"S": "processing"},
            ":t": {"S": "other"},
            ":e": {"N": str(int(time.time()) + 600)},
        },
    )
    # WHEN a request for someone else arrives under the id
    response = run(queues.receive(email_request(emailId="e1", to="bob@example.org")))
    # THEN it is rejected, not retried
    assert response == {"batchItemFailures": []}
    assert [r["detail"]["reason"] for r in queues.rejections()] == [
        "conflict: emailId already used for another request (recipient differs)"
    ]
