"""SES feedback: the records the feedback processor reads, and the rules that apply them.

Pure Python (pydantic, no boto3). An SNS record's ``Message`` is one SES notification, in
either of the two formats AWS documents:

- *event publishing* through a configuration set (``eventType``: ``Bounce``, ``Complaint``,
  ``Delivery``, ``Send``, ``Reject``, ``Open``, ``Click``, ``Rendering Failure``,
  ``DeliveryDelay``), which carries the message tags, among them our ``emailId``;
- the older *identity notifications* (``notificationType``: ``Bounce``, ``Complaint``,
  ``Delivery``), which carry no tags.

:func:`parse_notification` turns a message into a :class:`Feedback` (or :class:`Ignored`),
once, at the edge; everything after works on that. The rules here decide the status an email
moves to (:func:`next_status`), what a soft bounce streak is, and which recipients are
suppressed for what.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigurationError
from .events import StatusChangedDetail, iso
from .models import describe
from .statuses import Status, SuppressionReason
from .tags import EMAIL_ID_TAG, decode_email_id

LOOKUP_GRACE = timedelta(minutes=5)
"""An email that cannot be found while its ``mail.timestamp`` is younger than this is retried:
the sender may not have recorded the SES message id yet, and the ``ses-message-id-index`` is
eventually consistent. Older, it is an email we never sent (or whose item expired)."""

STREAK_TTL = timedelta(days=30)
"""A soft-bounce streak is forgotten this long after its last soft bounce (DynamoDB TTL)."""

STREAK_KEY_PREFIX = "address#"
"""Streak items live in EmailTracking under ``address#<address>``; ``#`` never appears in a
real ``emailId``, and without ``toEmail``/``timestamp``/``datePartition`` they stay out of
every index."""


class MalformedFeedback(ValueError):
    """The SNS message is not an SES notification we can read. Retrying will not help, but the
    message must reach the DLQ, so the record fails."""


class NotYetVisible(Exception):
    """The email is not found yet although the event is recent: retry the invocation."""


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackSettings:
    tracking_table: str
    """EmailTracking table name (``TRACKING_TABLE``)."""
    suppression_table: str
    """Suppression table name (``SUPPRESSION_TABLE``)."""
    event_bus_name: str
    """Bus that receives ``Email Status Changed`` events (``EVENT_BUS_NAME``)."""
    status_event_source: str = "sesmailengine"
    """``Source`` of the ``Email Status Changed`` events (``STATUS_EVENT_SOURCE``)."""
    soft_bounce_threshold: int = 3
    """Consecutive soft bounces that suppress an address (``SOFT_BOUNCE_THRESHOLD``)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FeedbackSettings:
        required = ("TRACKING_TABLE", "SUPPRESSION_TABLE", "EVENT_BUS_NAME")
        missing = [name for name in required if not env.get(name)]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        raw = env.get("SOFT_BOUNCE_THRESHOLD") or "3"
        try:
            threshold = int(raw)
        except ValueError:
            message = f"SOFT_BOUNCE_THRESHOLD must be a number, got {raw!r}"
            raise ConfigurationError(message) from None
        if threshold < 1:
            raise ConfigurationError(f"SOFT_BOUNCE_THRESHOLD must be at least 1, got {raw!r}")
        return cls(
            tracking_table=env["TRACKING_TABLE"],
            suppression_table=env["SUPPRESSION_TABLE"],
            event_bus_name=env["EVENT_BUS_NAME"],
            status_event_source=env.get("STATUS_EVENT_SOURCE") or "sesmailengine",
            soft_bounce_threshold=threshold,
        )


# -- the SNS envelope -------------------------------------------------------------------------

_LENIENT = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class SnsMessage(BaseModel):
    model_config = _LENIENT

    MessageId: str
    Message: str
    Timestamp: datetime | None = None
    TopicArn: str | None = None


class SnsRecord(BaseModel):
    model_config = _LENIENT

    Sns: SnsMessage


class SnsEvent(BaseModel):
    """What SNS passes to a subscribed Lambda function."""

    model_config = _LENIENT

    Records: list[SnsRecord]


