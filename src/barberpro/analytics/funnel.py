"""The booking funnel over a range, from the ``funnel_starts`` and ``funnel_days`` rollups.

DESIGN.md's definition; docs/ANALYTICS.md spells out each figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy import func, select, tuple_
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


def whole_days(span: Range) -> tuple[int, int] | None:
    """Return the ART day numbers (first, last) that ``span`` covers exactly, else None."""
    if (span.start_us - ART_OFFSET_US) % DAY_US or (span.end_us - ART_OFFSET_US) % DAY_US:
        return None
    return art_day(span.start_us), art_day(span.end_us) - 1


@dataclass(frozen=True, slots=True)
class Summary:
    """The funnel section, and its units by referral channel (for the referrals section)."""

    section: dict[str, Any]
    by_channel: dict[str, tuple[int, int]]


async def tallied(
    conn: AsyncConnection,
    span: Range,
    *,
    window_hours: float,
    breakdowns: Sequence[str] = tuple(BREAKDOWNS),
) -> Summary:
    """Return the funnel section with ``breakdowns``, and its units by referral channel.

    The database picks each unit's chosen chain (furthest reach, then earliest start) from
    ``funnel_days`` for whole ART days, else from ``funnel_starts``; two rows of a unit with
    the same reach and t1 hold the same greedy chain, so which of them wins changes no figure.
    PostgreSQL tallies the chains itself, by ``GROUPING SETS`` (one per breakdown and one
    overall), each step's median an exact ``percentile_cont(0.5)``: the mean of the two middle
    gaps when their count is even, as :func:`statistics.median`. SQLite has no ordered-set
    aggregate: only each chain's reach, gaps and first touch leave it, and Python tallies them.
    """
    best = _chosen(conn.dialect.name, span)
    columns = {name: best.c[BREAKDOWNS[name]] for name in BREAKDOWNS}
    # Referral channels are always tallied: the referrals section counts units by them.
    grouped = list(dict.fromkeys([*breakdowns, "referral_channel"]))
    groups: dict[str, dict[str, _Tally]] = {name: {} for name in grouped}
    overall = _Tally()
    if conn.dialect.name == "postgresql":
        dims = [columns[name] for name in grouped]
        query = select(
            func.grouping(*dims),
            *dims,
            *(func.count().filter(best.c.reach == k) for k in range(1, LAST_STEP + 1)),
            *(func.percentile_cont(0.5).within_group(best.c[g]) for g in _GAPS),
        ).group_by(func.grouping_sets(*dims, tuple_()))
        everything = (1 << len(dims)) - 1  # the bits of GROUPING: 1 for a column not grouped
        for row in await conn.execute(query):
            mask, values = row[0], row[1 : 1 + len(dims)]
            counts = row[1 + len(dims) : 1 + len(dims) + LAST_STEP]
            medians = row[1 + len(dims) + LAST_STEP :]
            if mask == everything:
                tally = overall
            else:
                index = next(i for i in range(len(dims)) if not mask >> (len(dims) - 1 - i) & 1)
                tally = _tally_of(groups[grouped[index]], values[index])
            tally.at_reach[1:] = counts
            tally.medians = [None, None, *medians]
    else:
        query = select(
            best.c.reach, *(best.c[g] for g in _GAPS), *(columns[name] for name in grouped)
        )
        # Each unit's gaps go to one tally per requested breakdown; the overall tally is the
        # union of any one breakdown's values. Channels that are not a requested breakdown
        # are only counted (the referrals section needs no medians).
        split_by = [groups[name] for name in breakdowns]
        counted = [] if "referral_channel" in breakdowns else [groups["referral_channel"]]
        first = 1 + len(_GAPS)
        targets: list[tuple[int, dict[str, _Tally], bool]] = [
            (first + i, by_value, True) for i, by_value in enumerate(split_by)
        ]
        targets += [(first + len(split_by), by_value, False) for by_value in counted]
        if not split_by:
            targets.append((-1, {}, True))  # every unit in one tally: the overall one
        for row in await dialect.driver_rows(conn, query):
            reach = row[0]
            for position, by_value, with_gaps in targets:
                key = (row[position] or UNKNOWN) if position >= 0 else UNKNOWN
                unit_tally = by_value.get(key)
                if unit_tally is None:
                    unit_tally = by_value[key] = _Tally()
                unit_tally.at_reach[reach] += 1
                if with_gaps and reach > 1:
                    gaps = unit_tally.gaps
                    for step in range(2, reach + 1):
                        gaps[step].append(row[step - 1])
        if split_by:
            overall = _Tally.union(split_by[0].values())
        else:  # the one tally of every unit, as it is (no copy)
            overall = targets[-1][1].get(UNKNOWN, overall)
    split: dict[str, list[dict[str, Any]]] = {}
    for name in breakdowns:
        largest_first = sorted(groups[name].items(), key=lambda kv: (-kv[1].units, kv[0]))
        split[name] = [
            {"value": value, "units": tally.units, "steps": tally.steps()}
            for value, tally in largest_first
        ]
    section = {
        "window_hours": window_hours,
        "units": overall.units,
        "steps": overall.steps(),
        "breakdowns": split,
    }
    by_channel = {
        channel: (tally.units, tally.at_reach[LAST_STEP])
        for channel, tally in groups["referral_channel"].items()
    }
    return Summary(section, by_channel)


def _tally_of(by_value: dict[str, _Tally], value: str | None) -> _Tally:
    """Return the tally of ``value`` (None is unknown), made on first use."""
    key = value or UNKNOWN
    found = by_value.get(key)
    if found is None:
        found = by_value[key] = _Tally()
    return found


def _chosen(dialect_name: str, span: Range) -> Any:
    """Return each unit's chosen chain in ``span`` as a subquery: reach, gaps, first touch."""
    days = whole_days(span)
    if days is None:
        fs = tables.funnel_starts
        gaps = [
            (fs.c[f"t{k}"] - fs.c[f"t{k - 1}"]).label(gap)
            for k, gap in zip(range(2, LAST_STEP + 1), _GAPS, strict=True)
        ]
        query = dialect.first_per_group(
            dialect_name,
            select(fs.c.reach, *gaps, *(fs.c[d] for d in _DIMENSIONS)).where(
                fs.c.t1 >= span.start_us, fs.c.t1 < span.end_us
            ),
            group=fs.c.unit,
            rank=(fs.c.reach.desc(), fs.c.t1),
            best=fs.c.reach * _REACH_WEIGHT - fs.c.t1,
        )
        return query.subquery("chosen")
    fd = tables.funnel_days
    picked = select(fd.c.reach, *(fd.c[g] for g in _GAPS), *(fd.c[d] for d in _DIMENSIONS))
    if days[0] == days[1]:  # one row per unit already
        return picked.where(fd.c.day == days[0]).subquery("chosen")
    return dialect.first_per_group(
        dialect_name,
        picked.where(fd.c.day.between(*days)),
        group=fd.c.unit,
        rank=(fd.c.reach.desc(), fd.c.t1),
        best=fd.c.reach * _REACH_WEIGHT - fd.c.t1,
    ).subquery("chosen")


