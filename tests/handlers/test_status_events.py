"""The status-events function: real tracking-table stream records (written by the sender and
the feedback processor under moto, read back with GetRecords) in, `Email Status Changed`
events on the bus out, read by a consumer from the queue a rule routes them to."""

# ruff: noqa: F811  (``process`` is a fixture imported from feedback_support)

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from feedback_support import process, ses_event  # noqa: F401
from sender_support import TRACKING, Aws, FakeContext, email_request, error_response
from sesmailengine.handlers.status_events import handler


def event_id(email_id: str, status: str) -> str:
    return hashlib.sha256(f"{email_id}\n{status}".encode()).hexdigest()


def fail_put_events(aws: Aws, answer: Any) -> Callable[[], None]:
    """Make the status-events function's PutEvents calls answer ``answer(entries)``; returns
    what heals EventBridge again."""
    from sesmailengine.handlers.aws import clients

    def intercept(params: dict[str, Any], **_: Any) -> Any:
        return answer(json.loads(params["body"])["Entries"])

    hooks = clients.client("events").meta.events
    hooks.register("before-call.events.PutEvents", intercept)
    return lambda: hooks.unregister("before-call.events.PutEvents", intercept)


def refuse_entry(aws: Aws, email_id: str) -> Callable[[], None]:
    """EventBridge refuses the entry for ``email_id`` and accepts (really puts) the others."""

    def answer(entries: list[dict[str, Any]]) -> Any:
        accepted = [e for e in entries if json.loads(e["Detail"])["emailId"] != email_id]
        if accepted:
            aws.client("events").put_events(Entries=accepted)
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
            if json.loads(entry["Detail"])["emailId"] == email_id
            else {"EventId": "accepted"}
            for entry in entries
        ]
        failed = len(entries) - len(accepted)
        return _Ok(), {"FailedEntryCount": failed, "Entries": results}

    return fail_put_events(aws, answer)


class _Ok:
    """The HTTP side of a 200 answer a ``before-call`` hook gives instead of a request."""

    def __init__(self) -> None:
        self.status_code = 200
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


def test_every_status_written_is_announced_once_with_its_id_and_nothing_else(
    aws: Aws, invoke, process
) -> None:
    # GIVEN an email sent by the sender and then delivered (the delivery also writes the
    # recipient's soft-bounce streak item)
    aws.put_template()
    invoke(email_request(emailId="order-1", to="ada@example.org"))
    message_id = aws.item("order-1")["sesMessageId"]
    process(ses_event("delivery", message_id=message_id, recipients=["ada@example.org"]))
    # WHEN the stream's records reach the status-events function
    response = handler(aws.stream_event(), FakeContext())
    # THEN sent and delivered are announced, in that order, each with its id; the claim
    # (processing) and the streak item are not
    assert response == {"batchItemFailures": []}
    details = [event["detail"] for event in aws.status_events()]
    assert [(d["status"], d["previousStatus"]) for d in details] == [
        ("sent", "processing"),
        ("delivered", "sent"),
    ]
    assert [d["eventId"] for d in details] == [
        event_id("order-1", "sent"),
        event_id("order-1", "delivered"),
    ]


def test_a_write_that_keeps_the_status_announces_nothing(aws: Aws) -> None:
    # GIVEN a sent email
    aws.put_item(emailId="order-1", status="sent", timestamp="2026-01-01T00:00:00.000Z")
    # WHEN something else about it changes (an open counted, say)
    aws.client("dynamodb").update_item(
        TableName=TRACKING,
        Key={"emailId": {"S": "order-1"}},
        UpdateExpression="ADD opens :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    # THEN no event is put
    assert aws.status_events() == []


def test_a_suppressed_request_is_announced_with_its_reason_and_no_previous_status(
    aws: Aws, invoke
) -> None:
    # GIVEN a suppressed recipient
    aws.put_template()
    aws.suppress("user@example.org")
    # WHEN a request for them is handled
    invoke(email_request(emailId="order-1"))
    # THEN the event says suppressed, why, and that there was no status before
    [event] = aws.status_events()
    assert event["detail"]["status"] == "suppressed"
    assert event["detail"]["previousStatus"] is None
    assert event["detail"]["statusReason"] == "recipient suppressed: hard_bounce"


def test_a_refused_entry_is_reported_and_retried_from_its_record_with_the_same_ids(
    aws: Aws, invoke
) -> None:
    # GIVEN twelve sent emails (two PutEvents calls' worth of status changes)
    aws.put_template()
    email_ids = [f"order-{n:02}" for n in range(12)]
    invoke(*(email_request(emailId=email_id) for email_id in email_ids))
    event = aws.stream_event()
    # AND EventBridge refusing the fourth email's entry of the first call
    heal = refuse_entry(aws, "order-03")
    # WHEN the stream's records reach the function
    response = handler(event, FakeContext())
    # THEN it names the refused entry's record, and stops there (the second call is not made)
    [failure] = response["batchItemFailures"]
    records = event["Records"]
    failed_at = next(
        index
        for index, record in enumerate(records)
        if record["dynamodb"]["SequenceNumber"] == failure["itemIdentifier"]
    )
    assert records[failed_at]["dynamodb"]["NewImage"]["emailId"] == {"S": "order-03"}
    assert records[failed_at]["dynamodb"]["NewImage"]["status"] == {"S": "sent"}
    first = [e["detail"]["emailId"] for e in _delivered(aws)]
    assert sorted(first) == [e for e in email_ids[:10] if e != "order-03"]
    # AND WHEN Lambda retries from that record, with EventBridge healthy again
    heal()
    retried = handler({"Records": records[failed_at:]}, FakeContext())
    # THEN every email is announced, and the repeats carry the ids already seen
    assert retried == {"batchItemFailures": []}
    second = _delivered(aws)
    assert {e["detail"]["emailId"] for e in second} >= {"order-03", "order-10", "order-11"}
    ids = {e["detail"]["eventId"] for e in second} | {event_id(e, "sent") for e in first}
    assert ids == {event_id(email_id, "sent") for email_id in email_ids}


def test_a_failed_put_events_call_is_retried_from_the_first_change(aws: Aws, invoke) -> None:
    # GIVEN two sent emails
    aws.put_template()
    invoke(email_request(emailId="order-1"), email_request(emailId="order-2"))
    event = aws.stream_event()
    # AND PutEvents throttled
    heal = fail_put_events(aws, lambda _: error_response(400, "ThrottlingException"))
    # WHEN the records reach the function
    response = handler(event, FakeContext())
    # THEN the first status change's record is named and nothing was put
    sent = [
        r
        for r in event["Records"]
        if r["dynamodb"].get("NewImage", {}).get("status") == {"S": "sent"}
    ]
    assert response == {
        "batchItemFailures": [{"itemIdentifier": sent[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert _delivered(aws) == []
    # AND a replay of the same records, once EventBridge recovers, puts the same ids
    heal()
    assert handler(event, FakeContext()) == {"batchItemFailures": []}
    assert sorted(e["detail"]["eventId"] for e in _delivered(aws)) == sorted(
        event_id(email_id, "sent") for email_id in ("order-1", "order-2")
    )


def _delivered(aws: Aws) -> list[dict[str, Any]]:
    """The events the consumer's queue received so far (without reading the stream again)."""
    sqs, events = aws.client("sqs"), []
    while messages := sqs.receive_message(
        QueueUrl=aws.status_queue_url, MaxNumberOfMessages=10
    ).get("Messages", []):
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(
                QueueUrl=aws.status_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
    return events
