"""GET /metrics: every contract metric, Prometheus text promtool accepts, token rules."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: The published metric names (docs/DESIGN.md), as families the parser names them.
CONTRACT_FAMILIES = {
    "barberpro_http_requests": "counter",
    "barberpro_http_request_duration_seconds": "histogram",
    "barberpro_http_requests_in_flight": "gauge",
    "barberpro_db_queries": "counter",
    "barberpro_db_query_duration_seconds": "histogram",
    "barberpro_db_connection_failures": "counter",
    "barberpro_db_pool_checked_out": "gauge",
    "barberpro_db_pool_overflow": "gauge",
    "barberpro_payment_webhooks": "counter",
    "barberpro_payment_webhook_duration_seconds": "histogram",
    "barberpro_websocket_connections_active": "gauge",
    "barberpro_websocket_connections_opened": "counter",
    "barberpro_websocket_connections_closed": "counter",
    "barberpro_process_memory_percent": "gauge",
    "barberpro_process_resident_memory_bytes": "gauge",
    "barberpro_process_cpu_percent": "gauge",
    "barberpro_event_loop_lag_seconds": "gauge",
    "barberpro_requests_by_province": "counter",
    "barberpro_payments_by_method": "counter",
}


def _revenue(n: int, status: str = "approved") -> dict[str, Any]:
    return {
        "payment_id": f"mp-{n}",
        "amount": "1500.00",
        "status": status,
        "payment_method": "naranja",
        "payment_type": "credit_card",
        "installments": 3,
        "province": "Córdoba",
    }


async def _traffic(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> None:
    """Touch every kind of metric once."""
    for n in range(2):
        answer = await client.post("/api/v1/analytics/revenue", json=_revenue(n), headers=headers)
        assert answer.status_code == 202
    again = await client.post(
        "/api/v1/analytics/revenue", json=_revenue(9, "rejected"), headers=headers
    )
    assert again.status_code == 202
    report = {
        "provider": "mercadopago",
        "event_type": "payment",
        "status": "success",
        "processing_ms": 3,
    }
    await client.post("/api/v1/monitoring/webhook/payment", json=report, headers=headers)
    body = {"instance": "ws-ext", "active": 2, "opened": 2, "closed": 1}
    await client.post("/api/v1/monitoring/websocket/connections", json=body, headers=headers)


async def test_metrics_expose_every_contract_name(sqlite_app: Callable[..., Any]) -> None:
    """After some traffic, /metrics has each published metric with its type."""
    async with sqlite_app() as client:
        await _traffic(client)
        text = (await client.get("/metrics")).text
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    missing = {n: t for n, t in CONTRACT_FAMILIES.items() if families.get(n) != t}
    assert missing == {}


async def test_argentina_counters_by_province_hour_and_payment_method(
    sqlite_app: Callable[..., Any],
) -> None:
    """Stored events count by ISO province and ART hour; payments by method and status."""
    async with sqlite_app() as client:
        await _traffic(client)
        same = {**_revenue(5), "event_id": "7d1f6f4e-4a55-4b4e-9a59-0d7c1f1b1a01"}
        assert (await client.post("/api/v1/analytics/revenue", json=same)).status_code == 202
        resent = await client.post("/api/v1/analytics/revenue", json=same)
        assert resent.json()["duplicate"] is True  # counted once
        text = (await client.get("/api/v1/metrics")).text
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    by_province = [s for s in samples if s.name == "barberpro_requests_by_province_total"]
    assert sum(s.value for s in by_province if s.labels["province"] == "AR-X") == 4
    assert all(len(s.labels["hour_art"]) == 2 for s in by_province)
    payments = {
        (s.labels["payment_method"], s.labels["status"]): s.value
        for s in samples
        if s.name == "barberpro_payments_by_method_total"
    }
    assert payments == {("naranja", "approved"): 3, ("naranja", "rejected"): 1}


async def test_metrics_take_the_admin_or_the_metrics_token(
    sqlite_app: Callable[..., Any],
) -> None:
    """With tokens set, /metrics answers the admin and the metrics token, not the ingest one."""
    async with sqlite_app(admin_token="adm", ingest_token="ing", metrics_token="scrape") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (
            await client.get("/metrics", headers={"Authorization": "Bearer ing"})
        ).status_code == 403
        for token in ("adm", "scrape"):
            answer = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/plain")


async def test_promtool_accepts_the_exposition(sqlite_app: Callable[..., Any]) -> None:
    """`promtool check metrics` (Debian's prometheus package) finds no problem."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool is missing; .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    async with sqlite_app(test_routes=True) as client:
        await _traffic(client)
        await client.get("/api/v1/monitoring/test/slow", params={"ms": 1, "status": 503})
        await client.get("/no/such/route")
        text = (await client.get("/metrics")).text
    checked = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == ""
    assert checked.stderr.strip() == ""
