"""The funnel rollups: every step event by unit, each start's chain, each unit's day.

``funnel_events`` holds the step events by unit; ``funnel_starts`` each step-1 event's greedy
chain; ``funnel_days`` each unit's chosen chain of each ART day. The rules are those of
:mod:`barberpro.analytics.funnel_definition`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import funnel_definition as definition
from barberpro.analytics.funnel_definition import FIRST_TOUCH, GAP_COLUMNS, TIME_COLUMNS
from barberpro.argentina.timezone import art_day, day_start_us
from barberpro.db import tables
from barberpro.db.dialect import CompiledUpsert, select_in, upsert


async def add(conn: AsyncConnection, rows: list[dict[str, Any]], *, window_us: int) -> None:
    """Store funnel events by unit and recompute the starts whose window they fall in."""
    fe = tables.funnel_events
    await conn.execute(
        fe.insert(),
        [
            {
                "event_id": r["event_id"],
                "unit": definition.funnel_unit(r),
                "step": r["step"],
                "occurred_at": r["occurred_at"],
            }
            for r in rows
        ],
    )
    spans: dict[str, tuple[int, int]] = {}
    for r in rows:
        unit, at = definition.funnel_unit(r), r["occurred_at"]
        lo, hi = spans.get(unit, (at, at))
        spans[unit] = (min(lo, at), max(hi, at))
    units = sorted(spans)
    # A start's chain lies in [t1, t1 + window]: only starts in [lo - window, hi] can change,
    # and with them the chosen chain of their ART days, which needs every start of those days.
    day_lo = art_day(min(lo for lo, _ in spans.values()) - window_us)
    day_hi = art_day(max(hi for _, hi in spans.values()))
    # Each event comes with its unit's first touch (already brought up to date in this
    # transaction), which the rollups carry; every unit has at least its new events here.
    u = tables.units
    query = (
        select(
            fe.c.unit, fe.c.event_id, fe.c.step, fe.c.occurred_at, *(u.c[d] for d in FIRST_TOUCH)
        )
        .select_from(fe.outerjoin(u, u.c.unit == fe.c.unit))
        .where(fe.c.occurred_at.between(day_start_us(day_lo), day_start_us(day_hi + 1) + window_us))
    )
    events: dict[str, list[definition.StepEvent]] = defaultdict(list)
    touches: dict[str, dict[str, Any]] = {}
    for unit, event_id, step, at, *dimensions in await select_in(conn, query, fe.c.unit, units):
        events[unit].append(definition.StepEvent(event_id=event_id, step=step, at=at))
        touches[unit] = dict(zip(FIRST_TOUCH, dimensions, strict=True))
    starts: list[dict[str, Any]] = []
    bounds: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    for unit in units:
        lo, hi = spans[unit]
        first, last = lo - window_us, hi
        bounds.append({"u": unit, "lo": first, "hi": last})
        changed = range(art_day(first), art_day(last) + 1)
        best: dict[int, definition.Chain] = {}
        for chain in definition.chains(events[unit], window_us=window_us):
            t1 = chain.times[0]
            if first <= t1 <= last:
                starts.append(
                    {
                        "event_id": chain.event_id,
                        "unit": unit,
                        "reach": chain.reach,
                        **dict(zip(TIME_COLUMNS, chain.all_times(), strict=True)),
                        **touches[unit],
                    }
                )
            day = art_day(t1)
            if day in changed:
                known = best.get(day)
                if known is None or definition.choice_key(chain) < definition.choice_key(known):
                    best[day] = chain
        for day, chain in best.items():
            days.append(
                {
                    "unit": unit,
                    "day": day,
                    "reach": chain.reach,
                    "t1": chain.times[0],
                    **dict(zip(GAP_COLUMNS, chain.gaps(), strict=True)),
                    **touches[unit],
                }
            )
    fs = tables.funnel_starts
    await conn.execute(
        fs.delete().where(
            fs.c.unit == bindparam("u"), fs.c.t1.between(bindparam("lo"), bindparam("hi"))
        ),
        bounds,
    )
    if starts:
        await conn.execute(fs.insert(), starts)
    await _FUNNEL_DAYS.execute(conn, days)


_FUNNEL_DAY_FIELDS = ("reach", "t1", *GAP_COLUMNS, *FIRST_TOUCH)


def _funnel_days_upsert(dialect: str) -> Any:
    stmt = upsert(dialect, tables.funnel_days)
    return stmt.on_conflict_do_update(
        index_elements=["day", "unit"], set_={f: stmt.excluded[f] for f in _FUNNEL_DAY_FIELDS}
    )


_FUNNEL_DAYS = CompiledUpsert(
    _funnel_days_upsert, ("day", "unit", *_FUNNEL_DAY_FIELDS), conflict=("day", "unit")
)
