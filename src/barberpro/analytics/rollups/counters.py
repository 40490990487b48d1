"""Hourly counters: rows keyed by some columns whose other columns add up on conflict.

Actions (``action_hourly``) and Argentina activity (``activity_hourly``) are counted here; the
providers' counts use the same counter (:mod:`.providers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.argentina.timezone import hour_of
from barberpro.db import tables
from barberpro.db.dialect import CompiledUpsert, upsert

Counts = dict[tuple[Any, ...], dict[str, int]]


class HourlyCounter:
    """An hourly rollup: rows keyed by some columns whose other columns add up on conflict."""

    def __init__(self, table: Table, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        values = [c.name for c in table.columns if c.name not in self.keys]

        def build(dialect: str) -> Any:
            stmt = upsert(dialect, table)
            return stmt.on_conflict_do_update(
                index_elements=list(self.keys),
                set_={c: table.c[c] + stmt.excluded[c] for c in values},
            )

        self.upsert = CompiledUpsert(build, (*self.keys, *values), conflict=self.keys)

    async def add(self, conn: AsyncConnection, counts: Counts) -> None:
        """Add ``counts`` ({key tuple: {column: amount}}) to the rollup."""
        await self.upsert.execute(conn, self.rows(counts))

    def rows(self, counts: Counts) -> list[dict[str, Any]]:
        """Return ``counts`` as rows of the rollup."""
        return [dict(zip(self.keys, k, strict=True)) | v for k, v in counts.items()]


#: Actions by UTC hour. PostgreSQL's writer counts them in its events statement, through this
#: counter's upsert (barberpro.analytics.ingest).
ACTIONS = HourlyCounter(tables.action_hourly, ("hour", "action"))
_ACTIVITY = HourlyCounter(tables.activity_hourly, ("hour", "province", "city", "activity"))


def action_counts(rows: list[dict[str, Any]]) -> Counts:
    """Return the action events ``rows`` counted by (hour, action)."""
    counts: Counts = {}
    for r in rows:
        key = (hour_of(r["occurred_at"]), r["action"])
        counts.setdefault(key, {"count": 0})["count"] += 1
    return counts


async def add_activity(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Add the activity events ``rows`` by hour, province, city ('' for none) and kind."""
    counts: Counts = {}
    for r in rows:
        key = (hour_of(r["occurred_at"]), r["province"], r["city"] or "", r["activity"])
        counts.setdefault(key, {"count": 0})["count"] += r["count"]
    await _ACTIVITY.add(conn, counts)
