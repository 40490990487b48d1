"""The booking funnel over a range, from the ``funnel_starts`` and ``funnel_days`` rollups.

DESIGN.md's definition; docs/ANALYTICS.md spells out each figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.funnel_math import LAST_STEP, STEP_NAMES
from barberpro.analytics.range import Range
from barberpro.analytics.timebuckets import ART_OFFSET_US, DAY_US, art_day
from barberpro.db import dialect, tables

BREAKDOWNS = {
    "province": "province",
    "device": "device_type",
    "referral_channel": "referral_channel",
}
UNKNOWN = "unknown"
_DIMENSIONS = ("province", "device_type", "referral_channel")
_GAPS = ("g2", "g3", "g4", "g5")
# reach * weight - t1 orders by reach, then earliest t1: t1 (epoch micros) stays far below it.
_REACH_WEIGHT = 10**16


@dataclass(frozen=True, slots=True)
class UnitPath:
    """A unit's furthest chain in the range, with its first touch."""

    unit: str
    times: tuple[int, ...]
    province: str
    device: str
    referral_channel: str

    @property
    def reach(self) -> int:
        """The furthest step reached."""
        return len(self.times)


def whole_days(span: Range) -> tuple[int, int] | None:
    """Return the ART day numbers (first, last) that ``span`` covers exactly, else None."""
    if (span.start_us - ART_OFFSET_US) % DAY_US or (span.end_us - ART_OFFSET_US) % DAY_US:
        return None
    return art_day(span.start_us), art_day(span.end_us) - 1


async def unit_paths(conn: AsyncConnection, span: Range) -> list[UnitPath]:
    """Return each unit's chosen chain: furthest reach, then earliest start, in ``span``.

    Whole ART days read ``funnel_days`` (one row per unit and day, the day's chosen chain);
    any other range reads ``funnel_starts``. The first-touch columns are the unit's, the same
    on each of its rows. Two rows of a unit with the same reach and t1 hold the same greedy
    chain, so which of them wins changes no figure.
    """
    days = whole_days(span)
    if days is None:
        fs = tables.funnel_starts
        query = dialect.first_per_group(
            conn.dialect.name,
            select(
                fs.c.unit,
                fs.c.reach,
                fs.c.t1,
                fs.c.t2,
                fs.c.t3,
                fs.c.t4,
                fs.c.t5,
                *(fs.c[d] for d in _DIMENSIONS),
            ).where(fs.c.t1 >= span.start_us, fs.c.t1 < span.end_us),
            group=fs.c.unit,
            rank=(fs.c.reach.desc(), fs.c.t1),
            best=fs.c.reach * _REACH_WEIGHT - fs.c.t1,
        )
        return [
            UnitPath(row[0], tuple(row[2 : 2 + row[1]]), *(v or UNKNOWN for v in row[7:10]))
            for row in await conn.execute(query)
        ]
    fd = tables.funnel_days
    columns = (fd.c.unit, fd.c.reach, fd.c.t1, *(fd.c[g] for g in _GAPS))
    picked = select(*columns, *(fd.c[d] for d in _DIMENSIONS))
    if days[0] == days[1]:
        query = picked.where(fd.c.day == days[0])
    else:
        query = dialect.first_per_group(
            conn.dialect.name,
            picked.where(fd.c.day.between(*days)),
            group=fd.c.unit,
            rank=(fd.c.reach.desc(), fd.c.t1),
            best=fd.c.reach * _REACH_WEIGHT - fd.c.t1,
        )
    paths = []
    for row in await conn.execute(query):
        at = row[2]
        times = [at]
        for gap in row[3 : 2 + row[1]]:
            at += gap
            times.append(at)
        paths.append(UnitPath(row[0], tuple(times), *(v or UNKNOWN for v in row[7:10])))
    return paths


def units_by_channel(paths: Sequence[UnitPath]) -> dict[str, tuple[int, int]]:
    """Return (units, units that completed a payment) by first-touch referral channel."""
    found: dict[str, list[int]] = {}
    for path in paths:
        counts = found.setdefault(path.referral_channel, [0, 0])
        counts[0] += 1
        counts[1] += path.reach == LAST_STEP
    return {channel: (units, converted) for channel, (units, converted) in found.items()}


@dataclass(frozen=True, slots=True)
class Summary:
    """The funnel without breakdowns, and its units by referral channel (the dashboard's)."""

    section: dict[str, Any]
    by_channel: dict[str, tuple[int, int]]


