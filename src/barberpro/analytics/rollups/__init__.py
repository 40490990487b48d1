"""Incremental rollups, kept in the same transaction as the events they summarise.

The writer calls :func:`apply` with the rows it has just inserted (duplicates never reach it,
so nothing is counted twice). Every rollup reads and writes in batches: one statement per
rollup per transaction, never one per event. One module per domain:

- :mod:`.units`: each unit's first touch (SQLite; PostgreSQL's triggers, migration 0012);
- :mod:`.funnel`: funnel events, each start's chain and each unit's chosen chain of a day;
- :mod:`.retention`: the ART weeks of each client's completed payments, and its cohort;
- :mod:`.counters`: hourly counts of actions and Argentina activity;
- :mod:`.providers`: hourly provider counts and the providers active each day;
- :mod:`.payments`: each payment's state, from its status events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.funnel_definition import LAST_STEP
from barberpro.analytics.rollups import counters, funnel, payments, providers, retention, units


@dataclass(frozen=True, slots=True)
class RollupSettings:
    """What the rollups bake in: the funnel window and the commission rate."""

    funnel_window_us: int
    commission_rate: Decimal


async def apply(
    conn: AsyncConnection,
    *,
    new_events: Sequence[dict[str, Any]],
    touched_sessions: Iterable[str],
    settings: RollupSettings,
) -> None:
    """Bring every rollup up to date with ``new_events`` and the sessions they touched."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in new_events:
        by_type[row["type"]].append(row)
    if conn.dialect.name != "postgresql":
        # PostgreSQL: triggers on sessions keep the first touches (migration 0012) and the
        # events' statement counts the actions (barberpro.analytics.ingest).
        await units.keep_first_touches(conn, sorted(set(touched_sessions)))
        if by_type["action"]:
            await counters.ACTIONS.add(conn, counters.action_counts(by_type["action"]))
    if by_type["funnel"]:
        await funnel.add(conn, by_type["funnel"], window_us=settings.funnel_window_us)
        await retention.add(conn, [r for r in by_type["funnel"] if r["step"] == LAST_STEP])
    if by_type["activity"]:
        await counters.add_activity(conn, by_type["activity"])
    if by_type["provider_metrics"]:
        await providers.add_counts(conn, by_type["provider_metrics"])
    if by_type["revenue"]:
        await payments.add(conn, by_type["revenue"], rate=settings.commission_rate)
    await providers.add_days(conn, by_type["provider_metrics"] + by_type["revenue"])
