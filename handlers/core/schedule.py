"""When a request with ``sendAt`` is sent: now, later (held ``scheduled`` under a one-time
EventBridge Scheduler schedule), or never (a ``failed`` reason). Pure Python.

- ``sendAt`` no more than :data:`SEND_NOW_WITHIN` ahead of now is due: the request is sent at
  once, as without ``sendAt`` (a schedule's ``at()`` has minute granularity, so nothing is
  gained by scheduling less). The request a schedule brings back is due by then.
- ``sendAt`` earlier than the request itself (the envelope's ``time``, when the bus took it;
  the sender's clock if absent) by more than :data:`PAST_TOLERANCE` was a mistake: ``failed``.
  Measured from the request, not from now, so a request that waited in the queue (the sending
  brake, a backlog) or a schedule that fires late is still sent, never refused as past.
- ``sendAt`` more than :data:`MAX_AHEAD` after the request: ``failed`` (Scheduler's limit).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEND_NOW_WITHIN = timedelta(seconds=60)
"""A ``sendAt`` at most this far ahead is sent now."""
PAST_TOLERANCE = timedelta(minutes=15)
"""How far before its request a ``sendAt`` may be (clock skew, a producer's own retries)."""
MAX_AHEAD = timedelta(days=365)
"""The furthest ``sendAt`` after its request: one-time schedules reach a year ahead."""


@dataclass(frozen=True)
class SendNow:
    """Due: the normal path."""


@dataclass(frozen=True)
class SendLater:
    """Hold it as ``scheduled`` until ``at`` (UTC)."""

    at: datetime


@dataclass(frozen=True)
class Refused:
    """Never send it: ``reason`` is the ``statusReason`` of its ``failed`` status."""

    reason: str


Timing = SendNow | SendLater | Refused


def timing(send_at: datetime | None, requested_at: datetime | None, now: datetime) -> Timing:
    """What to do now with a request whose ``sendAt`` is ``send_at``."""
    if send_at is None:
        return SendNow()
    requested = requested_at or now
    if send_at < requested - PAST_TOLERANCE:
        return Refused(
            f"sendAt {_text(send_at)} is in the past (the request was made at "
            f"{_text(requested)}; at most {_minutes(PAST_TOLERANCE)} minutes earlier is sent now)"
        )
    if send_at > requested + MAX_AHEAD:
        return Refused(
            f"sendAt {_text(send_at)} is more than {MAX_AHEAD.days} days after the request "
            f"({_text(requested)})"
        )
    if send_at <= now + SEND_NOW_WITHIN:
        return SendNow()
    return SendLater(send_at.astimezone(UTC))


def at_expression(moment: datetime) -> str:
    """A one-time schedule's expression for ``moment``, in UTC (``ScheduleExpressionTimezone``
    is ``UTC``): ``at(2026-01-01T09:00:00)``."""
    return f"at({moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def schedule_name(email_id: str) -> str:
    """The one-time schedule of ``email_id``: the same name on every delivery of the request, so
    creating it twice is refused (already scheduled), and ``sesmail cancel`` finds it.
    The sha256 of the id, because an ``emailId`` may hold ``:`` and be 128 characters long and
    a schedule's name may not (``[0-9a-zA-Z-_.]{1,64}``)."""
    return hashlib.sha256(email_id.encode()).hexdigest()


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
