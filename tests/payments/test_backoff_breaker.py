"""Backoff bounds and the circuit breaker's states, under Hypothesis with injected clock/random."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.payments.backoff import backoff_delay
from barberpro.payments.breaker import CircuitBreaker, CircuitState

attempts = st.integers(min_value=1, max_value=2000)
bases = st.floats(min_value=0.001, max_value=60, allow_nan=False)
caps = st.floats(min_value=0.001, max_value=3600, allow_nan=False)
draws = st.floats(min_value=0, max_value=1, exclude_max=True, allow_nan=False)


@given(attempt=attempts, base=bases, cap=caps, draw=draws)
def test_backoff_lies_between_half_and_the_whole_step(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    """The wait is in [step/2, step], step = min(cap, base * 2**(attempt-1)), never over cap."""
    step = min(cap, base * 2.0 ** min(attempt - 1, 64))
    delay = backoff_delay(attempt, base_s=base, cap_s=cap, rand=lambda: draw)
    assert step / 2 <= delay <= step <= cap


@given(attempt=attempts, base=bases, cap=caps, draw=draws)
def test_backoff_never_shrinks_from_one_attempt_to_the_next(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    """For the same draw, the next attempt waits at least as long as this one."""
    now = backoff_delay(attempt, base_s=base, cap_s=cap, rand=lambda: draw)
    later = backoff_delay(attempt + 1, base_s=base, cap_s=cap, rand=lambda: draw)
    assert later >= now


@given(
    attempt=attempts,
    base=bases,
    cap=caps,
    draw=draws,
    retry_after=st.floats(min_value=0, max_value=10**5, allow_nan=False),
)
def test_backoff_honours_retry_after(
    attempt: int, base: float, cap: float, draw: float, retry_after: float
) -> None:
    """A Retry-After is a floor: the wait is the larger of it and the jittered step."""
    plain = backoff_delay(attempt, base_s=base, cap_s=cap, rand=lambda: draw)
    delay = backoff_delay(
        attempt, base_s=base, cap_s=cap, rand=lambda: draw, retry_after_s=retry_after
    )
    assert delay == max(plain, retry_after)


def test_backoff_counts_attempts_from_one() -> None:
    """Attempt 0 is a caller's mistake, said loudly."""
    with pytest.raises(ValueError, match="from 1"):
        backoff_delay(0, base_s=1, cap_s=1, rand=lambda: 0.5)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Model:
    """The breaker as the design describes it, written independently for comparison."""

    threshold: int
    reset: float
    failures: int = 0
    opened: float | None = None
    trial: float | None = None

    def state(self, now: float) -> CircuitState:
        if self.opened is None:
            return CircuitState.CLOSED
        return CircuitState.OPEN if now - self.opened < self.reset else CircuitState.HALF_OPEN

    def allow(self, now: float) -> bool:
        state = self.state(now)
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        if self.trial is not None and now - self.trial < self.reset:
            return False
        self.trial = now
        return True

    def success(self) -> None:
        self.failures, self.opened, self.trial = 0, None, None

    def failure(self, now: float) -> None:
        self.failures += 1
        half_open = self.state(now) is CircuitState.HALF_OPEN
        if half_open or (self.opened is None and self.failures >= self.threshold):
            self.opened, self.trial = now, None


operations = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.floats(min_value=0, max_value=20, allow_nan=False)),
        st.tuples(st.just("allow"), st.just(0.0)),
        st.tuples(st.just("success"), st.just(0.0)),
        st.tuples(st.just("failure"), st.just(0.0)),
    ),
    max_size=80,
)


@given(
    threshold=st.integers(min_value=1, max_value=6),
    reset=st.floats(min_value=0.5, max_value=10, allow_nan=False),
    ops=operations,
)
def test_breaker_follows_the_state_machine(
    threshold: int, reset: float, ops: list[tuple[str, float]]
) -> None:
    """After any sequence of calls, outcomes and time, the breaker agrees with the model."""
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=threshold, reset_s=reset, clock=clock)
    model = Model(threshold=threshold, reset=reset)
    for op, amount in ops:
        if op == "tick":
            clock.now += amount
        elif op == "allow":
            assert breaker.allow() == model.allow(clock.now)
        elif op == "success":
            breaker.record_success()
            model.success()
        else:
            breaker.record_failure()
            model.failure(clock.now)
        assert breaker.state is model.state(clock.now)


@given(threshold=st.integers(min_value=1, max_value=10), callers=st.integers(2, 50))
def test_half_open_lets_exactly_one_trial_through(threshold: int, callers: int) -> None:
    """Once the reset timeout passes, only one of many callers gets the trial call."""
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=threshold, reset_s=5, clock=clock)
    for _ in range(threshold):
        breaker.record_failure()
    assert _state(breaker) is CircuitState.OPEN
    assert not any(breaker.allow() for _ in range(callers))
    clock.now += 5
    assert _state(breaker) is CircuitState.HALF_OPEN
    assert sum(breaker.allow() for _ in range(callers)) == 1
    breaker.record_success()
    assert _state(breaker) is CircuitState.CLOSED
    assert all(breaker.allow() for _ in range(callers))


def test_failed_trial_reopens_and_a_lost_trial_is_replaced() -> None:
    """A failed trial reopens for another reset period; an unreported trial expires."""
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_s=10, clock=clock)
    breaker.record_failure()
    assert _state(breaker) is CircuitState.CLOSED
    breaker.record_failure()
    assert _state(breaker) is CircuitState.OPEN
    assert breaker.retry_at() == clock.now + 10
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure()
    assert _state(breaker) is CircuitState.OPEN
    assert breaker.opened_count == 2
    clock.now += 10
    assert breaker.allow()  # this trial's caller vanishes without reporting
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow()
    assert breaker.snapshot()["state"] == "half_open"


def _state(breaker: CircuitBreaker) -> CircuitState:
    """The breaker's state, read afresh (a call, so type checkers do not pin it)."""
    return breaker.state