# -- the SES notification (only the fields we use; everything else is ignored) ----------------


class SesMail(BaseModel):
    model_config = _LENIENT

    timestamp: datetime
    messageId: str = Field(min_length=1)
    destination: list[str] = Field(default_factory=list)
    tags: dict[str, list[str]] = Field(default_factory=dict)


class Recipient(BaseModel):
    model_config = _LENIENT

    emailAddress: str
    status: str | None = None
    diagnosticCode: str | None = None


class SesBounce(BaseModel):
    model_config = _LENIENT

    bounceType: str
    bounceSubType: str | None = None
    bouncedRecipients: list[Recipient] = Field(min_length=1)
    timestamp: datetime
    feedbackId: str = Field(min_length=1)


class SesComplaint(BaseModel):
    model_config = _LENIENT

    complainedRecipients: list[Recipient] = Field(min_length=1)
    timestamp: datetime
    feedbackId: str = Field(min_length=1)
    complaintFeedbackType: str | None = None


class SesDelivery(BaseModel):
    model_config = _LENIENT

    timestamp: datetime
    recipients: list[str] = Field(default_factory=list)


class SesReject(BaseModel):
    model_config = _LENIENT

    reason: str | None = None


class SesRenderingFailure(BaseModel):
    model_config = _LENIENT

    errorMessage: str | None = None
    templateName: str | None = None


class SesDeliveryDelay(BaseModel):
    model_config = _LENIENT

    timestamp: datetime
    delayType: str | None = None
    delayedRecipients: list[Recipient] = Field(default_factory=list)


class SesEngagement(BaseModel):
    """``open`` and ``click``."""

    model_config = _LENIENT

    timestamp: datetime


class SesNotification(BaseModel):
    model_config = _LENIENT

    eventType: str | None = None
    notificationType: str | None = None
    mail: SesMail
    bounce: SesBounce | None = None
    complaint: SesComplaint | None = None
    delivery: SesDelivery | None = None
    reject: SesReject | None = None
    failure: SesRenderingFailure | None = None
    deliveryDelay: SesDeliveryDelay | None = None
    open: SesEngagement | None = None
    click: SesEngagement | None = None


# -- the domain view --------------------------------------------------------------------------


class Kind(StrEnum):
    """What SES reports. Bounces are split by what they mean for the address."""

    DELIVERY = "Delivery"
    HARD_BOUNCE = "HardBounce"
    SOFT_BOUNCE = "SoftBounce"
    COMPLAINT = "Complaint"
    REJECT = "Reject"
    RENDERING_FAILURE = "RenderingFailure"
    DELIVERY_DELAY = "DeliveryDelay"
    OPEN = "Open"
    CLICK = "Click"


TIMESTAMP_ATTRIBUTES: dict[Kind, str] = {
    Kind.DELIVERY: "deliveredAt",
    Kind.HARD_BOUNCE: "bouncedAt",
    Kind.SOFT_BOUNCE: "softBouncedAt",
    Kind.COMPLAINT: "complainedAt",
    Kind.REJECT: "rejectedAt",
    Kind.RENDERING_FAILURE: "renderingFailedAt",
    Kind.DELIVERY_DELAY: "deliveryDelayedAt",
    Kind.OPEN: "openedAt",
    Kind.CLICK: "clickedAt",
}
"""The item attribute holding when each kind of event first happened (SES's own time)."""

COUNTERS = {Kind.OPEN: "opens", Kind.CLICK: "clicks"}

STATUS_OF: dict[Kind, Status] = {
    Kind.DELIVERY: Status.DELIVERED,
    Kind.SOFT_BOUNCE: Status.SOFT_BOUNCED,
    Kind.HARD_BOUNCE: Status.BOUNCED,
    Kind.COMPLAINT: Status.COMPLAINED,
    Kind.REJECT: Status.FAILED,
    Kind.RENDERING_FAILURE: Status.FAILED,
}
"""Kinds that set a status; the others (delays, opens, clicks) only record timestamps."""


