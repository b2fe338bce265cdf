"""Zero-config pacing: with ``MAX_SEND_RATE`` unset, each sender instance finds its SES send
rate itself.

SES's quota (``SendQuota.MaxSendRate``) belongs to the account and region: every sender
instance, and every other application of the account, draws on it, and SES answers the excess
with ``TooManyRequestsException`` ("Maximum sending rate exceeded"). An instance therefore

- starts from its share, the quota ÷ the mapping's maximum concurrency (``GetAccount``, read
  on first use and again every :data:`QUOTA_REFRESH_SECONDS`);
- adds :data:`INCREASE_PER_SECOND` of that share each second it sends at full pace (each
  accepted send adds ``share * INCREASE_PER_SECOND / rate``, so an idle instance does not
  climb), never above the whole quota: when the other instances are idle, one may use it all;
- multiplies its rate by :data:`DECREASE_FACTOR` on a throttle, at most once per
  :data:`DECREASE_INTERVAL_SECONDS` (the sends already in flight when SES started refusing
  report the same overshoot), never below :data:`MIN_SHARE_FRACTION` of the share.

This is AIMD, as TCP shares a link: instances sharing the quota converge to equal rates whose
sum sits at the quota, and a sender of the account we do not control simply leaves less of it.
Going slightly over costs little: SES accepts up to the quota and the throttled record is
retried after a backoff (never failed, never sent twice). The factors were chosen by
``bench/bench_pacing.py`` (README, Pacing).

When the quota is unavailable (an emulator without ``GetAccount``, a denied call) the
instances share :data:`FALLBACK_QUOTA`, what SES grants a new production account, with no
ceiling: an instance grows by :data:`UNKNOWN_QUOTA_INCREASE_PER_SECOND` of its own rate each
second of full-pace sending until SES throttles it. The next refresh reads the quota again.

Pure: the clock, the sleep and the quota look-up are injected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from .ratelimit import TokenBucket

FALLBACK_QUOTA = 14.0
"""Emails per second assumed for the account when its quota cannot be read: SES's quota for
a new production account."""
QUOTA_REFRESH_SECONDS = 300.0
"""How long a quota read with ``GetAccount`` is used before it is read again."""
INCREASE_PER_SECOND = 0.05
"""Share of the quota share added per second of sending at full pace."""
UNKNOWN_QUOTA_INCREASE_PER_SECOND = 0.25
"""Share of its own rate an instance adds per second of full-pace sending, quota unknown."""
DECREASE_FACTOR = 0.7
"""What a throttle multiplies the rate by."""
DECREASE_INTERVAL_SECONDS = 1.0
"""Throttles within this long of a decrease report the same overshoot: no second decrease."""
MIN_SHARE_FRACTION = 0.05
"""The rate never drops below this share of the instance's quota share."""


class Pacer(Protocol):
    """Paces one instance's sends and learns from SES's answers."""

    @property
    def rate(self) -> float:
        """Emails per second the instance paces to now; 0 means unlimited."""
        ...

    def acquire(self) -> float:
        """Block until the next send may start; returns the seconds waited."""
        ...

    def sent(self) -> None:
        """SES accepted a send."""
        ...

    def throttled(self) -> None:
        """SES refused a send for the account's sending rate."""
        ...


class AdaptiveRate:
    """The pacer of an instance with ``MAX_SEND_RATE`` unset (see the module docstring).
    Thread-safe: the sender's pool threads share one per instance."""

    def __init__(
        self,
        quota: Callable[[], float | None],
        instances: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``quota()`` is the account's ``MaxSendRate``, or None when it cannot be read;
        ``instances`` how many instances share it (the mapping's maximum concurrency)."""
        self._read_quota = quota
        self._instances = max(1, instances)
        self._clock = clock
        self._lock = threading.Lock()
        self._bucket = TokenBucket(FALLBACK_QUOTA / self._instances, clock=clock, sleep=sleep)
        self._quota: float | None = None
        self._quota_read_at: float | None = None
        self._decreased_at: float | None = None

    @property
    def rate(self) -> float:
        return self._bucket.rate

    @property
    def quota(self) -> float | None:
        """The account's quota as last read; None before the first send or when unknown."""
        return self._quota

    def acquire(self) -> float:
        self._refresh_quota()
        return self._bucket.acquire()

    def sent(self) -> None:
        with self._lock:
            rate = self._bucket.rate
            if self._quota is None:
                step = UNKNOWN_QUOTA_INCREASE_PER_SECOND * rate
                ceiling = float("inf")
            else:
                step = INCREASE_PER_SECOND * self._share
                ceiling = self._quota
            self._bucket.retune(min(ceiling, rate + step / rate))

    def throttled(self) -> None:
        with self._lock:
            now = self._clock()
            if (
                self._decreased_at is not None
                and now - self._decreased_at < DECREASE_INTERVAL_SECONDS
            ):
                return
            self._decreased_at = now
            self._bucket.retune(max(self._floor, self._bucket.rate * DECREASE_FACTOR))

    @property
    def _share(self) -> float:
        return (self._quota or FALLBACK_QUOTA) / self._instances

    @property
    def _floor(self) -> float:
        return MIN_SHARE_FRACTION * self._share

    def _refresh_quota(self) -> None:
        now = self._clock()
        with self._lock:
            due = self._quota_read_at is None or now - self._quota_read_at >= QUOTA_REFRESH_SECONDS
            if not due:
                return
            first = self._quota_read_at is None
            self._quota_read_at = now  # one thread reads; the others keep the current rate
        quota = self._read_quota()
        with self._lock:
            self._quota = quota if quota and quota > 0 else None
            if first:
                self._bucket.retune(self._share)
            elif self._quota is not None:
                # AWS may have changed the quota: stay within the new one.
                self._bucket.retune(min(self._bucket.rate, self._quota))
