"""What a change to a tracking item announces: the ``Email Status Changed`` detail built from
the item's images before and after a write (a DynamoDB stream record), or nothing.

Pure Python: the status-events flow (:mod:`handlers.status_stream`) reads the stream and puts
the events. Every status written anywhere (the sender's claims and finishes, the feedback
processor, a sweep) is announced this way, once per change, from what the table holds.

Nothing here raises on an odd item: a record this function cannot describe is skipped, because
a record that failed would hold back every later change of its shard until it expired.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from .events import StatusChangedDetail, event_id, iso
from .statuses import Status
from .streaks import STREAK_KEY_PREFIX

WITHOUT_REASON = frozenset(
    {
        Status.SCHEDULED,
        Status.SENT,
        Status.DELIVERED,
        Status.SOFT_BOUNCED,
        Status.BOUNCED,
        Status.COMPLAINED,
    }
)
"""Statuses whose event carries no ``statusReason``: an earlier status's reason may still be on
the item (``failed`` by a rendering failure, then ``bounced``), and it would describe the wrong
status. Every other status (``failed``, ``suppressed``...) reports the item's reason."""

BOUNCED = frozenset({Status.BOUNCED, Status.SOFT_BOUNCED})
"""Statuses whose event carries the item's ``bounceType``, ``bounceSubType`` and
``diagnosticCode``."""


def status_change(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, changed_at: str
) -> StatusChangedDetail | None:
    """The event for a write that turned ``old`` into ``new`` (plain Python images; None when
    the item did not exist before, or was deleted), or None when the write changed no status.

    Skipped: deletions (a TTL expiry is not a status), items that are not emails (soft-bounce
    streaks under ``address#...``), items without a status, writes that left the status as it
    was (a released claim, a message id back-filled, an open counted), and ``processing`` (a
    claim is not news; its outcome is). ``changed_at`` stands in for an item without a
    ``timestamp`` (the sender and the feedback processor always write one).
    """
    if not new:
        return None
    email_id, status = new.get("emailId"), new.get("status")
    if not isinstance(email_id, str) or email_id.startswith(STREAK_KEY_PREFIX):
        return None
    if not isinstance(status, str) or status == Status.PROCESSING:
        return None
    previous = old.get("status") if old else None
    if previous == status:
        return None
    metadata = new.get("metadata")
    bounce = status in BOUNCED
    return StatusChangedDetail(
        eventId=event_id(email_id, status),
        emailId=email_id,
        status=status,
        previousStatus=_text(previous),
        toEmail=_text(new.get("toEmail")),
        templateName=_text(new.get("templateName")),
        sesMessageId=_text(new.get("sesMessageId")),
        timestamp=_text(new.get("timestamp")) or changed_at,
        statusReason=None if status in WITHOUT_REASON else _text(new.get("statusReason")),
        metadata=metadata if isinstance(metadata, dict) else None,
        scheduledAt=_text(new.get("scheduledAt")) if status == Status.SCHEDULED else None,
        bounceType=_text(new.get("bounceType")) if bounce else None,
        bounceSubType=_text(new.get("bounceSubType")) if bounce else None,
        diagnosticCode=_text(new.get("diagnosticCode")) if bounce else None,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# -- the stream records, as Lambda delivers them ----------------------------------------------


class StreamChange(BaseModel):
    """``dynamodb`` of a stream record: the images in DynamoDB JSON (``{"S": ...}``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    SequenceNumber: str
    ApproximateCreationDateTime: float | None = None
    """Epoch seconds."""
    Keys: dict[str, Any] = {}
    OldImage: dict[str, Any] | None = None
    NewImage: dict[str, Any] | None = None


class StreamRecord(BaseModel):
    """One record of a DynamoDB stream event."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    eventName: str
    dynamodb: StreamChange

    @property
    def sequence_number(self) -> str:
        return self.dynamodb.SequenceNumber

    @property
    def changed_at(self) -> str:
        """When the change was made (to the second), for an item without a ``timestamp``."""
        seconds = self.dynamodb.ApproximateCreationDateTime
        return iso(datetime.fromtimestamp(seconds or 0, UTC))


class StreamEvent(BaseModel):
    """The event Lambda invokes a DynamoDB stream's function with."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    Records: list[StreamRecord]
