"""Retention cohorts: clients by the ART week of their first completed payment."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.range import Range
from barberpro.api.numbers import rate
from barberpro.argentina.timezone import art_week, week_start
from barberpro.db import tables


async def retention(conn: AsyncConnection, span: Range) -> dict[str, Any]:
    """Return the cohorts whose week lies in ``span``, with the weeks up to the range's end.

    Period 0 is the cohort itself (every client, rate 1); period n counts the clients with a
    completed payment in the n-th week after it. The counts come from ``cohort_weeks``, kept
    by triggers (migration 0010).
    """
    first, last = art_week(span.start_us), art_week(span.end_us - 1)
    cw = tables.cohort_weeks
    query = select(cw.c.cohort_week, cw.c.week, cw.c.clients).where(
        cw.c.cohort_week >= first, cw.c.cohort_week <= last, cw.c.week <= last
    )
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for cohort, week, clients in await conn.execute(query):
        counts[cohort][week] = clients
    cohorts = []
    for cohort in range(first, last + 1):
        size = counts[cohort].get(cohort, 0)
        periods = []
        for n in range(last - cohort + 1):
            clients = counts[cohort].get(cohort + n, 0)
            periods.append(
                {
                    "week": n,
                    "week_start": week_start(cohort + n).isoformat(),
                    "clients": clients,
                    "rate": rate(clients, size),
                }
            )
        cohorts.append(
            {"cohort_week": week_start(cohort).isoformat(), "clients": size, "periods": periods}
        )
    return {"cohorts": cohorts}
