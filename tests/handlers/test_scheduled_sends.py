"""Scheduled sends (`detail.sendAt`) through the sender's entry point under moto: held as
`scheduled` with a one-time EventBridge Scheduler schedule, sent once when the schedule brings
the request back, cancelled with `EmailClient.cancel`, refused with a reason when the time
cannot be kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sender_support import REGION, TRACKING, Aws, FakeContext, email_request
from sesmailengine.handlers.core.events import iso
from sesmailengine.handlers.core.schedule import schedule_name

from sesmail.client import EmailClient, NotCancellable

GROUP = "mail-test-schedules"
ROLE_ARN = "arn:aws:iam::123456789012:role/scheduler-role"


class Clock:
    """The sender's clock, moved by the tests (a schedule fires later than it is made)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("sesmailengine.handlers.batch._now", fake)
    return fake


@pytest.fixture
def queues(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """EmailQueue, its DLQ and the schedule group, named in the sender's environment."""
    sqs = aws.client("sqs")
    arns = {}
    for name in ("EmailQueue", "EmailQueue-dlq"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    aws.client("scheduler").create_schedule_group(Name=GROUP)
    monkeypatch.setenv("SCHEDULE_GROUP", GROUP)
    monkeypatch.setenv("SCHEDULER_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("EMAIL_QUEUE_ARN", arns["EmailQueue"])
    monkeypatch.setenv("EMAIL_DEAD_LETTER_QUEUE_ARN", arns["EmailQueue-dlq"])
    aws.put_template()
    return arns


def run(*bodies: dict[str, Any] | str) -> dict[str, Any]:
    from sesmailengine.handlers.email_sender import handler

    events = [body if isinstance(body, str) else json.dumps(body) for body in bodies]
    return handler(
        {
            "Records": [
                {
                    "messageId": f"record-{index}",
                    "receiptHandle": "handle",
                    "body": body,
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:EmailQueue",
                }
                for index, body in enumerate(events)
            ]
        },
        FakeContext(),
    )


def scheduled_request(email_id: str, send_at: datetime | str, **detail: Any) -> dict[str, Any]:
    text = send_at if isinstance(send_at, str) else send_at.isoformat()
    request = email_request(emailId=email_id, sendAt=text, **detail)
    request["time"] = iso(datetime.now(UTC))
    return request


def schedules(aws: Aws) -> list[dict[str, Any]]:
    scheduler = aws.client("scheduler")
    return [
        scheduler.get_schedule(GroupName=GROUP, Name=summary["Name"])
        for summary in scheduler.list_schedules(GroupName=GROUP)["Schedules"]
    ]


def fire(aws: Aws, email_id: str) -> dict[str, Any]:
    """What EventBridge Scheduler does when the schedule is due: put its input on its target
    (the sender receives it from EmailQueue) and delete the schedule."""
    schedule = aws.client("scheduler").get_schedule(GroupName=GROUP, Name=schedule_name(email_id))
    aws.client("scheduler").delete_schedule(GroupName=GROUP, Name=schedule_name(email_id))
    return run(schedule["Target"]["Input"])


def cancelling_client(aws: Aws) -> EmailClient:
    return EmailClient(
        "email-bus",
        "app.orders",
        events_client=aws.client("events"),
        tracking_table=TRACKING,
        schedule_group=GROUP,
        dynamodb_client=aws.client("dynamodb"),
        scheduler_client=aws.client("scheduler"),
    )


def test_a_request_due_later_is_held_as_scheduled_under_a_one_time_schedule(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    # GIVEN a request due in two days
    send_at = (clock.now + timedelta(days=2)).replace(microsecond=0)
    request = scheduled_request("e-later", send_at.astimezone(timezone(timedelta(hours=2))))
    # WHEN the sender receives it
    assert run(request) == {"batchItemFailures": []}
    # THEN it is tracked as scheduled, nothing is sent, and one schedule brings it back then
    item = aws.item("e-later")
    assert item["status"] == "scheduled"
    assert item["scheduledAt"] == iso(send_at)
    assert item["datePartition"] == iso(send_at)[:10]
    assert "statusReason" not in item
    assert aws.sent_mail() == []
    [schedule] = schedules(aws)
    assert schedule["Name"] == schedule_name("e-later")
    assert schedule["ScheduleExpression"] == f"at({send_at.strftime('%Y-%m-%dT%H:%M:%S')})"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == queues["EmailQueue"]
    assert target["RoleArn"] == ROLE_ARN
    assert target["DeadLetterConfig"] == {"Arn": queues["EmailQueue-dlq"]}
    assert json.loads(target["Input"]) == request


def test_the_schedule_firing_sends_the_email_exactly_once(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    # GIVEN a request held until an hour from now
    send_at = clock.now + timedelta(hours=1)
    run(scheduled_request("e-fires", send_at))
    # WHEN the hour has passed and its schedule fires, and the request arrives once more
    clock.now = send_at + timedelta(seconds=5)
    assert fire(aws, "e-fires") == {"batchItemFailures": []}
    run(scheduled_request("e-fires", send_at))
    # THEN the email is sent once
    assert len(aws.sent_mail()) == 1
    assert aws.item("e-fires")["status"] == "sent"


def test_a_schedule_firing_late_still_sends(aws: Aws, queues: dict[str, str], clock: Clock) -> None:
    # GIVEN a scheduled request  WHEN its schedule fires a day late (EmailQueue was held back)
    send_at = clock.now + timedelta(hours=1)
    run(scheduled_request("e-late", send_at))
    clock.now = send_at + timedelta(days=1)
    fire(aws, "e-late")
    # THEN it is sent: "past" is measured from when it was requested
    assert aws.item("e-late")["status"] == "sent"


def test_a_redelivered_request_neither_schedules_twice_nor_sends(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    # GIVEN a scheduled request
    request = scheduled_request("e-again", clock.now + timedelta(days=1))
    run(request)
    # WHEN SQS delivers it again
    assert run(request) == {"batchItemFailures": []}
    # THEN there is still one schedule and nothing was sent
    assert len(schedules(aws)) == 1
    assert aws.sent_mail() == []
    assert aws.item("e-again")["status"] == "scheduled"


def test_a_redelivery_creates_the_schedule_a_crashed_attempt_did_not(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    # GIVEN a request tracked as scheduled whose schedule was never created (the attempt died)
    request = scheduled_request("e-crash", clock.now + timedelta(days=1))
    run(request)
    aws.client("scheduler").delete_schedule(GroupName=GROUP, Name=schedule_name("e-crash"))
    # WHEN the request is delivered again
    run(request)
    # THEN its schedule exists
    assert [s["Name"] for s in schedules(aws)] == [schedule_name("e-crash")]


def test_a_failed_schedule_creation_retries_the_record(
    aws: Aws, queues: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a schedule group that does not exist
    monkeypatch.setenv("SCHEDULE_GROUP", "missing-group")
    # WHEN a request due later arrives  THEN the record is retried and stays scheduled
    result = run(scheduled_request("e-nogroup", clock.now + timedelta(days=1)))
    assert result == {"batchItemFailures": [{"itemIdentifier": "record-0"}]}
    assert aws.item("e-nogroup")["status"] == "scheduled"


def test_a_request_due_within_a_minute_is_sent_now(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    run(scheduled_request("e-soon", clock.now + timedelta(seconds=30)))
    assert aws.item("e-soon")["status"] == "sent"
    assert schedules(aws) == []


@pytest.mark.parametrize(
    ("send_at", "reason"),
    [
        (timedelta(hours=-1), "is in the past"),
        (timedelta(days=366), "is more than 365 days after the request"),
        ("2026-13-01T09:00:00Z", "invalid request: sendAt:"),
        ("2026-07-01T09:00:00", "malformed: needs an offset"),
        (1767258000, "must be an ISO-8601 time with an offset"),
    ],
)
def test_a_send_at_that_cannot_be_kept_fails_with_a_reason(
    aws: Aws, queues: dict[str, str], clock: Clock, send_at: Any, reason: str
) -> None:
    # GIVEN a sendAt in the past, too far ahead, malformed or without an offset
    value = iso(clock.now + send_at) if isinstance(send_at, timedelta) else send_at
    request = email_request(emailId="e-bad", sendAt=value)
    request["time"] = iso(clock.now)
    # WHEN the sender receives it  THEN it fails, tracked, with a reason naming sendAt
    assert run(request) == {"batchItemFailures": []}
    item = aws.item("e-bad")
    assert item["status"] == "failed"
    assert reason in item["statusReason"]
    assert "sendAt" in item["statusReason"]
    assert aws.sent_mail() == [] and schedules(aws) == []


def test_without_scheduled_sends_a_later_send_at_fails(
    aws: Aws, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCHEDULE_GROUP", raising=False)
    aws.put_template()
    run(scheduled_request("e-off", clock.now + timedelta(days=1)))
    assert aws.item("e-off")["status"] == "failed"
    assert "no SCHEDULE_GROUP" in aws.item("e-off")["statusReason"]


def test_cancel_stops_a_scheduled_email_for_good(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    # GIVEN a scheduled email
    run(scheduled_request("e-cancel", clock.now + timedelta(hours=1)))
    schedule = schedules(aws)[0]
    # WHEN it is cancelled, and the schedule (had it fired anyway) delivers the request
    cancelled = cancelling_client(aws).cancel("e-cancel")
    clock.now += timedelta(hours=2)
    run(schedule["Target"]["Input"])
    # THEN it is cancelled, its schedule is gone, and nothing was sent
    assert cancelled.status == "cancelled"
    item = aws.item("e-cancel")
    assert item["status"] == "cancelled"
    assert item["statusReason"] == "cancelled before its sendAt"
    assert schedules(aws) == []
    assert aws.sent_mail() == []


def test_cancelling_an_email_that_is_not_scheduled_says_why(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    run(scheduled_request("e-sent", clock.now))
    client = cancelling_client(aws)
    with pytest.raises(NotCancellable, match="is not scheduled: already sent"):
        client.cancel("e-sent")
    with pytest.raises(NotCancellable, match="not found"):
        client.cancel("e-nobody")


def test_scheduled_and_cancelled_are_announced(
    aws: Aws, queues: dict[str, str], clock: Clock
) -> None:
    # GIVEN a request scheduled and then cancelled
    send_at = clock.now + timedelta(hours=3)
    run(scheduled_request("e-events", send_at))
    cancelling_client(aws).cancel("e-events")
    # THEN an Email Status Changed event announces each status
    details = [event["detail"] for event in aws.status_events()]
    assert [(d["status"], d["previousStatus"]) for d in details] == [
        ("scheduled", None),
        ("cancelled", "scheduled"),
    ]
    assert details[0]["scheduledAt"] == iso(send_at)
    assert details[1]["statusReason"] == "cancelled before its sendAt"


def test_the_stuck_email_sweep_leaves_scheduled_emails_alone(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an email scheduled long ago, due later today
    long_ago = datetime.now(UTC) - timedelta(days=1)
    aws.put_item(
        emailId="e-waiting",
        status="scheduled",
        timestamp=iso(long_ago),
        createdAt=iso(long_ago),
        datePartition=iso(datetime.now(UTC))[:10],
        scheduledAt=iso(datetime.now(UTC) + timedelta(hours=1)),
    )
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "stuck-email-sweep")
    monkeypatch.setenv("AMBIGUOUS_SEND_POLICY", "hold")
    from sesmailengine.handlers.stuck_sweep import handler

    # WHEN the sweep runs  THEN it is neither stuck nor held
    assert handler({}, FakeContext()) == {"stuck": 0, "held": 0}
    assert aws.item("e-waiting")["status"] == "scheduled"
