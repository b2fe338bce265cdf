"""Emails stuck in ``processing``, and what the sweep does with each (pure Python).

An email is *stuck* when it is still ``processing`` ``stuckAfterMinutes`` after its last claim
(the item's ``timestamp``), longer than any live claim. Two kinds:

- *abandoned*: it still carries the ``claimToken`` of an attempt that never finished (a crash,
  a timeout, a lost ``sent`` write). SES may or may not have accepted it, and neither the
  sender's write nor an SES ``Send`` event says it did: the send is ambiguous;
- *released*: an attempt failed before sending and gave the claim back (no ``claimToken``), and
  no retry came: its request is in the dead-letter queue. It was never sent.

Only an abandoned email under the ``hold`` policy is resolved here, to ``unknown``. Everything
else is reported: the sweep cannot send (the request is not on the item) and ``resend`` leaves
the choice to the sender (or to whoever redrives the dead-letter queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .events import iso
from .statuses import AmbiguousSendPolicy

PARTITION_DAYS = 2
"""The sweep reads today's and yesterday's ``datePartition``: a day's worth of stuck age is
always covered (``stuckAfterMinutes`` is at most a day)."""


class Resolution(StrEnum):
    HOLD = "hold"
    """Write ``unknown`` with :func:`hold_reason`; it is never sent again."""
    REPORT = "report"
    """Log and count it; leave it as it is."""


@dataclass(frozen=True)
class StuckEmail:
    """A ``processing`` item older than the stuck age, as read from the date index."""

    email_id: str
    since: str
    """The item's ``timestamp``: when it was last claimed."""
    claim_token: str | None
    """The attempt that never finished; None once released."""
    attempts: int

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> StuckEmail:
        return cls(
            email_id=str(item["emailId"]),
            since=str(item.get("timestamp") or ""),
            claim_token=item.get("claimToken"),
            attempts=int(item.get("attempts") or 0),
        )

    @property
    def abandoned(self) -> bool:
        return self.claim_token is not None


def partitions(now: datetime) -> list[str]:
    """The ``datePartition`` values to read, newest first (the claim's UTC date)."""
    return [iso(now - timedelta(days=days))[:10] for days in range(PARTITION_DAYS)]


def stuck_before(now: datetime, stuck_after_minutes: int) -> str:
    """Items last claimed before this ``timestamp`` are stuck."""
    return iso(now - timedelta(minutes=stuck_after_minutes))


def resolution(email: StuckEmail, policy: AmbiguousSendPolicy) -> Resolution:
    if email.abandoned and policy is AmbiguousSendPolicy.HOLD:
        return Resolution.HOLD
    return Resolution.REPORT


def hold_reason(stuck_after_minutes: int) -> str:
    return (
        f"still processing after {stuck_after_minutes} minutes with no recorded send; "
        "SES may or may not have sent it; not resent (ambiguousSendPolicy=hold)"
    )
