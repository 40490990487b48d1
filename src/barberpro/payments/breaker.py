"""A circuit breaker: closed, open, half-open with one trial call. Pure logic, clock injected."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any


class CircuitState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"  # calls go through; consecutive failures are counted
    OPEN = "open"  # calls are refused until the reset timeout has passed
    HALF_OPEN = "half_open"  # one trial call decides: success closes, failure reopens


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; retries one call after ``reset_s``.

    Callers ask :meth:`allow` before a call and report :meth:`record_success` or
    :meth:`record_failure` after it. In half-open state exactly one caller is granted the trial;
    if that caller never reports (it was cancelled), a new trial is granted after ``reset_s``
    so the breaker cannot stay stuck.
    """

    def __init__(
        self, *, failure_threshold: int, reset_s: float, clock: Callable[[], float]
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_at: float | None = None  # when the half-open trial was granted
        self.opened_count = 0  # how many times the breaker has opened

    @property
    def state(self) -> CircuitState:
        """The current state (open turns half-open by itself once the reset timeout is over)."""
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at < self._reset_s:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def retry_at(self) -> float | None:
        """When a refused caller may try again (clock time), None when calls go through."""
        if self._opened_at is None:
            return None
        state = self.state
        if state is CircuitState.OPEN:
            return self._opened_at + self._reset_s
        if self._trial_at is not None:
            return self._trial_at + self._reset_s
        return None

    def trial_in_flight(self) -> bool:
        """True while a half-open trial call is out and not yet reported (nor timed out)."""
        if self.state is not CircuitState.HALF_OPEN or self._trial_at is None:
            return False
        return self._clock() - self._trial_at < self._reset_s

    def allow(self) -> bool:
        """Return True when a call may go out now; in half-open only the one trial call may."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN or self.trial_in_flight():
            return False
        self._trial_at = self._clock()
        return True

    def record_success(self) -> None:
        """A call succeeded: close the breaker and forget the failures."""
        self._failures = 0
        self._opened_at = None
        self._trial_at = None

    def record_failure(self) -> None:
        """A call failed: count it; open at the threshold, or reopen after a failed trial."""
        self._failures += 1
        if self.state is CircuitState.HALF_OPEN or (
            self._opened_at is None and self._failures >= self._threshold
        ):
            self._opened_at = self._clock()
            self._trial_at = None
            self.opened_count += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the state as JSON-able values, for the dashboard."""
        return {
            "state": self.state.value,
            "consecutive_failures": self._failures,
            "failure_threshold": self._threshold,
            "reset_s": self._reset_s,
            "retry_at": self.retry_at(),
            "opened_count": self.opened_count,
        }
