"""Argentina market: demand against supply per province, and the underserved ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import engagement, hourly
from barberpro.analytics.range import Range
from barberpro.api.numbers import rate
from barberpro.argentina import province_name
from barberpro.argentina.timezone import art_day
from barberpro.db import tables
from barberpro.db.dialect import constant


async def market(
    conn: AsyncConnection,
    span: Range,
    *,
    min_demand: int,
    mix: engagement.SessionMix | None = None,
) -> dict[str, Any]:
    """Return provinces and cities with sessions, searches, bookings and active providers.

    Demand is searches + bookings. Among provinces with at least ``min_demand``, the one(s)
    with the most demand per active provider are underserved; a province with demand and no
    active provider at all comes first (its ratio is reported as null).
    """
    ah, ev, pd = tables.activity_hourly, tables.events, tables.provider_days
    activity = await hourly.sums(
        conn,
        span,
        keys=3,
        from_rollup=lambda lo, hi: (
            select(ah.c.province, ah.c.city, ah.c.activity, func.sum(ah.c.count))
            .where(ah.c.hour >= lo, ah.c.hour < hi)
            .group_by(ah.c.province, ah.c.city, ah.c.activity)
        ),
        from_events=lambda a, b: (
            select(
                ev.c.province,
                func.coalesce(ev.c.city, constant("")),
                ev.c.activity,
                func.sum(ev.c.count),
            )
            .where(ev.c.type == "activity", ev.c.occurred_at >= a, ev.c.occurred_at < b)
            .group_by(ev.c.province, func.coalesce(ev.c.city, constant("")), ev.c.activity)
        ),
    )
    if mix is None:
        mix = await engagement.session_mix(conn, span)
    providers = dict(
        (
            await conn.execute(
                select(pd.c.province, func.count(distinct(pd.c.provider_id)))
                .where(pd.c.day >= art_day(span.start_us), pd.c.day <= art_day(span.end_us - 1))
                .group_by(pd.c.province)
            )
        )
        .tuples()
        .all()
    )

    provinces: dict[str, dict[str, int]] = {}
    cities: dict[tuple[str, str], dict[str, int]] = {}

    def slot(table: dict[Any, dict[str, int]], key: Any) -> dict[str, int]:
        return table.setdefault(key, {"sessions": 0, "searches": 0, "bookings": 0})

    for (province, city, kind), (count,) in activity.items():
        field = {"search": "searches", "booking": "bookings"}.get(kind)
        if field is None:  # sign-ups and the like count in no figure: no row of their own
            continue
        slot(provinces, province)[field] += count
        if city:
            slot(cities, (province, city))[field] += count
    unlocated = 0
    for (province, city), count in mix.places().items():
        if province is None:
            unlocated += count
            continue
        slot(provinces, province)["sessions"] += count
        if city:
            slot(cities, (province, city))["sessions"] += count
    for province in providers:
        slot(provinces, province)

    rows = []
    for code, figures in provinces.items():
        demand = figures["searches"] + figures["bookings"]
        supply = providers.get(code, 0)
        rows.append(
            {
                "province": code,
                "name": province_name(code),
                **figures,
                "demand": demand,
                "active_providers": supply,
                "demand_per_provider": rate(demand, supply),
                "underserved": False,
            }
        )
    _flag_underserved(rows, min_demand=min_demand)
    rows.sort(key=lambda r: (-r["demand"], -r["sessions"], r["province"]))
    city_rows: list[dict[str, Any]] = [
        {"province": p, "city": c, **f} for (p, c), f in cities.items()
    ]
    city_rows.sort(
        key=lambda r: (-(r["searches"] + r["bookings"]), -r["sessions"], r["province"], r["city"])
    )
    return {
        "min_demand": min_demand,
        "provinces": rows,
        "cities": city_rows,
        "sessions_without_province": unlocated,
    }


def _flag_underserved(rows: list[dict[str, Any]], *, min_demand: int) -> None:
    candidates = [r for r in rows if r["demand"] >= min_demand]
    if not candidates:
        return

    def pressure(row: dict[str, Any]) -> float:
        ratio = row["demand_per_provider"]
        return float("inf") if ratio is None else float(ratio)

    worst = max(pressure(r) for r in candidates)
    for row in candidates:
        row["underserved"] = pressure(row) == worst
