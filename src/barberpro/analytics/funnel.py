"""The booking funnel over a range, from the ``funnel_starts`` rollup (DESIGN.md's definition)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.funnel_math import LAST_STEP, STEP_NAMES
from barberpro.analytics.range import Range
from barberpro.db import dialect, tables

BREAKDOWNS = {
    "province": "province",
    "device": "device_type",
    "referral_channel": "referral_channel",
}
UNKNOWN = "unknown"
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


async def unit_paths(conn: AsyncConnection, span: Range) -> list[UnitPath]:
    """Return each unit's chosen chain: furthest reach, then earliest start, in ``span``."""
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
            fs.c.province,
            fs.c.device_type,
            fs.c.referral_channel,
        ).where(fs.c.t1 >= span.start_us, fs.c.t1 < span.end_us),
        group=fs.c.unit,
        # Furthest reach first, then the earliest start. Two starts of a unit with the same
        # reach and t1 have the same greedy chain, so which of them wins changes no figure.
        # The first-touch columns are the unit's, the same on each of its starts.
        rank=(fs.c.reach.desc(), fs.c.t1),
        best=fs.c.reach * _REACH_WEIGHT - fs.c.t1,
    )
    paths = []
    for row in await conn.execute(query):
        reach = row[1]
        paths.append(
            UnitPath(
                unit=row[0],
                times=tuple(row[2 : 2 + reach]),
                province=row[7] or UNKNOWN,
                device=row[8] or UNKNOWN,
                referral_channel=row[9] or UNKNOWN,
            )
        )
    return paths


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
        reached = [0] * (LAST_STEP + 2)
        for step in range(LAST_STEP, 0, -1):
            reached[step] = reached[step + 1] + self.at_reach[step]
        steps = []
        for step in range(1, LAST_STEP + 1):
            previous = reached[step - 1] if step > 1 else reached[1]
            units = reached[step]
            gaps = self.gaps[step]
            steps.append(
                {
                    "step": step,
                    "name": STEP_NAMES[step - 1],
                    "units": units,
                    "conversion_from_previous": _rate(units, previous),
                    "conversion_from_start": _rate(units, reached[1]),
                    "drop_off": previous - units,
                    "drop_off_rate": _rate(previous - units, previous),
                    "median_seconds_from_previous": median(gaps) / 1e6 if gaps else None,
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
