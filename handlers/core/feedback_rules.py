"""What an SES event does to an email: the status it moves to, the attributes it records,
and the recipients it suppresses at once (the ``Email Status Changed`` event follows from the
status written: :mod:`.status_changes`).

Pure Python: the feedback processor's flow (:mod:`handlers.feedback`) applies these rules
through the adapters.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .notifications import Feedback, Kind
from .statuses import Status, SuppressionReason

# -- finding the email -----------------------------------------------------------------------

LOOKUP_GRACE = timedelta(minutes=5)
"""An email that cannot be found while its ``mail.timestamp`` is younger than this is retried:
the sender may not have recorded the SES message id yet, and the ``ses-message-id-index`` is
eventually consistent. Older, it is an email we never sent (or whose item expired)."""


class NotYetVisible(Exception):
    """The email is not found yet although the event is recent: retry the invocation."""


def is_recent(feedback: Feedback, now: datetime) -> bool:
    """Whether a miss may still be the index catching up (see :data:`LOOKUP_GRACE`). A ``Send``
    is never waited for: found only through the message id the sender records itself, it has
    nothing left to add."""
    return feedback.kind is not Kind.SEND and now - feedback.sent_at < LOOKUP_GRACE


# -- what the tracking item records -----------------------------------------------------------

TIMESTAMP_ATTRIBUTES: dict[Kind, str] = {
    Kind.SEND: "sentAt",
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
"""Item attributes counting every open and click."""

MAX_APPLIED_EVENTS = 1000
"""Events whose ids one tracking item keeps (``feedbackIds``, so a replay applies once). An
email opened or clicked thousands of times (a forwarded newsletter, a link scanner) would grow
its item past DynamoDB's 400 KB and fail every later write; past this many, its opens and
clicks are no longer counted. Status-changing events are always applied."""


def uncounted(kind: Kind, applied_events: int) -> bool:
    """Whether this event is an open or click the item no longer has room to count."""
    return kind in COUNTERS and applied_events >= MAX_APPLIED_EVENTS


# -- status transitions -----------------------------------------------------------------------

RANK: dict[str, int] = {
    Status.SCHEDULED: 0,
    Status.PROCESSING: 0,
    Status.UNKNOWN: 1,
    Status.SENT: 2,
    Status.SUPPRESSED: 2,
    Status.CANCELLED: 2,
    Status.DELIVERED: 3,
    Status.SOFT_BOUNCED: 4,
    Status.FAILED: 5,
    Status.BOUNCED: 6,
    Status.COMPLAINED: 7,
}
"""Statuses only move up this order, so the result does not depend on the order events
arrive in. A status this code does not know outranks everything: it is never overwritten.
``unknown`` sits just above ``processing``: it is a guess about a send nobody saw, so any SES
event that later proves what happened (``Send`` and everything after it) replaces it.
``scheduled`` and ``cancelled`` were never sent, so no SES event names them."""


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
