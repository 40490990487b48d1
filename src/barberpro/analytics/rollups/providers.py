"""Provider rollups: counts by hour and provider, and the providers active each ART day."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.rollups.counters import Counts, HourlyCounter
from barberpro.argentina.timezone import art_day, hour_of
from barberpro.db import tables
from barberpro.db.dialect import CompiledUpsert, upsert

_PROVIDERS = HourlyCounter(tables.provider_hourly, ("hour", "provider_id"))
_COUNTED = ("completed", "cancelled", "no_shows", "ratings", "rating_sum")
_COUNTER = {
    "booking_completed": "completed",
    "booking_cancelled": "cancelled",
    "no_show": "no_shows",
}


async def add_counts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Add the provider events ``rows`` by hour and provider: bookings, no-shows, ratings."""
    counts: Counts = {}
    for r in rows:
        key = (hour_of(r["occurred_at"]), r["provider_id"])
        c = counts.setdefault(key, dict.fromkeys(_COUNTED, 0))
        if r["provider_event"] == "rating":
            c["ratings"] += 1
            c["rating_sum"] += r["rating"]
        else:
            c[_COUNTER[r["provider_event"]]] += 1
    await _PROVIDERS.add(conn, counts)


async def add_days(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Record the providers that ``rows`` (provider and revenue events) show active, by ART day
    and province (for the market's supply)."""
    seen = {
        (art_day(r["occurred_at"]), r["province"], r["provider_id"])
        for r in rows
        if r["provider_id"] is not None and r["province"] is not None
    }
    if not seen:
        return
    rows_out = [{"day": d, "province": p, "provider_id": i} for d, p, i in sorted(seen)]
    await _PROVIDER_DAYS.execute(conn, rows_out)


_PROVIDER_DAYS = CompiledUpsert(
    lambda d: upsert(d, tables.provider_days).on_conflict_do_nothing(
        index_elements=["day", "province", "provider_id"]
    ),
    ("day", "province", "provider_id"),
    conflict=("day", "province", "provider_id"),
)
