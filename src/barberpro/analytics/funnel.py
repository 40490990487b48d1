"""The booking funnel over a range, from the ``funnel_starts`` and ``funnel_days`` rollups.

The funnel's steps, unit and chosen chain are those of
:mod:`barberpro.analytics.funnel_definition`; docs/ANALYTICS.md ("Funnel") spells out each
figure.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.funnel_definition import (
    BREAKDOWNS,
    FIRST_TOUCH,
    GAP_COLUMNS,
    LAST_STEP,
    STEP_COUNT,
    STEP_NAMES,
    STEPS,
    TIME_COLUMNS,
    UNKNOWN,
    Breakdown,
    sql_choice_order,
    sql_choice_score,
)
from barberpro.analytics.range import Range, whole_days
from barberpro.api.numbers import rate
from barberpro.argentina.provinces import province_label
from barberpro.db import dialect, tables

# Median lookups per statement: SQLite allows 500 terms in a compound SELECT.
_MEDIANS_PER_STATEMENT = 200


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
    breakdowns: Sequence[Breakdown] = tuple(BREAKDOWNS),
) -> Summary:
    """Return the funnel section with ``breakdowns``, and its units by referral channel.

    The database picks each unit's chosen chain (furthest reach, then earliest start) from
    ``funnel_days`` for whole ART days, else from ``funnel_starts``; two rows of a unit with
    the same reach and t1 hold the same greedy chain, so which of them wins changes no figure.
    PostgreSQL tallies the chains itself, by ``GROUPING SETS`` (one per breakdown and one
    overall), each step's median an exact ``percentile_cont(0.5)``: the mean of the two middle
    gaps when their count is even, as :func:`statistics.median`. SQLite has no ordered-set
    aggregate: only each chain's reach, gaps and first touch leave it, and Python tallies them.
    One whole ART day needs none of that (:func:`_one_day`).
    """
    days = whole_days(span)
    # One whole day is read from indexes: the overall funnel's are on both databases, the
    # breakdowns' on SQLite alone (migration 0011), where the other way costs the most.
    indexed = not breakdowns or conn.dialect.name == "sqlite"
    if days is not None and days[0] == days[1] and indexed:
        found = await _one_day(conn, days[0], window_hours=window_hours, breakdowns=breakdowns)
        if found is not None:
            return found
    best = _chosen(conn.dialect.name, span)
    columns = {name: best.c[BREAKDOWNS[name]] for name in BREAKDOWNS}
    # Referral channels are always tallied: the referrals section counts units by them.
    grouped = list(dict.fromkeys([*breakdowns, "referral_channel"]))
    groups: dict[str, dict[str, _Tally]] = {name: {} for name in grouped}
    overall = _Tally()
    if conn.dialect.name == "postgresql":
        # Grouped by what the tallies are keyed on: NULL and empty text are both unknown.
        dims = [
            func.coalesce(
                func.nullif(columns[name], dialect.constant("")), dialect.constant(UNKNOWN)
            )
            for name in grouped
        ]
        query = select(
            func.grouping(*dims),
            *dims,
            *(func.count().filter(best.c.reach == k) for k in STEPS),
            *(func.percentile_cont(0.5).within_group(best.c[g]) for g in GAP_COLUMNS),
        ).group_by(func.grouping_sets(*dims, tuple_()))
        everything = (1 << len(dims)) - 1  # the bits of GROUPING: 1 for a column not grouped
        for row in await conn.execute(query):
            mask, values = row[0], row[1 : 1 + len(dims)]
            counts = row[1 + len(dims) : 1 + len(dims) + STEP_COUNT]
            medians = row[1 + len(dims) + STEP_COUNT :]
            if mask == everything:
                tally = overall
            else:
                index = next(i for i in range(len(dims)) if not mask >> (len(dims) - 1 - i) & 1)
                tally = _tally_of(groups[grouped[index]], values[index])
            tally.at_reach[1:] = counts
            tally.medians = [None, None, *medians]
    else:
        query = select(
            best.c.reach, *(best.c[g] for g in GAP_COLUMNS), *(columns[name] for name in grouped)
        )
        # Each unit's gaps go to one tally per requested breakdown; the overall tally is the
        # union of any one breakdown's values. Channels that are not a requested breakdown
        # are only counted (the referrals section needs no medians).
        split_by = [groups[name] for name in breakdowns]
        counted = [] if "referral_channel" in breakdowns else [groups["referral_channel"]]
        first = 1 + len(GAP_COLUMNS)
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
    return _summary(overall, groups, breakdowns, window_hours=window_hours)


def _summary(
    overall: _Tally,
    groups: dict[str, dict[str, _Tally]],
    breakdowns: Sequence[Breakdown],
    *,
    window_hours: float,
) -> Summary:
    """Return the funnel section and the units by channel of finished tallies."""
    split: dict[str, list[dict[str, Any]]] = {}
    for name in breakdowns:
        largest_first = sorted(groups[name].items(), key=lambda kv: (-kv[1].units, kv[0]))
        split[name] = [
            {
                "value": value,
                **({"name": province_label(value)} if name == "province" else {}),
                "units": tally.units,
                "steps": tally.steps(),
            }
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
            (fs.c[later] - fs.c[earlier]).label(gap)
            for (earlier, later), gap in zip(
                itertools.pairwise(TIME_COLUMNS), GAP_COLUMNS, strict=True
            )
        ]
        query = dialect.first_per_group(
            dialect_name,
            select(fs.c.reach, *gaps, *(fs.c[d] for d in FIRST_TOUCH)).where(
                fs.c.t1 >= span.start_us, fs.c.t1 < span.end_us
            ),
            group=fs.c.unit,
            rank=sql_choice_order(fs.c.reach, fs.c.t1),
            best=sql_choice_score(fs.c.reach, fs.c.t1),
        )
        return query.subquery("chosen")
    fd = tables.funnel_days
    picked = select(fd.c.reach, *(fd.c[g] for g in GAP_COLUMNS), *(fd.c[d] for d in FIRST_TOUCH))
    if days[0] == days[1]:  # one row per unit already
        return picked.where(fd.c.day == days[0]).subquery("chosen")
    return dialect.first_per_group(
        dialect_name,
        picked.where(fd.c.day.between(*days)),
        group=fd.c.unit,
        rank=sql_choice_order(fd.c.reach, fd.c.t1),
        best=sql_choice_score(fd.c.reach, fd.c.t1),
    ).subquery("chosen")


async def _one_day(
    conn: AsyncConnection, day: int, *, window_hours: float, breakdowns: Sequence[Breakdown]
) -> Summary | None:
    """Return the funnel of one whole ART day read from ``funnel_days``'s indexes alone.

    A day holds one row per unit, so its units by reach are index counts: one ``GROUP BY``
    per breakdown (and by referral channel), each along a ``(day, dimension, reach)`` index.
    A unit has the gap of step k exactly when it reached k, so a group's units at k are known
    before its gaps are read, and its median gap is the middle row (or the two middle rows)
    of a ``(day, [dimension,] gk)`` index: an ``OFFSET`` into it, all of them in a few
    statements. Returns None when a group holds rows of several stored values (the unknown
    value stored both as NULL and as text), whose gaps no single index range holds.
    """
    fd = tables.funnel_days
    grouped = list(dict.fromkeys([*breakdowns, "referral_channel"]))
    groups: dict[str, dict[str, _Tally]] = {name: {} for name in grouped}
    stored: dict[tuple[str, str], Any] = {}  # (breakdown, group) -> the value its rows hold
    for name in grouped:
        column = fd.c[BREAKDOWNS[name]]
        counts = await conn.execute(
            select(column, fd.c.reach, func.count())
            .where(fd.c.day == day)
            .group_by(column, fd.c.reach)
        )
        for value, reach, units in counts:
            if stored.setdefault((name, value or UNKNOWN), value) != value:
                return None
            _tally_of(groups[name], value).at_reach[reach] += units
    overall = _Tally.union(groups["referral_channel"].values())
    # (tally, its rows' condition, bound values): the overall tally's rows are all of the day.
    wanted: list[tuple[_Tally, str, dict[str, Any]]] = [(overall, "", {})]
    for name in breakdowns:
        field = BREAKDOWNS[name]
        for key, tally in groups[name].items():
            value = stored[name, key]
            if value is None:
                wanted.append((tally, f" AND {field} IS NULL", {}))
            else:
                param = f"v{len(wanted)}"
                wanted.append((tally, f" AND {field} = :{param}", {param: value}))
    # Each median's tally, step, SQL and bound values. SQL text rather than a SQLAlchemy
    # construct per median: building and keying a hundred subqueries cost several times what
    # SQLite took to run them.
    lookups: list[tuple[_Tally, int, str, dict[str, Any]]] = []
    for tally, where, values in wanted:
        tally.medians = [None] * (STEP_COUNT + 1)
        for step, gap in zip(STEPS[1:], GAP_COLUMNS, strict=True):
            count = sum(tally.at_reach[step:])
            if not count:
                continue
            n = len(lookups)
            sql = (
                f"SELECT {n}, min({gap}), max({gap}) FROM (SELECT {gap} FROM funnel_days "
                f"WHERE day = :day{where} AND {gap} IS NOT NULL "
                f"ORDER BY {gap} LIMIT :l{n} OFFSET :o{n}) AS m{n}"
            )
            middle = {f"l{n}": 2 - count % 2, f"o{n}": (count - 1) // 2}
            lookups.append((tally, step, sql, middle | values))
    for first in range(0, len(lookups), _MEDIANS_PER_STATEMENT):
        chunk = lookups[first : first + _MEDIANS_PER_STATEMENT]
        params: dict[str, Any] = {"day": day}
        for *_, bound in chunk:
            params.update(bound)
        statement = text(" UNION ALL ".join(sql for _, _, sql, _ in chunk))
        for n, low, high in await conn.execute(statement, params):
            tally, step, _, _ = lookups[n]
            assert tally.medians is not None
            tally.medians[step] = (low + high) / 2
    return _summary(overall, groups, breakdowns, window_hours=window_hours)


def _rate(part: int, whole: int) -> float | None:
    return rate(part, whole)


class _Tally:
    """Units by furthest step and the gaps between steps, of one group of unit paths."""

    __slots__ = ("at_reach", "gaps", "medians")

    def __init__(self) -> None:
        self.at_reach = [0] * (STEP_COUNT + 1)
        # gaps[k]: microseconds from step k - 1 to step k, for k >= 2
        self.gaps: list[list[int]] = [[] for _ in range(STEP_COUNT + 1)]
        # The median gap of each step when the database computed it; else from ``gaps``.
        self.medians: list[float | None] | None = None

    @classmethod
    def union(cls, tallies: Iterable[_Tally]) -> _Tally:
        """Return the tally of all the units of ``tallies`` (each unit in one of them)."""
        whole = cls()
        for tally in tallies:
            for step in STEPS:
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
    reached = [0] * (STEP_COUNT + 2)
    for step in range(STEP_COUNT, 0, -1):
        reached[step] = reached[step + 1] + at_reach[step]
    steps = []
    for step in STEPS:
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
                "median_seconds_from_previous": None if middle is None else round(middle / 1e6, 3),
            }
        )
    return steps
