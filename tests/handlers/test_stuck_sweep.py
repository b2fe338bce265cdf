"""The stuck-email sweep, run through its entry point against moto's tracking table."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sender_support import Aws, FakeContext
from sesmailengine.handlers.core.events import iso


@pytest.fixture
def sweep(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys, caplog
) -> Callable[..., dict[str, float]]:
    """Run the sweep; returns its metrics (name → value); ``sweep.logs``: its log records."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "stuck-email-sweep")
    monkeypatch.setenv("STUCK_AFTER_MINUTES", "60")
    from sesmailengine.handlers.stuck_sweep import handler

    def run(policy: str = "hold") -> dict[str, float]:
        monkeypatch.setenv("AMBIGUOUS_SEND_POLICY", policy)
        capsys.readouterr()
        handler({}, FakeContext())
        [document] = [
            json.loads(line)
            for line in capsys.readouterr().out.splitlines()
            if line.startswith('{"_aws"')
        ]
        run.logs = {
            getattr(record, "emailId", None): record.getMessage()
            for record in caplog.records
            if record.name.endswith("handlers.sweep")
        }
        names = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        # EMF keeps every value of a metric as a list
        return {metric["Name"]: sum(document[metric["Name"]]) for metric in names}

    return run


def claimed(aws: Aws, email_id: str, minutes_ago: float, **extra: Any) -> None:
    """An item the sender claimed ``minutes_ago`` and never finished (its claim long expired)."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    fields: dict[str, Any] = {
        "status": "processing",
        "timestamp": iso(at),
        "createdAt": iso(at),
        "datePartition": iso(at)[:10],
        "claimToken": "attempt-1",
        "claimExpiresAt": int(at.timestamp()) + 1800,
        "attempts": 1,
        "toEmail": "ada@example.org",
    }
    aws.put_item(emailId=email_id, **fields | extra)


def test_an_abandoned_email_is_held_as_unknown_under_hold(aws: Aws, sweep) -> None:
    # GIVEN an email claimed 90 minutes ago whose attempt never finished
    claimed(aws, "order-1", minutes_ago=90)
    # WHEN the sweep runs under the hold policy
    metrics = sweep("hold")
    # THEN it is unknown, says why, and no attempt holds it any more
    item = aws.item("order-1")
    assert item["status"] == "unknown"
    assert "no recorded send" in item["statusReason"]
    assert "claimToken" not in item and "claimExpiresAt" not in item
    # AND it is counted and logged by its emailId
    assert (metrics["StuckEmails"], metrics["EmailsHeld"]) == (1.0, 1.0)
    assert sweep.logs["order-1"] == "email stuck in processing; held as unknown"


def test_under_resend_a_stuck_email_is_only_reported(aws: Aws, sweep) -> None:
    # GIVEN an abandoned email
    claimed(aws, "order-1", minutes_ago=90)
    # WHEN the sweep runs under the resend policy
    metrics = sweep("resend")
    # THEN it stays processing for the sender (the sweep cannot send: it has no request)
    assert aws.item("order-1")["status"] == "processing"
    assert (metrics["StuckEmails"], metrics["EmailsHeld"]) == (1.0, 0.0)
    assert sweep.logs["order-1"] == "email stuck in processing; reported"


def test_a_released_email_is_reported_not_held_because_it_was_never_sent(aws: Aws, sweep) -> None:
    # GIVEN an email whose attempt failed before sending and gave its claim back
    claimed(aws, "order-1", minutes_ago=90, claimToken=None)
    aws.client("dynamodb").update_item(
        TableName="EmailTracking",
        Key={"emailId": {"S": "order-1"}},
        UpdateExpression="REMOVE claimToken",
    )
    # WHEN the sweep runs under hold
    metrics = sweep("hold")
    # THEN it is reported as stuck but stays processing (its request waits in the DLQ)
    assert aws.item("order-1")["status"] == "processing"
    assert metrics["StuckEmails"] == 1.0


def test_fresh_claims_and_finished_emails_are_left_alone(aws: Aws, sweep) -> None:
    # GIVEN an email claimed 10 minutes ago and an old one that was sent
    claimed(aws, "fresh", minutes_ago=10)
    claimed(aws, "done", minutes_ago=90, status="sent")
    # WHEN the sweep runs under hold
    metrics = sweep("hold")
    # THEN neither changes and nothing is stuck
    assert aws.item("fresh")["status"] == "processing"
    assert aws.item("done")["status"] == "sent"
    assert metrics["StuckEmails"] == 0.0


def test_an_email_created_yesterday_is_found_too(aws: Aws, sweep) -> None:
    # GIVEN an abandoned email in yesterday's date partition
    yesterday = iso(datetime.now(UTC) - timedelta(days=1))[:10]
    claimed(aws, "order-1", minutes_ago=90, datePartition=yesterday)
    # WHEN the sweep runs under hold
    sweep("hold")
    # THEN it is held
    assert aws.item("order-1")["status"] == "unknown"


def test_an_email_that_moved_on_during_the_sweep_keeps_its_status(aws: Aws, sweep) -> None:
    # GIVEN an abandoned email whose SES Send event lands between the sweep's read and write
    claimed(aws, "order-1", minutes_ago=90)

    def send_event_lands(params: dict[str, Any], **_: Any) -> None:
        if params.get("UpdateExpression", "").startswith("SET #status = :unknown"):
            aws.client("dynamodb").update_item(
                TableName="EmailTracking",
                Key={"emailId": {"S": "order-1"}},
                UpdateExpression="SET #s = :sent",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":sent": {"S": "sent"}},
            )

    from sesmailengine.handlers.aws import clients

    clients.client("dynamodb").meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", send_event_lands
    )
    # WHEN the sweep runs under hold
    metrics = sweep("hold")
    # THEN the send wins and nothing is counted as stuck
    assert aws.item("order-1")["status"] == "sent"
    assert metrics["StuckEmails"] == 0.0