async def summary(conn: AsyncConnection, span: Range, *, window_hours: float) -> Summary:
    """Return the funnel without breakdowns over ``span``.

    One whole ART day is read from ``funnel_days`` through its indexes alone: the units by
    referral channel and reach (``GROUP BY``), then each step's median gap as the middle
    row(s) of the ``(day, gap)`` index, which the counts locate. Other ranges tally the paths.
    """
    days = whole_days(span)
    if days is None or days[0] != days[1]:
        paths = await unit_paths(conn, span)
        return Summary(
            report(paths, window_hours=window_hours, breakdowns=()), units_by_channel(paths)
        )
    fd, day = tables.funnel_days, days[0]
    at_reach = [0] * (LAST_STEP + 1)
    by_channel: dict[str, tuple[int, int]] = {}
    counts = await conn.execute(
        select(fd.c.referral_channel, fd.c.reach, func.count())
        .where(fd.c.day == day)
        .group_by(fd.c.referral_channel, fd.c.reach)
    )
    for channel, reach, units in counts:
        at_reach[reach] += units
        reached, converted = by_channel.get(channel or UNKNOWN, (0, 0))
        by_channel[channel or UNKNOWN] = (
            reached + units,
            converted + (units if reach == LAST_STEP else 0),
        )
    medians: list[float | None] = [None] * (LAST_STEP + 1)
    for step, gap in zip(range(2, LAST_STEP + 1), _GAPS, strict=True):
        count = sum(at_reach[step:])
        if count:
            middle = await conn.execute(
                select(fd.c[gap])
                .where(fd.c.day == day, fd.c[gap].is_not(None))
                .order_by(fd.c[gap])
                .limit(2 - count % 2)
                .offset((count - 1) // 2)
            )
            values = middle.scalars().all()
            medians[step] = values[0] if len(values) == 1 else (values[0] + values[1]) / 2
    section = {
        "window_hours": window_hours,
        "units": sum(at_reach),
        "steps": _steps(at_reach, medians),
        "breakdowns": {},
    }
    return Summary(section, by_channel)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


class _Tally:
    """Units by furthest step and the gaps between steps, of one group of unit paths."""

    __slots__ = ("at_reach", "gaps")

    def __init__(self) -> None:
        self.at_reach = [0] * (LAST_STEP + 1)
        # gaps[k]: microseconds from step k - 1 to step k, for k >= 2
        self.gaps: list[list[int]] = [[] for _ in range(LAST_STEP + 1)]

    def add(self, times: tuple[int, ...]) -> None:
        reach = len(times)
        self.at_reach[reach] += 1
        gaps = self.gaps
        for step in range(2, reach + 1):
            gaps[step].append(times[step - 1] - times[step - 2])

    @property
    def units(self) -> int:
        return sum(self.at_reach)

    def steps(self) -> list[dict[str, Any]]:
        return _steps(self.at_reach, [median(gaps) if gaps else None for gaps in self.gaps])


def _steps(at_reach: Sequence[int], medians: Sequence[float | None]) -> list[dict[str, Any]]:
    """Return the steps of a funnel from its units by furthest step and its median gaps (us)."""
    reached = [0] * (LAST_STEP + 2)
    for step in range(LAST_STEP, 0, -1):
        reached[step] = reached[step + 1] + at_reach[step]
    steps = []
    for step in range(1, LAST_STEP + 1):
        previous = reached[step - 1] if step > 1 else reached[1]
        units = reached[step]
        middle = medians[step]
        steps.append(
            {
                "step": step,
                "name": STEP_NAMES[step - 1],
                "units": units,
                "conversion_from_previous": _rate(units, previous),
                "conversion_from_start": _rate(units, reached[1]),
                "drop_off": previous - units,
                "drop_off_rate": _rate(previous - units, previous),
                "median_seconds_from_previous": None if middle is None else middle / 1e6,
            }
        )
    return steps


def report(
    paths: Sequence[UnitPath], *, window_hours: float, breakdowns: Sequence[str] = tuple(BREAKDOWNS)
) -> dict[str, Any]:
    """Return the funnel section: steps overall and by each requested first-touch dimension.

    One pass over the paths feeds the overall tally and each breakdown's groups.
    """
    overall = _Tally()
    attributes = ["device" if name == "device" else name for name in breakdowns]
    groups: list[dict[str, _Tally]] = [{} for _ in breakdowns]
    for path in paths:
        times = path.times
        overall.add(times)
        for by_value, attribute in zip(groups, attributes, strict=True):
            value = getattr(path, attribute)
            tally = by_value.get(value)
            if tally is None:
                tally = by_value[value] = _Tally()
            tally.add(times)
    split: dict[str, list[dict[str, Any]]] = {}
    for name, by_value in zip(breakdowns, groups, strict=True):
        largest_first = sorted(by_value.items(), key=lambda kv: (-kv[1].units, kv[0]))
        split[name] = [
            {"value": value, "units": tally.units, "steps": tally.steps()}
            for value, tally in largest_first
        ]
    return {
        "window_hours": window_hours,
        "units": len(paths),
        "steps": overall.steps(),
        "breakdowns": split,
    }
