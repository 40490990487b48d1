"""The funnel's matching rule as pure functions, shared by the rollups and their tests.

A unit reaches step k from a step-1 event at t1 when it has step events
t1 <= t2 <= ... <= tk with tk - t1 <= window. Taking, for each next step, the earliest event
not before the previous one is optimal: any later choice leaves fewer events for the steps
after it. So one greedy pass per step-1 event gives how far that start got.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

STEP_NAMES: tuple[str, ...] = (
    "search",
    "provider_view",
    "slot_selected",
    "booking_created",
    "payment_completed",
)
LAST_STEP = len(STEP_NAMES)


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One funnel event of a unit."""

    event_id: str
    step: int
    at: int


@dataclass(frozen=True, slots=True)
class Chain:
    """How far one step-1 event got: the times of the steps reached, t1 first."""

    event_id: str
    times: tuple[int, ...]

    @property
    def reach(self) -> int:
        """The furthest step reached (1-5)."""
        return len(self.times)


def chains(events: Iterable[StepEvent], *, window_us: int) -> list[Chain]:
    """Return the greedy chain of every step-1 event among ``events`` (one unit's events)."""
    by_step: dict[int, list[int]] = {k: [] for k in range(1, LAST_STEP + 1)}
    starts: list[StepEvent] = []
    for event in events:
        by_step[event.step].append(event.at)
        if event.step == 1:
            starts.append(event)
    for times in by_step.values():
        times.sort()
    found = []
    for start in sorted(starts, key=lambda e: (e.at, e.event_id)):
        deadline = start.at + window_us
        reached = [start.at]
        for step in range(2, LAST_STEP + 1):
            times = by_step[step]
            index = bisect_left(times, reached[-1])
            if index == len(times) or times[index] > deadline:
                break
            reached.append(times[index])
        found.append(Chain(event_id=start.event_id, times=tuple(reached)))
    return found
