"""The tracking table as the flows see it: the writes they ask for, the answers they get, and
one :class:`~typing.Protocol` per caller (the sender's batch, the feedback processor).

Pure data: the DynamoDB adapter that implements both protocols is
:class:`handlers.aws.tracking.TrackingTable`; its docstrings explain every condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .fingerprint import RequestFingerprint
from .statuses import Status

# -- the sender's writes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """Take ``email_id`` for this invocation, as ``processing`` or straight into a final status."""

    email_id: str
    status: Status
    to_email: str | None
    template_name: str | None
    metadata: dict[str, Any] | None = None
    reason: str | None = None
    fingerprint: RequestFingerprint | None = None
    """What the request was (valid requests only): kept on the item, and a ``processing`` item
    is taken over only by the same request."""
    scheduled_at: datetime | None = None
    """When a ``scheduled`` claim is due (its ``scheduledAt``)."""


@dataclass(frozen=True)
class Finish:
    """End this invocation's claim: ``sent`` (with ``ses_message_id``), ``failed`` (with
    ``reason``) or ``None`` to release it so a later attempt can send."""

    email_id: str
    status: Status | None
    ses_message_id: str | None = None
    reason: str | None = None


# -- the feedback processor's writes ------------------------------------------------------------


@dataclass(frozen=True)
class StreakIncrement:
    """Add one soft bounce to the streak item of ``address``."""

    key: str
    """The streak item's key (``address#...``)."""
    entry: str
    """``<timestamp> <feedback key>``, added to the ``softBounces`` set."""
    occurred_at: str
    """The bounce's time; refused when the streak saw a later delivery."""
    expires_at: int
    """Epoch seconds for the streak item's ``ttl``."""


@dataclass(frozen=True)
class FeedbackUpdate:
    """Apply one SES event to one tracking item, once."""

    email_id: str
    key: str
    """The event's idempotency key, added to ``feedbackIds``; the write requires its absence."""
    expected_status: str | None
    """The status the update was computed from; the write requires it still."""
    ses_message_id: str
    status: Status | None = None
    """The new status, or None to keep it."""
    changed_at: str | None = None
    """The item's ``timestamp`` when the status changes."""
    first_seen: dict[str, str] = field(default_factory=dict)
    """Attributes set only when absent (``deliveredAt``...)."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Attributes set (``bounceType``, ``statusReason``...)."""
    counters: dict[str, int] = field(default_factory=dict)
    """Numbers to add to (``opens``, ``clicks``)."""
    streak: tuple[StreakIncrement, ...] = ()


# -- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Written:
    """The write happened."""


@dataclass(frozen=True, slots=True)
class FeedbackWritten(Written):
    """The event was applied; ``refused`` holds the streak keys whose increment was refused
    because the streak had seen a later delivery (that bounce is not consecutive)."""

    refused: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConditionFailed:
    """The item's state did not allow the write; ``item`` is what was there (may be None)."""

    item: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        return None if self.item is None else self.item.get("status")

    @property
    def claim_token(self) -> str | None:
        """The token of the attempt holding a ``processing`` item (None once released)."""
        return None if self.item is None else self.item.get("claimToken")

    def claim_live(self, now: datetime) -> bool:
        """Whether another attempt holds a claim that has not expired at ``now``."""
        expires = None if self.item is None else self.item.get("claimExpiresAt")
        return self.claim_token is not None and int(expires or 0) >= int(now.timestamp())

    @property
    def fingerprint(self) -> RequestFingerprint | None:
        """The fingerprint of the request that holds the item (None before fingerprints)."""
        if self.item is None or not self.item.get("requestFingerprint"):
            return None
        return RequestFingerprint.stored(
            self.item["requestFingerprint"], self.item.get("requestFieldDigests")
        )


@dataclass(frozen=True, slots=True)
class WriteError:
    """The write could not be made; ``error`` is the translated exception."""

    error: Exception


WriteResult = Written | ConditionFailed | WriteError


# -- one protocol per caller ----------------------------------------------------------------------


class SenderTracking(Protocol):
    """What the sender's batch asks of the tracking table."""

    def claim(
        self,
        claims: Sequence[Claim],
        token: str,
        now: datetime,
        claim_timeout_seconds: int,
        ttl_days: int,
        take_over_expired: bool,
    ) -> dict[str, WriteResult]:
        """Claim every item for ``token``; the answer for each ``email_id``. An expired claim
        another attempt still holds is taken over only when ``take_over_expired``."""
        ...

    def hold(self, email_id: str, claim_token: str, reason: str, now: datetime) -> WriteResult:
        """Write ``unknown`` (with ``reason``) on an item still ``processing`` under the
        expired claim ``claim_token``."""
        ...

    def finish(self, writes: Sequence[Finish], token: str, now: datetime) -> dict[str, WriteResult]:
        """End the claims ``token`` holds; the answer for each ``email_id``."""
        ...

    def backfill_message_id(self, email_id: str, ses_message_id: str, now: datetime) -> WriteResult:
        """Record the message id on an item the feedback path already moved past ``sent``."""
        ...


class SweepTracking(Protocol):
    """What the stuck-email sweep asks of the tracking table."""

    def processing_before(self, date_partition: str, before: str) -> list[dict[str, Any]]:
        """Items created on ``date_partition``, still ``processing``, claimed before ``before``."""
        ...

    def hold(self, email_id: str, claim_token: str, reason: str, now: datetime) -> WriteResult:
        """Write ``unknown`` (with ``reason``) on an item still ``processing`` under the
        expired claim ``claim_token``."""
        ...


class FeedbackTracking(Protocol):
    """What the feedback processor asks of the tracking table (tracking and streak items)."""

    def get(self, email_id: str) -> dict[str, Any] | None:
        """The item, strongly consistent, as plain Python."""
        ...

    def find_by_message_id(self, ses_message_id: str) -> dict[str, Any] | None:
        """The item whose ``sesMessageId`` this is (eventually consistent)."""
        ...

    def apply_feedback(
        self, update: FeedbackUpdate
    ) -> FeedbackWritten | ConditionFailed | WriteError:
        """Apply one event once, with its streak increments."""
        ...

    def end_streak(
        self, key: str, delivered_at: str, expires_at: int
    ) -> dict[str, Any] | ConditionFailed | WriteError:
        """Record a delivery on a streak item; the item as written."""
        ...

    def forget_soft_bounces(self, key: str, entries: Iterable[str]) -> WriteResult:
        """Remove soft bounces a delivery ended from a streak item."""
        ...
