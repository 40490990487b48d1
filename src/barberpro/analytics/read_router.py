"""The analytics reports over HTTP (admin token)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.analytics import answers, reports
from barberpro.analytics.range import parse_range
from barberpro.api.auth import Role, TokenAuth
from barberpro.api.responses import JSON
from barberpro.argentina.timezone import to_micros

FROM = Query(alias="from", description="ISO date (ART, whole day) or datetime; default today")
TO = Query(alias="to", description="ISO date (ART, whole day, included) or datetime (excluded)")


def build_router(
    engine: AsyncEngine, auth: TokenAuth, settings: reports.ReportSettings
) -> APIRouter:
    """Return the report routes, mounted under ``/api/v1``."""
    router = APIRouter(prefix="/analytics", tags=["analytics"])
    admin = Depends(auth.admin)

    # The answers are rendered by orjson and returned as responses, which FastAPI passes
    # through: response_model documents them (tests/api/test_answers.py checks them).
    @router.get(
        "/dashboard", summary="Live analytics dashboard", response_model=answers.AnalyticsDashboard
    )
    async def dashboard(
        start: Annotated[str | None, FROM] = None,
        end: Annotated[str | None, TO] = None,
        _role: Role = admin,
    ) -> JSON:
        """Today's funnel, sessions, revenue, regions and referrals (or those of the range)."""
        now = datetime.now(UTC)
        span = parse_range(start, end, now=now)
        return JSON(await reports.dashboard(engine, span, now_us=to_micros(now), settings=settings))

    @router.get(
        "/business-intelligence",
        summary="Business intelligence report",
        response_model=answers.BusinessIntelligence,
    )
    async def business_intelligence(
        start: Annotated[str | None, FROM] = None,
        end: Annotated[str | None, TO] = None,
        breakdown: Annotated[
            Literal["province", "device", "referral_channel"] | None,
            Query(description="only this funnel breakdown"),
        ] = None,
        providers: Annotated[int, Query(ge=1, le=1000, description="leaderboard size")] = 100,
        _role: Role = admin,
    ) -> JSON:
        """Funnel with breakdowns, engagement, retention, providers, revenue, market,
        referrals and recommendations with their evidence."""
        now = datetime.now(UTC)
        span = parse_range(start, end, now=now)
        return JSON(
            await reports.business_intelligence(
                engine,
                span,
                now_us=to_micros(now),
                settings=settings,
                breakdown=breakdown,
                provider_limit=providers,
            )
        )

    return router
