"""Retention: the ART weeks of each client's completed payments, and each client's cohort.

A client (a funnel unit) belongs to the cohort of the ART week of its first completed payment
(the funnel's last step); triggers count clients by cohort and week (migration 0010).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.funnel_definition import funnel_unit
from barberpro.argentina.timezone import art_week
from barberpro.db import tables
from barberpro.db.dialect import CompiledUpsert, upsert


async def add(conn: AsyncConnection, payments: list[dict[str, Any]]) -> None:
    """Record the ART weeks of each client's completed payments and its first such week."""
    if not payments:
        return
    weeks: dict[tuple[str, int], None] = {}
    first: dict[str, int] = {}
    for r in payments:
        unit, week = funnel_unit(r), art_week(r["occurred_at"])
        weeks[(unit, week)] = None
        first[unit] = min(first.get(unit, week), week)
    await _CLIENT_WEEKS.execute(conn, [{"unit": u, "week": w} for u, w in weeks])
    await _CLIENT_COHORTS.execute(conn, [{"unit": u, "cohort_week": w} for u, w in first.items()])


def _cohorts_upsert(dialect: str) -> Any:
    cc = tables.client_cohorts
    stmt = upsert(dialect, cc)
    return stmt.on_conflict_do_update(
        index_elements=["unit"],
        set_={
            "cohort_week": case(
                (stmt.excluded.cohort_week < cc.c.cohort_week, stmt.excluded.cohort_week),
                else_=cc.c.cohort_week,
            )
        },
    )


_CLIENT_WEEKS = CompiledUpsert(
    lambda d: upsert(d, tables.client_weeks).on_conflict_do_nothing(
        index_elements=["unit", "week"]
    ),
    ("unit", "week"),
    conflict=("unit", "week"),
)
_CLIENT_COHORTS = CompiledUpsert(_cohorts_upsert, ("unit", "cohort_week"), conflict=("unit",))
