"""The timing middleware: labels by route template and status class, never raw paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from barberpro.monitoring.middleware import MonitoringMiddleware
from barberpro.monitoring.service import Monitor, MonitorConfig
from barberpro.monitoring.windows import window


def _counts(monitor: Monitor) -> dict[tuple[str, ...], int]:
    series = window([monitor.ring.slots()], now=monitor.clock(), window_s=60)
    return {key[1:]: stat.count for key, stat in series.items() if key[0] == "http"}


def _sample(monitor: Monitor, name: str, labels: dict[str, str]) -> float | None:
    return monitor.metrics.registry.get_sample_value(name, labels)


def _app(monitor: Monitor) -> FastAPI:
    app = FastAPI()
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @items.post("/{item_id}/fail")
    async def fail(item_id: int) -> None:
        raise RuntimeError(f"boom {item_id}")

    app.include_router(items, prefix="/api/v1")

    async def hello(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app.mount("/sub", Starlette(routes=[Route("/hello/{name}", hello)]))
    app.add_middleware(MonitoringMiddleware, recorder=monitor.http, exclude_prefixes=("/skip",))
    return app


async def test_labels_are_route_templates_and_status_classes() -> None:
    """Ids in paths collapse into the template; 404s are <unmatched>; raises count as 5xx."""
    monitor = Monitor(MonitorConfig())
    app = _app(monitor)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for item in (1, 2, 3):
            assert (await client.get(f"/api/v1/items/{item}")).status_code == 200
        assert (await client.get("/api/v1/items/not-a-number")).status_code == 422
        assert (await client.post("/api/v1/items/7/fail")).status_code == 500
        assert (await client.get("/no/such/path/42")).status_code == 404
        assert (await client.get("/sub/hello/ana")).status_code == 200
        assert (await client.get("/skip/this")).status_code == 404
    assert _counts(monitor) == {
        ("/api/v1/items/{item_id}", "GET", "2xx"): 3,
        ("/api/v1/items/{item_id}", "GET", "4xx"): 1,
        ("/api/v1/items/{item_id}/fail", "POST", "5xx"): 1,
        ("<unmatched>", "GET", "4xx"): 1,
        ("/sub/hello/{name}", "GET", "2xx"): 1,
    }
    labels = {"method": "GET", "route": "/api/v1/items/{item_id}", "status_class": "2xx"}
    assert _sample(monitor, "barberpro_http_requests_total", labels) == 3
    assert _sample(monitor, "barberpro_http_request_duration_seconds_count", labels) == 3
    fail = {"method": "POST", "route": "/api/v1/items/{item_id}/fail", "status_class": "5xx"}
    assert _sample(monitor, "barberpro_http_requests_total", fail) == 1


async def test_errors_are_server_errors_only() -> None:
    """The window's error count is the 5xx answers; a 4xx is the client's fault."""
    monitor = Monitor(MonitorConfig())
    transport = httpx.ASGITransport(app=_app(monitor), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.post("/api/v1/items/1/fail")
        await client.get("/api/v1/items/x")
    series = window([monitor.ring.slots()], now=monitor.clock(), window_s=60)
    errors = {key[1:]: stat.errors for key, stat in series.items() if key[0] == "http"}
    assert errors == {
        ("/api/v1/items/{item_id}/fail", "POST", "5xx"): 1,
        ("/api/v1/items/{item_id}", "GET", "4xx"): 0,
    }


async def test_the_service_labels_its_own_routes_by_template(
    sqlite_app: Callable[..., Any],
) -> None:
    """The real app's ingestion route is labelled /api/v1/analytics/action."""
    async with sqlite_app() as client:
        answer = await client.post(
            "/api/v1/analytics/action", json={"session_id": "s-1", "action": "barber.viewed"}
        )
        assert answer.status_code == 202
        monitor: Monitor = client.app.state.services.monitor
        assert _counts(monitor)[("/api/v1/analytics/action", "POST", "2xx")] == 1