@dataclass(frozen=True)
class Feedback:
    """One SES event, reduced to what the processor needs."""

    kind: Kind
    key: str
    """Idempotency key: recorded on the tracking item once the event is applied. The event's
    ``feedbackId`` for bounces and complaints (the same report reaching us twice, even through
    two channels, is one report), else the SNS ``MessageId`` (kept by SNS and Lambda retries)."""
    ses_message_id: str
    email_id: str | None
    """From the ``emailId`` message tag (decoded); None without a usable tag."""
    sent_at: datetime
    """``mail.timestamp``: when SES accepted the message."""
    occurred_at: datetime
    """When SES says the event happened (the event's own timestamp, else the SNS one)."""
    recipients: tuple[str, ...] = ()
    """Lower-cased addresses the event is about: bounced, complained, delivered or delayed."""
    bounce_type: str | None = None
    bounce_sub_type: str | None = None
    diagnostic_code: str | None = None
    reason: str | None = None
    """Why it failed (Reject, RenderingFailure)."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Extra details kept on the tracking item (``complaintFeedbackType``, ``delayType``)."""

    @property
    def status(self) -> Status | None:
        return STATUS_OF.get(self.kind)

    @property
    def timestamp(self) -> str:
        return iso(self.occurred_at)


@dataclass(frozen=True)
class Ignored:
    """A notification that changes nothing (``Send``, SES's subscription confirmation...)."""

    event_type: str


def parse_notification(message: SnsMessage) -> Feedback | Ignored:
    """Read one SNS message. Raises MalformedFeedback when it is not a readable SES event."""
    try:
        data = json.loads(message.Message)
    except (TypeError, ValueError):
        raise MalformedFeedback("the SNS message is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedFeedback("the SNS message is not a JSON object")
    event_type = str(data.get("eventType") or data.get("notificationType") or "")
    kind_name = event_type.replace(" ", "")
    if kind_name not in _READERS:
        return Ignored(event_type or "(none)")
    try:
        notification = SesNotification.model_validate(data)
        return _READERS[kind_name](notification, message)
    except ValidationError as error:
        raise MalformedFeedback(f"{event_type}: {describe(error)}") from None


def _common(notification: SesNotification, message: SnsMessage) -> dict[str, Any]:
    mail = notification.mail
    return {
        "ses_message_id": mail.messageId,
        "email_id": _tagged_email_id(mail.tags),
        "sent_at": _utc(mail.timestamp),
        "occurred_at": _utc(message.Timestamp or mail.timestamp),
    }


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise MalformedFeedback(f"the {name} object is missing")
    return value


def _bounce(notification: SesNotification, message: SnsMessage) -> Feedback:
    bounce = _required(notification.bounce, "bounce")
    recipients = bounce.bouncedRecipients
    diagnostic = next((r.diagnosticCode for r in recipients if r.diagnosticCode), None)
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.HARD_BOUNCE if is_permanent(bounce.bounceType) else Kind.SOFT_BOUNCE,
            "key": f"Bounce:{bounce.feedbackId}",
            "occurred_at": _utc(bounce.timestamp),
            "recipients": _addresses(r.emailAddress for r in recipients),
            "bounce_type": bounce.bounceType,
            "bounce_sub_type": bounce.bounceSubType,
            "diagnostic_code": diagnostic,
        }
    )


def _complaint(notification: SesNotification, message: SnsMessage) -> Feedback:
    complaint = _required(notification.complaint, "complaint")
    attributes = {}
    if complaint.complaintFeedbackType:
        attributes["complaintFeedbackType"] = complaint.complaintFeedbackType
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.COMPLAINT,
            "key": f"Complaint:{complaint.feedbackId}",
            "occurred_at": _utc(complaint.timestamp),
            "recipients": _addresses(r.emailAddress for r in complaint.complainedRecipients),
            "attributes": attributes,
        }
    )


