"""A thread-safe token bucket: the pace of one sender instance (emails per second)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``acquire()`` blocks until a send is allowed. A rate of 0 or less means unlimited.

    The bucket holds at most one second of tokens, so an instance never bursts above
    ``rate`` in any one-second window after an idle period. As a pacer of its own (an explicit
    ``MAX_SEND_RATE``) it keeps its rate whatever SES answers; :class:`~.pacing.AdaptiveRate`
    retunes it.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            self._refill()
            self._tokens -= 1.0  # reserve now; a negative balance is the queue ahead of us
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait

    def retune(self, rate: float) -> None:
        """Pace to ``rate`` from now on; the tokens earned so far are kept (up to the new
        capacity), and so are the waits of sends already queued."""
        with self._lock:
            self._refill()
            self.rate = rate
            self.capacity = max(1.0, rate)
            self._tokens = min(self._tokens, self.capacity)

    def sent(self) -> None:
        """A fixed rate ignores SES's answers."""

    def throttled(self) -> None:
        """A fixed rate ignores SES's answers."""

    def _refill(self) -> None:
        now = self._clock()
        if self.rate > 0:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
