"""The booking funnel's definition: its steps, its unit, how chains are matched and chosen.

Everything else takes the funnel from here: the request schema (step names and numbers), the
tables (a time column per step, a gap column per step after the first), the rollups (units,
chains, each unit's chosen chain of an ART day), the funnel queries (the same choice in SQL)
and docs/ANALYTICS.md ("Funnel").

- Matching: a unit reaches step k from a step-1 event at t1 when it has step events
  t1 <= t2 <= ... <= tk with tk - t1 <= window. Taking, for each next step, the earliest event
  not before the previous one is optimal: any later choice leaves fewer events for the steps
  after it. So one greedy pass per step-1 event gives how far that start got (:func:`chains`).
- Choice: over a range (or one ART day) a unit counts once, by its chosen chain: the one
  reaching furthest, the earliest t1 breaking ties, then the step-1 event id
  (:func:`choice_key`). SQL ranks by reach and t1 alone (:func:`sql_choice_order`,
  :func:`sql_choice_score`): two chains of a unit with the same reach and t1 are the same greedy
  chain, so which of them wins changes no figure.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement

StepName = Literal[
    "search",
    "provider_view",
    "slot_selected",
    "booking_created",
    "payment_completed",
]
STEP_NAMES: tuple[StepName, ...] = get_args(StepName)
STEP_COUNT = len(STEP_NAMES)
#: payment_completed: a unit reaching it has paid (retention counts clients by it).
LAST_STEP = STEP_COUNT
#: The step numbers, 1 to STEP_COUNT.
STEPS = range(1, STEP_COUNT + 1)

#: Stored chains: the time of each step reached (t1 ... tN) ...
TIME_COLUMNS = tuple(f"t{k}" for k in STEPS)
#: ... and the gap before each step after the first (g2 = t2 - t1 ... gN).
GAP_COLUMNS = tuple(f"g{k}" for k in STEPS[1:])


def step_number(value: str) -> int | None:
    """Return the number of the step named ``value`` (any case), else None."""
    name = value.strip().lower()
    return STEP_NAMES.index(name) + 1 if name in STEP_NAMES else None


def funnel_unit(row: Mapping[str, Any]) -> str:
    """Return the funnel unit of an event: its user_id, else its session_id."""
    return str(row["user_id"] or row["session_id"])


#: A unit's first touch: the dimensions of its earliest session, which split the funnel.
FIRST_TOUCH = ("province", "device_type", "referral_channel")
Breakdown = Literal["province", "device", "referral_channel"]
#: Each breakdown of the funnel and the first-touch column it splits the units by.
BREAKDOWNS: dict[Breakdown, str] = {
    "province": "province",
    "device": "device_type",
    "referral_channel": "referral_channel",
}
#: What a report shows for a dimension a first touch (or a session) does not have.
UNKNOWN = "unknown"


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
        """The furthest step reached (1 to STEP_COUNT)."""
        return len(self.times)

    def all_times(self) -> tuple[int | None, ...]:
        """The time of every step, None for the steps not reached (``TIME_COLUMNS``' values)."""
        return self.times + (None,) * (STEP_COUNT - len(self.times))

    def gaps(self) -> tuple[int | None, ...]:
        """The gap before every step after the first, None where not reached (``GAP_COLUMNS``)."""
        found = tuple(b - a for a, b in itertools.pairwise(self.times))
        return found + (None,) * (STEP_COUNT - 1 - len(found))


def chains(events: Iterable[StepEvent], *, window_us: int) -> list[Chain]:
    """Return the greedy chain of every step-1 event among ``events`` (one unit's events),
    ordered by (t1, event id)."""
    by_step: dict[int, list[int]] = {k: [] for k in STEPS}
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
        for step in STEPS[1:]:
            times = by_step[step]
            index = bisect_left(times, reached[-1])
            if index == len(times) or times[index] > deadline:
                break
            reached.append(times[index])
        found.append(Chain(event_id=start.event_id, times=tuple(reached)))
    return found


def choice_key(chain: Chain) -> tuple[int, int, str]:
    """Return the key that sorts a unit's chosen chain first: reach, then t1, then event id."""
    return (-chain.reach, chain.times[0], chain.event_id)


# reach * weight - t1 orders by reach, then earliest t1: t1 (epoch micros) stays far below it.
_CHOICE_WEIGHT = 10**16


def sql_choice_order(
    reach: ColumnElement[Any], t1: ColumnElement[Any]
) -> tuple[ColumnElement[Any], ...]:
    """Return the ORDER BY that puts a unit's chosen chain first (reach, then t1)."""
    return (reach.desc(), t1)


def sql_choice_score(reach: ColumnElement[Any], t1: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return a number that is largest for a unit's chosen chain (for SQLite's ``MAX``)."""
    return reach * _CHOICE_WEIGHT - t1