def _delivery(notification: SesNotification, message: SnsMessage) -> Feedback:
    delivery = _required(notification.delivery, "delivery")
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.DELIVERY,
            "key": f"sns:{message.MessageId}",
            "occurred_at": _utc(delivery.timestamp),
            "recipients": _addresses(delivery.recipients or notification.mail.destination),
        }
    )


def _reject(notification: SesNotification, message: SnsMessage) -> Feedback:
    reason = (notification.reject or SesReject()).reason or "no reason given"
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.REJECT,
            "key": f"sns:{message.MessageId}",
            "reason": f"rejected by SES: {reason}",
        }
    )


def _rendering_failure(notification: SesNotification, message: SnsMessage) -> Feedback:
    failure = notification.failure or SesRenderingFailure()
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.RENDERING_FAILURE,
            "key": f"sns:{message.MessageId}",
            "reason": f"rendering failed: {failure.errorMessage or 'no reason given'}",
        }
    )


def _delivery_delay(notification: SesNotification, message: SnsMessage) -> Feedback:
    delay = _required(notification.deliveryDelay, "deliveryDelay")
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.DELIVERY_DELAY,
            "key": f"sns:{message.MessageId}",
            "occurred_at": _utc(delay.timestamp),
            "recipients": _addresses(r.emailAddress for r in delay.delayedRecipients),
            "attributes": {"deliveryDelayType": delay.delayType} if delay.delayType else {},
        }
    )


def _engagement(kind: Kind):
    def read(notification: SesNotification, message: SnsMessage) -> Feedback:
        engagement = notification.open if kind is Kind.OPEN else notification.click
        engagement = _required(engagement, kind.value.lower())
        return Feedback(
            **_common(notification, message)
            | {
                "kind": kind,
                "key": f"sns:{message.MessageId}",
                "occurred_at": _utc(engagement.timestamp),
            }
        )

    return read


_READERS = {
    "Bounce": _bounce,
    "Complaint": _complaint,
    "Delivery": _delivery,
    "Reject": _reject,
    "RenderingFailure": _rendering_failure,
    "DeliveryDelay": _delivery_delay,
    "Open": _engagement(Kind.OPEN),
    "Click": _engagement(Kind.CLICK),
}


def is_permanent(bounce_type: str) -> bool:
    """Only a ``Permanent`` bounce is hard; ``Transient`` and ``Undetermined`` count as soft."""
    return bounce_type == "Permanent"


def _tagged_email_id(tags: Mapping[str, list[str]]) -> str | None:
    values = tags.get(EMAIL_ID_TAG) or []
    if not values:
        return None
    try:
        return decode_email_id(values[0]) or None
    except ValueError:
        return None


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    """Lower-cased, de-duplicated, in order."""
    return tuple(dict.fromkeys(value.strip().lower() for value in values if value.strip()))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- status transitions -----------------------------------------------------------------------

RANK: dict[str, int] = {
    Status.PROCESSING: 0,
    Status.SENT: 1,
    Status.SUPPRESSED: 1,
    Status.DELIVERED: 2,
    Status.SOFT_BOUNCED: 3,
    Status.FAILED: 4,
    Status.BOUNCED: 5,
    Status.COMPLAINED: 6,
}
"""Statuses only move up this order, so the result does not depend on the order events
arrive in. A status this code does not know outranks everything: it is never overwritten."""


def next_status(current: str | None, incoming: Status | None) -> Status | None:
    """The status after an event that reports ``incoming``; None when the status stays.

    ``delivered`` never returns to ``sent``; a late ``Delivery`` after a ``Complaint`` keeps
    ``complained``; ``bounced`` and ``complained`` are final (a complaint still outranks a bounce,
    possible only for mail with several recipients); a transient bounce reported after a delivery
    (an asynchronous bounce) is ``soft_bounced``. Delays, opens and clicks never change it.
    """
    if incoming is None:
        return None
    if current is None:
        return incoming
    if RANK[incoming] > RANK.get(current, len(RANK) + 1):
        return incoming
    return None