async def test_in_flight_requests_are_counted_by_route_while_they_run(
    sqlite_app: Callable[..., Any],
) -> None:
    """A request still being answered shows in barberpro_http_requests_in_flight."""
    import asyncio

    async with sqlite_app(test_routes=True) as client:
        monitor: Monitor = client.app.state.services.monitor
        slow = asyncio.create_task(client.get("/api/v1/monitoring/test/slow", params={"ms": 300}))
        labels = {"method": "GET", "route": "/api/v1/monitoring/test/slow"}
        for _ in range(200):
            if _sample(monitor, "barberpro_http_requests_in_flight", labels) == 1:
                break
            await asyncio.sleep(0.005)
        assert _sample(monitor, "barberpro_http_requests_in_flight", labels) == 1
        assert (await slow).status_code == 200
        assert _sample(monitor, "barberpro_http_requests_in_flight", labels) is None


async def test_monitoring_disabled_records_nothing(sqlite_app: Callable[..., Any]) -> None:
    """BARBERPRO_MONITORING_ENABLED=false skips the middleware and the query timing."""
    async with sqlite_app(monitoring_enabled=False) as client:
        await client.post(
            "/api/v1/analytics/action", json={"session_id": "s-1", "action": "barber.viewed"}
        )
        monitor: Monitor = client.app.state.services.monitor
        assert _counts(monitor) == {}
        series = window([monitor.ring.slots()], now=monitor.clock(), window_s=60)
        assert not [key for key in series if key[0] == "db"]


async def test_prometheus_counts_are_cumulative_past_the_windows() -> None:
    """The exported counters keep every request, after its slot left the 15-minute ring."""
    now = [1_800_000_000.0]
    monitor = Monitor(MonitorConfig(), clock=lambda: now[0])
    transport = httpx.ASGITransport(app=_app(monitor), raise_app_exceptions=False)
    labels = {"method": "GET", "route": "/api/v1/items/{item_id}", "status_class": "2xx"}
    sent = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for step in range(12):  # two hours, a request or two every ten minutes
            for item in range(1 + step % 2):
                assert (await client.get(f"/api/v1/items/{item}")).status_code == 200
                sent += 1
            assert _sample(monitor, "barberpro_http_requests_total", labels) == sent
            assert _sample(monitor, "barberpro_http_request_duration_seconds_count", labels) == sent
            now[0] += 600
    assert _counts(monitor) == {}  # the windows have forgotten them; the counters have not
    assert _sample(monitor, "barberpro_http_requests_total", labels) == sent
    bucket = {**labels, "le": "+Inf"}
    assert _sample(monitor, "barberpro_http_request_duration_seconds_bucket", bucket) == sent


async def test_the_access_log_names_the_route_never_the_query_or_token(
    sqlite_app: Callable[..., Any],
) -> None:
    """BARBERPRO_ACCESS_LOG: one line per request by route template; no query, no token."""
    import structlog

    async with sqlite_app(access_log=True, admin_token="adm-secret-token") as client:
        with structlog.testing.capture_logs() as logs:
            await client.get(
                "/api/v1/analytics/dashboard",
                params={"from": "2026-11-01", "token": "leaky-secret"},
                headers={"Authorization": "Bearer adm-secret-token", "x-request-id": "r-9"},
            )
    (line,) = [e for e in logs if e["event"] == "request"]
    assert (line["method"], line["route"], line["status"], line["request_id"]) == (
        "GET",
        "/api/v1/analytics/dashboard",
        200,
        "r-9",
    )
    assert line["duration_ms"] > 0
    assert "leaky-secret" not in repr(logs)
    assert "adm-secret-token" not in repr(logs)


async def test_without_the_setting_there_is_no_access_log(sqlite_app: Callable[..., Any]) -> None:
    """The access log is off by default."""
    import structlog

    async with sqlite_app() as client:
        with structlog.testing.capture_logs() as logs:
            await client.get("/api/v1/monitoring/health")
    assert [e for e in logs if e["event"] == "request"] == []
