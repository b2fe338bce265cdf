"""Helpers and fixtures for the feedback processor tests, on top of ``sender_support``'s moto
account (the same tables, bus, rule and status queue).

SES events start from the AWS documentation's samples in ``events/`` and change only what a
scenario needs: the SES message id, the ``emailId`` tag, recipients and timestamps.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from sender_support import SUPPRESSION, TRACKING, Aws, FakeContext
from sesmailengine.handlers.core.tags import encode_email_id

EVENTS = Path(__file__).parent / "events"
TO = "ada@example.org"


def sample(name: str) -> dict[str, Any]:
    """An AWS documentation sample from ``events/`` (``bounce``, ``notification-delivery``...)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def ses_event(
    name: str,
    *,
    message_id: str = "msg-1",
    email_id: str | None = "order-1",
    recipients: list[str] | None = None,
    sent_at: datetime | None = None,
    at: datetime | None = None,
    feedback_id: str | None = None,
    bounce_type: str | None = None,
) -> dict[str, Any]:
    """The sample ``name`` about our email: SES message ``message_id``, tagged with
    ``email_id`` (no tag when None), sent to ``recipients`` (default ``[TO]``), sent at
    ``sent_at`` and reported at ``at``."""
    event = sample(name)
    recipients = recipients or [TO]
    mail = event["mail"]
    mail["messageId"] = message_id
    mail["destination"] = list(recipients)
    if sent_at is not None:
        mail["timestamp"] = _iso(sent_at)
    tags = mail.setdefault("tags", {}) if "eventType" in event else mail.get("tags", {})
    tags.pop("emailId", None)
    if email_id is not None:
        tags["emailId"] = [encode_email_id(email_id)]
    if "bounce" in event:
        bounce = event["bounce"]
        template = bounce["bouncedRecipients"][0]
        bounce["bouncedRecipients"] = [template | {"emailAddress": r} for r in recipients]
        if bounce_type:
            bounce["bounceType"] = bounce_type
            bounce["bounceSubType"] = "General"
    if "complaint" in event:
        event["complaint"]["complainedRecipients"] = [{"emailAddress": r} for r in recipients]
    if "delivery" in event:
        event["delivery"]["recipients"] = list(recipients)
    for part in ("bounce", "complaint", "delivery", "deliveryDelay", "open", "click"):
        if part in event and at is not None:
            event[part]["timestamp"] = _iso(at)
        if part in ("bounce", "complaint") and part in event:
            event[part]["feedbackId"] = feedback_id or f"feedback-{uuid.uuid4()}"
    return event


def sns_event(*messages: dict[str, Any], sns_ids: list[str] | None = None) -> dict[str, Any]:
    """The Lambda event SNS delivers, one record per message (the documented envelope)."""
    envelope = sample("sns-event")
    template = envelope["Records"][0]
    records = []
    for index, message in enumerate(messages):
        record = copy.deepcopy(template)
        record["Sns"]["MessageId"] = sns_ids[index] if sns_ids else str(uuid.uuid4())
        record["Sns"]["Message"] = json.dumps(message)
        record["Sns"]["Subject"] = None
        records.append(record)
    return {"Records": records}


def track(
    aws: Aws,
    email_id: str = "order-1",
    *,
    status: str = "sent",
    to: str = TO,
    ses_message_id: str | None = "msg-1",
    **extra: Any,
) -> None:
    """A tracking item as the sender leaves it."""
    now = _iso(datetime.now(UTC))
    item: dict[str, Any] = {
        "emailId": email_id,
        "status": status,
        "toEmail": to,
        "templateName": "welcome",
        "timestamp": now,
        "createdAt": now,
        "datePartition": now[:10],
        "ttl": int(datetime.now(UTC).timestamp()) + 90 * 86400,
        "metadata": {"userId": 7},
        **extra,
    }
    if ses_message_id:
        item["sesMessageId"] = ses_message_id
    serializer = TypeSerializer()
    aws.client("dynamodb").put_item(
        TableName=TRACKING, Item={k: serializer.serialize(v) for k, v in item.items()}
    )
    aws.stream_event()  # arranged state predates the test: its write is not announced


def suppression(aws: Aws, address: str) -> dict[str, Any] | None:
    response = aws.client("dynamodb").get_item(
        TableName=SUPPRESSION, Key={"email": {"S": address}}, ConsistentRead=True
    )
    if "Item" not in response:
        return None
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in response["Item"].items()}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


@pytest.fixture
def process(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run the feedback handler on SES events (or on a ready Lambda event)."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "feedback-processor")
    monkeypatch.delenv("SOFT_BOUNCE_THRESHOLD", raising=False)
    monkeypatch.delenv("STATUS_EVENT_SOURCE", raising=False)
    from sesmailengine.handlers import feedback
    from sesmailengine.handlers.feedback_processor import handler

    feedback.reset(aws.session)
    _reobserve(aws)

    def run(*messages: dict[str, Any], event: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return handler(event or sns_event(*messages, **kwargs), FakeContext())

    yield run
    feedback.reset()


def _reobserve(aws: Aws) -> None:
    """Count the calls the processor makes (its clients are new after the reset)."""
    from sesmailengine.handlers.aws import clients

    def count(model: Any, **_: Any) -> None:
        aws.calls.append(model.name)

    for service in ("dynamodb", "events"):
        clients.client(service).meta.events.register("before-call", count)
