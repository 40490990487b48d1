"""The monitoring routes: dashboard, health, reports, Prometheus metrics, the test route."""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import SecretStr

from barberpro.api.auth import Role, TokenAuth
from barberpro.api.errors import ApiError
from barberpro.api.responses import JSON
from barberpro.monitoring import answers, dashboard
from barberpro.monitoring.health import HealthChecker, Status
from barberpro.monitoring.metrics import CONTENT_TYPE
from barberpro.monitoring.schemas import ConnectionReport, WebhookReport
from barberpro.monitoring.service import Monitor
from barberpro.monitoring.windows import WINDOWS_S

HEALTH_CACHE_S = 1.0


class MetricsAuth:
    """The admin token, or the metrics token when one is set (for the Prometheus scraper)."""

    #: Read by barberpro.api.openapi: the route declares the bearer token.
    checks_bearer_token = True

    def __init__(self, auth: TokenAuth, token: SecretStr | None) -> None:
        self._auth = auth
        self._token = token.get_secret_value().encode() if token else None

    async def __call__(self, request: Request) -> None:
        """Dependency: pass with either token; otherwise the admin token's 401/403."""
        if self._token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), self._token
            ):
                return
        await self._auth.admin(request)


async def _render(monitor: Monitor) -> Response:
    await monitor.refresh_peers()
    return Response(monitor.metrics.render(), media_type=CONTENT_TYPE)


def build_metrics_router(monitor: Monitor, auth: TokenAuth, token: SecretStr | None) -> APIRouter:
    """Return ``GET /metrics`` (mounted at the root; the same route lives under /api/v1)."""
    router = APIRouter(tags=["monitoring"])
    guard = Depends(MetricsAuth(auth, token))

    # Documented as text (the answer itself is a plain Response of CONTENT_TYPE).
    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        dependencies=[guard],
        response_class=PlainTextResponse,
        responses={200: {"description": "The Prometheus text exposition format."}},
    )
    async def metrics() -> Response:
        """Every metric in the Prometheus text format, all workers merged."""
        return await _render(monitor)

    return router


def build_router(
    monitor: Monitor,
    auth: TokenAuth,
    health: HealthChecker,
    *,
    metrics_token: SecretStr | None = None,
    test_routes: bool = False,
    test_delay_ms: float = 0.0,
) -> APIRouter:
    """Return the monitoring routes, mounted under ``/api/v1``."""
    router = APIRouter(tags=["monitoring"])
    admin = Depends(auth.admin)
    ingest = Depends(auth.ingest)
    router.include_router(build_metrics_router(monitor, auth, metrics_token))

    # The answers are returned as rendered responses, which FastAPI passes through:
    # response_model documents them (tests/api/test_answers.py checks them).
    @router.get(
        "/monitoring/dashboard",
        summary="Live dashboard for a window",
        response_model=answers.MonitoringDashboard,
    )
    async def get_dashboard(
        window: Annotated[str, Query(description="1m, 5m or 15m")] = "5m",
        _role: Role = admin,
    ) -> JSON:
        """Per route, database, webhooks, WebSockets and system over the window, all workers."""
        if window not in WINDOWS_S:
            known = ", ".join(WINDOWS_S)
            reason = f"unknown window {window!r}: use one of {known}"
            raise ApiError(
                422,
                "invalid_request",
                "invalid fields: window",
                fields=[{"field": "window", "reason": reason, "type": "enum"}],
            )
        body = await dashboard.build(monitor, window_name=window, window_s=WINDOWS_S[window])
        return JSON(body)

    # Anonymous callers (load balancers, uptime probes) share one check per HEALTH_CACHE_S: the
    # route is open, and each check runs a query; the admin always gets a fresh one.
    cached: dict[str, Any] = {"at": float("-inf"), "report": None}
    lock = asyncio.Lock()

    async def anonymous_report() -> dict[str, Any]:
        async with lock:
            if time.monotonic() - cached["at"] >= HEALTH_CACHE_S:
                cached["report"] = await health.check()
                cached["at"] = time.monotonic()
            report: dict[str, Any] = cached["report"]
            return report

    @router.get(
        "/monitoring/health",
        summary="Health: ok, degraded or critical",
        response_model=answers.Health,
        responses={503: {"model": answers.Health, "description": "Critical."}},
    )
    async def get_health(request: Request) -> JSON:
        """Open: the status only; with the admin token each check and its value; 503 if critical."""
        admin = auth.role_of(request) is Role.ADMIN
        report = await health.check() if admin else await anonymous_report()
        code = 503 if report["status"] == Status.CRITICAL.label else 200
        if not admin:
            return JSON({"status": report["status"]}, status_code=code)
        return JSON(report, status_code=code)

    @router.post(
        "/monitoring/webhook/payment",
        status_code=202,
        summary="Report a processed webhook",
        response_model=answers.Accepted,
    )
    async def report_webhook(body: WebhookReport, _role: Role = ingest) -> JSON:
        """Count one payment webhook an external processor handled."""
        monitor.webhooks.record(
            provider=body.provider,
            event_type=body.event_type,
            success=body.status == "success",
            processing_ms=body.processing_ms,
            http_status=body.http_status,
            error=body.error,
            notification_id=body.notification_id,
        )
        return JSON({"accepted": True}, status_code=202)

    @router.post(
        "/monitoring/websocket/connections",
        status_code=202,
        summary="Report an external socket server's connections",
        response_model=answers.Accepted,
    )
    async def report_connections(body: ConnectionReport, _role: Role = ingest) -> JSON:
        """Add an external socket server's counts; its latest ``active`` replaces the previous."""
        monitor.websockets.report(
            instance=body.instance,
            active=body.active,
            opened=body.opened,
            closed=body.closed,
            errors=body.errors,
        )
        return JSON({"accepted": True}, status_code=202)

    if test_routes:

        @router.get(
            "/monitoring/test/slow",
            summary="Test only: answer after a delay",
            response_model=answers.Slept,
        )
        async def slow(
            ms: Annotated[float | None, Query(ge=0, le=60_000)] = None,
            status: Annotated[int, Query(ge=200, le=599)] = 200,
        ) -> JSON:
            """Sleep ``ms`` (default BARBERPRO_TEST_ROUTE_DELAY_MS); answer ``status``, the pid."""
            # The pid lets the --workers test see that both workers served.
            delay = test_delay_ms if ms is None else ms
            await asyncio.sleep(delay / 1000)
            body: dict[str, Any] = {"slept_ms": delay, "pid": os.getpid()}
            return JSON(body, status_code=status)

    return router
