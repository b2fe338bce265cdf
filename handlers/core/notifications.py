"""SES notifications as SNS delivers them, read once at the edge into a :class:`Feedback`.

Pure Python (pydantic, no boto3). An SNS record's ``Message`` is one SES notification, in
either of the two formats AWS documents:

- *event publishing* through a configuration set (``eventType``: ``Bounce``, ``Complaint``,
  ``Delivery``, ``Send``, ``Reject``, ``Open``, ``Click``, ``Rendering Failure``,
  ``DeliveryDelay``), which carries the message tags, among them our ``emailId``;
- the older *identity notifications* (``notificationType``: ``Bounce``, ``Complaint``,
  ``Delivery``), which carry no tags.

:func:`parse_notification` turns a message into a :class:`Feedback` (or :class:`Ignored`);
everything after works on that (:mod:`.feedback_rules`, :mod:`.streaks`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .events import iso
from .models import describe
from .statuses import Status
from .tags import EMAIL_ID_TAG, decode_email_id


class MalformedFeedback(ValueError):
    """The SNS message is not an SES notification we can read. Retrying will not help, but the
    message must reach the DLQ, so the record fails."""


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
    SEND = "Send"


STATUS_OF: dict[Kind, Status] = {
    Kind.SEND: Status.SENT,
    Kind.DELIVERY: Status.DELIVERED,
    Kind.SOFT_BOUNCE: Status.SOFT_BOUNCED,
    Kind.HARD_BOUNCE: Status.BOUNCED,
    Kind.COMPLAINT: Status.COMPLAINED,
    Kind.REJECT: Status.FAILED,
    Kind.RENDERING_FAILURE: Status.FAILED,
}
"""Kinds that set a status; the others (delays, opens, clicks) only record timestamps. A
``Send`` sets ``sent`` only on an email still ``processing`` (or ``unknown``): it closes the
window between SES accepting a message and the sender recording it."""


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
    """A notification that changes nothing (SES's subscription confirmation...)."""

    event_type: str


def parse_notification(message: SnsMessage) -> Feedback | Ignored:
    """Read one SNS message. Raises MalformedFeedback when it is not a readable SES event."""
    try:
        data = json.loads(message.Message)
    except (TypeError, ValueError, RecursionError):
        # RecursionError: nested deeper than the decoder recurses (SNS carries 256 KiB).
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
    except OverflowError:
        # A timestamp pydantic accepts may not fit in UTC (year 1 at +01:00).
        raise MalformedFeedback(f"{event_type}: a timestamp is out of range") from None


def _common(notification: SesNotification, message: SnsMessage) -> dict[str, Any]:
    mail = notification.mail
    return {
        # Bounces and complaints replace it with their feedbackId.
        "key": f"sns:{message.MessageId}",
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
            "reason": f"rejected by SES: {reason}",
        }
    )


def _rendering_failure(notification: SesNotification, message: SnsMessage) -> Feedback:
    failure = notification.failure or SesRenderingFailure()
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.RENDERING_FAILURE,
            "reason": f"rendering failed: {failure.errorMessage or 'no reason given'}",
        }
    )


def _delivery_delay(notification: SesNotification, message: SnsMessage) -> Feedback:
    delay = _required(notification.deliveryDelay, "deliveryDelay")
    return Feedback(
        **_common(notification, message)
        | {
            "kind": Kind.DELIVERY_DELAY,
            "occurred_at": _utc(delay.timestamp),
            "recipients": _addresses(r.emailAddress for r in delay.delayedRecipients),
            "attributes": {"deliveryDelayType": delay.delayType} if delay.delayType else {},
        }
    )


def _send(notification: SesNotification, message: SnsMessage) -> Feedback:
    # The send happened when SES accepted the message, not when the event was published.
    return Feedback(
        **_common(notification, message)
        | {"kind": Kind.SEND, "occurred_at": _utc(notification.mail.timestamp)}
    )


def _engagement(kind: Kind):
    def read(notification: SesNotification, message: SnsMessage) -> Feedback:
        engagement = notification.open if kind is Kind.OPEN else notification.click
        engagement = _required(engagement, kind.value.lower())
        return Feedback(
            **_common(notification, message)
            | {
                "kind": kind,
                "occurred_at": _utc(engagement.timestamp),
            }
        )

    return read


_READERS = {
    "Send": _send,
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
