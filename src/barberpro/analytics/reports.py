"""The two analytics reports: the live dashboard (a subset) and business intelligence (all)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from barberpro.analytics import engagement, funnel, market, providers, referrals, retention, revenue
from barberpro.analytics.engagement import SessionMix
from barberpro.analytics.funnel_definition import BREAKDOWNS, Breakdown
from barberpro.analytics.range import Range
from barberpro.analytics.recommendations import recommend
from barberpro.analytics.revenue import Ledger

_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The knobs the reports read."""

    funnel_window_hours: float
    session_timeout_us: int
    market_min_demand: int


async def dashboard(
    engine: AsyncEngine, span: Range, *, now_us: int, settings: ReportSettings
) -> dict[str, Any]:
    """Return the screen-sized report: funnel, sessions, revenue, regions, referrals."""
    async with engine.connect() as conn:
        await _one_snapshot(conn)
        summary = await funnel.tallied(
            conn, span, window_hours=settings.funnel_window_hours, breakdowns=()
        )
        shared = await _shared(conn, span, now_us=now_us, settings=settings, returning=False)
        return {
            "range": span.describe(),
            "funnel": summary.section,
            "engagement": shared.engagement,
            "referrals": await referrals.referrals(
                conn, span, summary.by_channel, mix=shared.mix, found=shared.ledger
            ),
            "revenue": shared.revenue,
            "regions": shared.market["provinces"],
        }


async def business_intelligence(
    engine: AsyncEngine,
    span: Range,
    *,
    now_us: int,
    settings: ReportSettings,
    breakdown: Breakdown | None = None,
    provider_limit: int = 100,
) -> dict[str, Any]:
    """Return every section of the business-intelligence report, with recommendations."""
    chosen = (breakdown,) if breakdown else tuple(BREAKDOWNS)
    async with engine.connect() as conn:
        await _one_snapshot(conn)

        def the_funnel(on: AsyncConnection) -> Coroutine[Any, Any, funnel.Summary]:
            window = settings.funnel_window_hours
            return funnel.tallied(on, span, window_hours=window, breakdowns=chosen)

        def the_rest() -> Coroutine[Any, Any, tuple[dict[str, Any], _Shared]]:
            return _sections(conn, span, now_us=now_us, settings=settings, limit=provider_limit)

        async with _same_snapshot(engine, conn) as other:
            if other is None:
                tallied, rest = await the_funnel(conn), await the_rest()
            else:
                # The funnel is the longest section: a second connection reads it from the
                # same snapshot while this one reads the others.
                try:
                    async with asyncio.TaskGroup() as both:
                        funnel_task = both.create_task(the_funnel(other))
                        rest_task = both.create_task(the_rest())
                except ExceptionGroup as failed:  # as if run in turn: the error itself
                    if len(failed.exceptions) == 1:
                        raise failed.exceptions[0] from None
                    raise
                tallied, rest = funnel_task.result(), rest_task.result()
        sections, shared = rest
        report: dict[str, Any] = {
            "range": span.describe(),
            "funnel": tallied.section,
            **sections,
            "referrals": await referrals.referrals(
                conn, span, tallied.by_channel, mix=shared.mix, found=shared.ledger
            ),
        }
    report["recommendations"] = recommend(report)
    return report


@dataclass(frozen=True, slots=True)
class _Shared:
    """The sections both reports show, and what their referrals section reads of them."""

    engagement: dict[str, Any]
    revenue: dict[str, Any]
    market: dict[str, Any]
    mix: SessionMix
    ledger: Ledger


async def _shared(
    conn: AsyncConnection, span: Range, *, now_us: int, settings: ReportSettings, returning: bool
) -> _Shared:
    """Return the engagement, revenue and market sections (``returning``: with the returning
    clients), read over one session mix and one ledger."""
    mix = await engagement.session_mix(conn, span)
    ledger = await revenue.ledger(conn, span)
    return _Shared(
        engagement=await engagement.engagement(
            conn,
            span,
            now_us=now_us,
            session_timeout_us=settings.session_timeout_us,
            mix=mix,
            returning=returning,
        ),
        revenue=await revenue.revenue(conn, span, ledger),
        market=await market.market(conn, span, min_demand=settings.market_min_demand, mix=mix),
        mix=mix,
        ledger=ledger,
    )


async def _sections(
    conn: AsyncConnection, span: Range, *, now_us: int, settings: ReportSettings, limit: int
) -> tuple[dict[str, Any], _Shared]:
    """Return the BI sections other than the funnel and referrals, in the report's order, and
    what referrals read of them."""
    shared = await _shared(conn, span, now_us=now_us, settings=settings, returning=True)
    sections = {
        "engagement": shared.engagement,
        "retention": await retention.retention(conn, span),
        "providers": await providers.providers(conn, span, limit=limit),
        "revenue": shared.revenue,
        "market": shared.market,
    }
    return sections, shared


@contextlib.asynccontextmanager
async def _same_snapshot(
    engine: AsyncEngine, conn: AsyncConnection
) -> AsyncIterator[AsyncConnection | None]:
    """Yield a second connection that reads the snapshot of ``conn`` (PostgreSQL), else None.

    PostgreSQL exports a transaction's snapshot for others to import (as ``pg_dump --jobs``
    does), so both connections see one state of the database. SQLite cannot share one. The
    second connection is taken only when the pool hands it out at once (one idle, or room
    within its size), never waited for: reports that each held one and waited for another
    could exhaust the pool, which the writer shares.
    """
    pool = engine.pool
    at_once = isinstance(pool, QueuePool) and (
        pool.checkedin() > 0 or pool.checkedout() < pool.size()
    )
    if conn.dialect.name != "postgresql" or not at_once:
        yield None
        return
    snapshot = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"unexpected snapshot id from PostgreSQL: {snapshot!r}")
    async with engine.connect() as other:
        await _one_snapshot(other)
        # SET TRANSACTION takes no parameters: the id, checked above, is written in.
        await other.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        yield other


async def _one_snapshot(conn: AsyncConnection) -> None:
    """Read every section from one snapshot of the database.

    Otherwise a commit between two queries (the funnel's counts and its medians, say) could mix
    two states. PostgreSQL's default (READ COMMITTED) takes a new snapshot per statement: the
    reports ask for REPEATABLE READ. Python's ``sqlite3`` opens a transaction before a write
    only, so each SELECT alone would read the latest commit: the reports open one themselves
    (a WAL reader's snapshot holds from its first read to the end of the transaction).
    """
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    elif conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN")
