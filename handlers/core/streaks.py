"""Soft-bounce streaks: consecutive soft bounces per address, ended by a delivery.

A streak lives in EmailTracking as one item per address (:func:`streak_key`) whose
``softBounces`` set holds one :func:`streak_entry` per soft bounce and whose
``lastDeliveryAt`` ends the streak; :func:`streak_length` counts what is left. Pure Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from .notifications import Feedback

STREAK_TTL = timedelta(days=30)
"""A soft-bounce streak is forgotten this long after its last soft bounce (DynamoDB TTL)."""

STREAK_KEY_PREFIX = "address#"
"""Streak items live in EmailTracking under ``address#<address>``; ``#`` never appears in a
real ``emailId``, and without ``toEmail``/``timestamp``/``datePartition`` they stay out of
every index."""


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
