"""The token bucket behind the per-connection rate limit."""

from __future__ import annotations

from pipechat.realtime.ratelimit import TokenBucket


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token at 2 per second
    assert bucket.take() and not bucket.take()
    clock.now += 60  # refills up to the burst, not beyond
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_refused_events_cost_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.take()
    for _ in range(10):
        assert not bucket.take()
    clock.now += 1.0
    assert bucket.take()
