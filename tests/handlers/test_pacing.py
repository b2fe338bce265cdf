"""The sender's zero-config pacing (``handlers/core/pacing.py``): pure, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sesmailengine.handlers.core.pacing import (
    DECREASE_FACTOR,
    DECREASE_INTERVAL_SECONDS,
    FALLBACK_QUOTA,
    INCREASE_PER_SECOND,
    MIN_SHARE_FRACTION,
    QUOTA_REFRESH_SECONDS,
    AdaptiveRate,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def pacer(quota: float | None, instances: int = 2, clock: FakeClock | None = None):
    clock = clock or FakeClock()
    reads: list[float] = []

    def read() -> float | None:
        reads.append(clock.now)
        return quota

    rate = AdaptiveRate(read, instances, clock=clock, sleep=clock.sleep)
    return rate, clock, reads


def test_an_instance_starts_at_its_share_of_the_account_quota() -> None:
    # GIVEN an account quota of 50 emails/s shared by 5 instances
    rate, _, _ = pacer(50.0, instances=5)
    # WHEN the first send asks to go
    rate.acquire()
    # THEN the instance paces to 10 emails/s
    assert rate.rate == 10.0
    assert rate.quota == 50.0


def test_the_quota_is_read_once_and_again_after_the_refresh_period() -> None:
    # GIVEN an instance that has read its quota
    rate, clock, reads = pacer(50.0)
    rate.acquire()
    # WHEN it sends for almost the refresh period
    clock.now += QUOTA_REFRESH_SECONDS - 1
    rate.acquire()
    assert len(reads) == 1
    # THEN it reads the quota again only once the period has passed
    clock.now += 1
    rate.acquire()
    assert len(reads) == 2


def test_a_throttle_multiplies_the_rate_down() -> None:
    # GIVEN an instance at its share of 10 emails/s
    rate, _, _ = pacer(20.0)
    rate.acquire()
    # WHEN SES throttles a send
    rate.throttled()
    # THEN the rate drops by the decrease factor
    assert rate.rate == pytest.approx(10.0 * DECREASE_FACTOR)


def test_throttles_of_one_overshoot_decrease_the_rate_once() -> None:
    # GIVEN an instance whose in-flight sends are all throttled at once
    rate, clock, _ = pacer(20.0)
    rate.acquire()
    for _ in range(5):
        rate.throttled()
    # THEN the rate dropped once
    assert rate.rate == pytest.approx(10.0 * DECREASE_FACTOR)
    # AND a throttle after the interval drops it again
    clock.now += DECREASE_INTERVAL_SECONDS
    rate.throttled()
    assert rate.rate == pytest.approx(10.0 * DECREASE_FACTOR**2)


def test_accepted_sends_creep_the_rate_back_up() -> None:
    # GIVEN an instance throttled down from its share of 10 emails/s
    rate, _, _ = pacer(20.0)
    rate.acquire()
    rate.throttled()
    throttled = rate.rate
    # WHEN SES accepts a second's worth of sends at that rate
    for _ in range(round(throttled)):
        rate.sent()
    # THEN the rate grew by about INCREASE_PER_SECOND of the share
    assert rate.rate == pytest.approx(throttled + INCREASE_PER_SECOND * 10.0, rel=0.05)


def test_a_lone_instance_may_use_the_whole_quota_never_more() -> None:
    # GIVEN two instances' share of a 20 emails/s quota, the other instance idle
    rate, _, _ = pacer(20.0, instances=2)
    rate.acquire()
    # WHEN SES accepts many sends
    for _ in range(10_000):
        rate.sent()
    # THEN the instance reached the account's quota and stopped there
    assert rate.rate == 20.0


def test_the_rate_never_drops_below_its_floor() -> None:
    # GIVEN an instance throttled again and again (another sender takes the whole quota)
    rate, clock, _ = pacer(20.0, instances=2)
    rate.acquire()
    for _ in range(100):
        clock.now += DECREASE_INTERVAL_SECONDS
        rate.throttled()
    # THEN it still sends, at the floor
    assert rate.rate == pytest.approx(MIN_SHARE_FRACTION * 10.0)


def test_an_unreadable_quota_falls_back_and_still_grows() -> None:
    # GIVEN an account whose quota cannot be read (GetAccount unavailable)
    rate, _, _ = pacer(None, instances=2)
    rate.acquire()
    # THEN the instance starts at its share of the fallback quota
    assert rate.quota is None
    assert rate.rate == FALLBACK_QUOTA / 2
    # AND with no quota to stop at, accepted sends grow it past the fallback
    for _ in range(200):
        rate.sent()
    assert rate.rate > FALLBACK_QUOTA


def test_a_lowered_quota_caps_the_rate_at_the_next_refresh() -> None:
    # GIVEN an instance that has grown to a 40 emails/s quota
    quota = [40.0]
    clock = FakeClock()
    rate = AdaptiveRate(lambda: quota[0], 1, clock=clock, sleep=clock.sleep)
    rate.acquire()
    # WHEN AWS lowers the quota to 10 and the refresh period passes
    quota[0] = 10.0
    clock.now += QUOTA_REFRESH_SECONDS
    rate.acquire()
    # THEN the instance paces within the new quota
    assert rate.rate == 10.0


def test_sends_are_paced_to_the_current_rate() -> None:
    # GIVEN an instance at 4 emails/s (a quota of 8 shared by two)
    rate, clock, _ = pacer(8.0)
    start = clock.now
    # WHEN 4 + 20 sends go one after another (the first second's burst, then 20 paced)
    for _ in range(24):
        rate.acquire()
    # THEN the paced ones took 5 seconds
    assert clock.now - start == pytest.approx(5.0)


@given(
    st.lists(st.sampled_from(["sent", "throttled", "tick"]), max_size=300),
    st.floats(min_value=0.5, max_value=5000),
    st.integers(min_value=1, max_value=1000),
)
def test_the_rate_stays_between_the_floor_and_the_quota(
    answers: list[str], quota: float, instances: int
) -> None:
    # GIVEN any quota and number of instances  WHEN SES answers in any order
    rate, clock, _ = pacer(quota, instances)
    rate.acquire()
    share = quota / instances
    for answer in answers:
        if answer == "tick":
            clock.now += 0.5
        else:
            getattr(rate, answer)()
        # THEN the rate is never above the account's quota nor below the floor
        assert MIN_SHARE_FRACTION * share * (1 - 1e-9) <= rate.rate <= quota