def immediate_suppressions(feedback: Feedback) -> list[tuple[str, SuppressionReason]]:
    """Recipients suppressed by this event alone: every hard-bounced and complaining one.
    ``Reject`` and ``RenderingFailure`` never suppress; soft bounces go through the streak."""
    reason = {
        Kind.HARD_BOUNCE: SuppressionReason.HARD_BOUNCE,
        Kind.COMPLAINT: SuppressionReason.COMPLAINT,
    }.get(feedback.kind)
    if reason is None:
        return []
    return [(address, reason) for address in feedback.recipients]


BOUNCES = (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE)


def status_attributes(feedback: Feedback) -> dict[str, str]:
    """What the item records about a status this event sets: the bounce details, or why it
    failed. Written only when the status changes, so they always describe the current one."""
    if feedback.kind in BOUNCES:
        values = {
            "bounceType": feedback.bounce_type,
            "bounceSubType": feedback.bounce_sub_type,
            "diagnosticCode": feedback.diagnostic_code,
        }
        return {name: value for name, value in values.items() if value}
    if feedback.status is Status.FAILED and feedback.reason:
        return {"statusReason": feedback.reason}
    return {}


def status_changed(
    item: Mapping[str, Any], feedback: Feedback, status: Status
) -> StatusChangedDetail:
    """The ``Email Status Changed`` detail for ``item`` moving to ``status``."""
    metadata = item.get("metadata")
    bounce = feedback.kind in BOUNCES
    return StatusChangedDetail(
        emailId=str(item["emailId"]),
        status=status.value,
        previousStatus=item.get("status"),
        toEmail=item.get("toEmail"),
        templateName=item.get("templateName"),
        sesMessageId=feedback.ses_message_id,
        timestamp=feedback.timestamp,
        statusReason=feedback.reason if status is Status.FAILED else None,
        metadata=metadata if isinstance(metadata, dict) else None,
        bounceType=feedback.bounce_type if bounce else None,
        bounceSubType=feedback.bounce_sub_type if bounce else None,
        diagnosticCode=feedback.diagnostic_code if bounce else None,
    )


def outbox_entry(key: str, detail: StatusChangedDetail) -> str:
    """An element of the item's ``pendingEvents`` set: the event, tagged with the key of the
    feedback that produced it."""
    return json.dumps({"key": key, "detail": detail.to_detail()}, sort_keys=True, default=str)


def outbox_entries_for(item: Mapping[str, Any], key: str) -> list[str]:
    """The events ``key`` left unpublished on ``item``."""
    return sorted(entry for entry in item.get("pendingEvents") or () if _entry_key(entry) == key)


def outbox_detail(entry: str) -> StatusChangedDetail:
    return StatusChangedDetail.model_validate(json.loads(entry)["detail"])


def _entry_key(entry: str) -> str | None:
    try:
        return json.loads(entry).get("key")
    except (TypeError, ValueError, AttributeError):
        return None


# -- soft-bounce streaks ----------------------------------------------------------------------


def streak_key(address: str) -> str:
    return f"{STREAK_KEY_PREFIX}{address.lower()}"


def streak_entry(feedback: Feedback) -> str:
    """One soft bounce in a streak item's ``softBounces`` set: ``<timestamp> <key>``. The key
    makes the entry unique; the timestamp lets a delivery remove the bounces older than itself."""
    return f"{feedback.timestamp} {feedback.key}"


def entry_time(entry: str) -> str:
    return entry.split(" ", 1)[0]


def streak_length(entries: Iterable[str], last_delivery_at: str | None) -> int:
    """Soft bounces after the last delivery: the consecutive ones."""
    return sum(
        1 for entry in entries if last_delivery_at is None or entry_time(entry) > last_delivery_at
    )


def entries_up_to(entries: Iterable[str], moment: str) -> set[str]:
    """The entries a delivery at ``moment`` ends (soft bounces at or before it)."""
    return {entry for entry in entries if entry_time(entry) <= moment}


def streak_reached(length: int, threshold: int) -> bool:
    return length >= threshold


def is_recent(feedback: Feedback, now: datetime) -> bool:
    return now - feedback.sent_at < LOOKUP_GRACE
