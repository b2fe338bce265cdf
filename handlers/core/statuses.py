"""Email statuses, suppression reasons and what the sender does with each record."""

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Values of the tracking item's ``status`` attribute.

    The sender writes ``scheduled``, ``processing``, ``sent``, ``failed`` and ``suppressed``;
    the feedback processor writes the rest. Everything except ``processing`` and ``scheduled``
    is final for the sender: an ``emailId`` in any other status is never sent again.

    ``scheduled`` holds a request whose ``sendAt`` is ahead (its one-time schedule brings it back
    then, and it becomes ``processing``); ``cancelled`` is a scheduled email someone cancelled
    (``sesmail cancel``): final, never sent.

    ``unknown`` is the one status nobody observed: a send may or may not have reached SES (the
    claim expired with no ``sent`` write and no SES ``Send`` event), and the ``hold`` ambiguous-
    send policy chose never to send it again rather than risk a duplicate. The sender (meeting
    the expired claim) or the stuck-email sweep writes it, with a ``statusReason``; SES events
    arriving later still move it forward (see ``feedback_rules.RANK``).
    """

    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    UNKNOWN = "unknown"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    DELIVERED = "delivered"
    SOFT_BOUNCED = "soft_bounced"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    CANCELLED = "cancelled"


class AmbiguousSendPolicy(StrEnum):
    """What happens to an email whose send is ambiguous: its claim expired while it was still
    ``processing``, and neither the sender's ``sent`` write nor an SES ``Send`` event recorded
    the send. SES may or may not have accepted it."""

    RESEND = "resend"
    """Send it again: never lose an email, at the risk of a duplicate."""
    HOLD = "hold"
    """Mark it ``unknown`` with a ``statusReason`` and never send it again: never send twice, at
    the risk of an email that was never sent."""


class SuppressionReason(StrEnum):
    """Values of the suppression item's ``reason`` attribute."""

    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    SOFT_BOUNCE = "soft_bounce"
    MANUAL = "manual"
    UNSUBSCRIBE = "unsubscribe"


class Category(StrEnum):
    """A template's ``category`` in ``metadata.json``."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


def blocks(reason: str, category: Category) -> bool:
    """Whether a suppression with ``reason`` stops an email of ``category``.

    An ``unsubscribe`` stops marketing mail only: someone who left a newsletter still gets
    their password resets. Every other reason, including any value this code does not know,
    stops everything.
    """
    if reason == SuppressionReason.UNSUBSCRIBE:
        return category == Category.MARKETING
    return True


@dataclass(frozen=True)
class Suppression:
    """One address's Suppression item, as the sender reads it.

    ``reason`` is the address-wide suppression (``unsubscribe``: all marketing; any other:
    everything); None when the address only left some topics. ``topics`` are the topics it
    unsubscribed from (``unsubscribedTopics``), which stop marketing mail of those topics only.
    """

    reason: str | None = None
    topics: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.reason is None and not self.topics:
            # An item with neither (written by hand) blocks everything, as it always did.
            object.__setattr__(self, "reason", SuppressionReason.MANUAL.value)

    def blocking(self, category: Category, topic: str | None = None) -> str | None:
        """Why this stops an email of ``category`` about ``topic``; None when it does not."""
        if self.reason is not None and blocks(self.reason, category):
            return self.reason
        if category == Category.MARKETING and topic in self.topics:
            return f"unsubscribed from topic {topic}"
        return None


class Outcome(StrEnum):
    """What became of one SQS record. Only ``retry`` and ``untrackable`` are reported in
    ``batchItemFailures``; every other outcome consumes the message (``dead_lettered``: the
    sender put it in the email DLQ itself; ``conflict``: its ``emailId`` names another request;
    ``held``: an ambiguous send written ``unknown``; ``scheduled``: held as ``scheduled`` until
    its one-time schedule brings it back)."""

    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    UNTRACKABLE = "untrackable"
    DEAD_LETTERED = "dead_lettered"
    CONFLICT = "conflict"
    HELD = "held"
    SCHEDULED = "scheduled"

    @property
    def consumed(self) -> bool:
        return self not in (Outcome.RETRY, Outcome.UNTRACKABLE)


# Which suppression reason wins when an address is suppressed again: a stronger reason replaces
# a weaker one (an address that unsubscribed from marketing and then hard-bounces must stop
# getting transactional mail too); an equal or weaker one leaves the item alone. ``manual`` and
# any reason this code does not know are never replaced: they are an operator's decision.
SUPPRESSION_PRECEDENCE: tuple[SuppressionReason, ...] = (
    SuppressionReason.UNSUBSCRIBE,
    SuppressionReason.SOFT_BOUNCE,
    SuppressionReason.HARD_BOUNCE,
    SuppressionReason.COMPLAINT,
    SuppressionReason.MANUAL,
)


def replaceable_by(reason: SuppressionReason) -> tuple[SuppressionReason, ...]:
    """The existing reasons a new suppression with ``reason`` overwrites."""
    return SUPPRESSION_PRECEDENCE[: SUPPRESSION_PRECEDENCE.index(reason)]


def failure_kind(reason: str | None) -> str:
    """A short, bounded label for why an email failed, for a metric dimension:
    `missing variable: orderId` → `missing_variable`."""
    head = (reason or "").split(":", 1)[0].strip().lower()
    kind = "".join(c if c.isalnum() else "_" for c in head).strip("_")
    return kind[:40] or "unknown"
