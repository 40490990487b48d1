"""GET /monitoring/launch-report (admin token): the report of one ART day, JSON or HTML."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from barberpro.api.auth import Role, TokenAuth
from barberpro.api.responses import JSON
from barberpro.argentina.timezone import ART
from barberpro.report import render
from barberpro.report.answers import LaunchReport
from barberpro.report.build import Sources, launch_report


def build_router(sources: Sources, auth: TokenAuth) -> APIRouter:
    """Return the launch report's route, mounted under ``/api/v1``."""
    router = APIRouter(prefix="/monitoring", tags=["monitoring"])

    @router.get(
        "/launch-report",
        summary="Launch report of one ART day",
        # The JSON answer's model; format=html answers the printable page instead.
        response_model=LaunchReport,
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        },
    )
    async def report(
        day: Annotated[
            date | None,
            Query(alias="date", description="The ART day, YYYY-MM-DD; default today in ART"),
        ] = None,
        format: Annotated[
            Literal["json", "html"], Query(description="json (default) or html (printable)")
        ] = "json",
        _role: Role = Depends(auth.admin),
    ) -> Response:
        """Operations, business intelligence, the Argentina market, system health, the alert
        timeline and Day-7 recommendations with the figures behind each."""
        chosen = day or datetime.now(UTC).astimezone(ART).date()
        found = await launch_report(sources, chosen)
        if format == "html":
            # Rendering the charts is CPU work: off the event loop.
            return HTMLResponse(await run_in_threadpool(render.html, found))
        return JSON(found)

    return router
