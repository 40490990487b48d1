"""The two analytics reports: the live dashboard (a subset) and business intelligence (all)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from barberpro.analytics import engagement, funnel, market, providers, referrals, retention, revenue
from barberpro.analytics.range import Range
from barberpro.analytics.recommendations import recommend


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
        mix = await engagement.session_mix(conn, span)
        regions = await market.market(conn, span, min_demand=settings.market_min_demand, mix=mix)
        ledger = await revenue.ledger(conn, span)
        return {
            "range": span.describe(),
            "funnel": summary.section,
            "engagement": await engagement.engagement(
                conn,
                span,
                now_us=now_us,
                session_timeout_us=settings.session_timeout_us,
                mix=mix,
                returning=False,
            ),
            "referrals": await referrals.referrals(
                conn, span, summary.by_channel, mix=mix, found=ledger
            ),
            "revenue": await revenue.revenue(conn, span, ledger),
            "regions": regions["provinces"],
        }


async def business_intelligence(
    engine: AsyncEngine,
    span: Range,
    *,
    now_us: int,
    settings: ReportSettings,
    breakdown: str | None = None,
    provider_limit: int = 100,
) -> dict[str, Any]:
    """Return every section of DESIGN.md's business-intelligence report, with recommendations."""
    chosen = (breakdown,) if breakdown else tuple(funnel.BREAKDOWNS)
    async with engine.connect() as conn:
        await _one_snapshot(conn)
        tallied = await funnel.tallied(
            conn, span, window_hours=settings.funnel_window_hours, breakdowns=chosen
        )
        mix = await engagement.session_mix(conn, span)
        ledger = await revenue.ledger(conn, span)
        report: dict[str, Any] = {
            "range": span.describe(),
            "funnel": tallied.section,
            "engagement": await engagement.engagement(
                conn,
                span,
                now_us=now_us,
                session_timeout_us=settings.session_timeout_us,
                mix=mix,
            ),
            "retention": await retention.retention(conn, span),
            "providers": await providers.providers(conn, span, limit=provider_limit),
            "revenue": await revenue.revenue(conn, span, ledger),
            "market": await market.market(
                conn, span, min_demand=settings.market_min_demand, mix=mix
            ),
            "referrals": await referrals.referrals(
                conn, span, tallied.by_channel, mix=mix, found=ledger
            ),
        }
    report["recommendations"] = recommend(report)
    return report


async def _one_snapshot(conn: AsyncConnection) -> None:
    """Read every section from one snapshot of the database.

    SQLite's read transaction already is one; PostgreSQL's default (READ COMMITTED) takes a new
    one per statement, so a commit between two queries (the funnel's counts and its medians,
    say) could mix two states.
    """
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