async def summary(conn: AsyncConnection, span: Range, *, window_hours: float) -> Summary:
    """Return the funnel without breakdowns over ``span``.

    One whole ART day is read from ``funnel_days`` through its indexes alone: the units by
    referral channel and reach (``GROUP BY``), then each step's median gap as the middle
    row(s) of the ``(day, gap)`` index, which the counts locate. Other ranges tally the paths.
    """
    days = whole_days(span)
    if days is None or days[0] != days[1]:
        return await tallied(conn, span, window_hours=window_hours, breakdowns=())
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

    __slots__ = ("at_reach", "gaps", "medians")

    def __init__(self) -> None:
        self.at_reach = [0] * (LAST_STEP + 1)
        # gaps[k]: microseconds from step k - 1 to step k, for k >= 2
        self.gaps: list[list[int]] = [[] for _ in range(LAST_STEP + 1)]
        # The median gap of each step when the database computed it; else from ``gaps``.
        self.medians: list[float | None] | None = None

    @classmethod
    def union(cls, tallies: Iterable[_Tally]) -> _Tally:
        """Return the tally of all the units of ``tallies`` (each unit in one of them)."""
        whole = cls()
        for tally in tallies:
            for step in range(1, LAST_STEP + 1):
                whole.at_reach[step] += tally.at_reach[step]
                whole.gaps[step].extend(tally.gaps[step])
        return whole

    @property
    def units(self) -> int:
        return sum(self.at_reach)

    def steps(self) -> list[dict[str, Any]]:
        medians = self.medians
        if medians is None:
            medians = [median(gaps) if gaps else None for gaps in self.gaps]
        return _steps(self.at_reach, medians)


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
