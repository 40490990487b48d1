"""The two report routes: payment webhooks and external socket servers' connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from barberpro.monitoring.service import Monitor

WEBHOOK = "/api/v1/monitoring/webhook/payment"
CONNECTIONS = "/api/v1/monitoring/websocket/connections"
DASHBOARD = "/api/v1/monitoring/dashboard"


def _webhook(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "mercadopago",
        "event_type": "payment.updated",
        "status": "success",
        "processing_ms": 42.5,
        "http_status": 200,
        "notification_id": "n-1",
    }
    body.update(overrides)
    return body


async def test_webhook_reports_give_success_rate_per_provider_and_type(
    sqlite_app: Callable[..., Any],
) -> None:
    """Reported and in-process webhooks add up to one success rate per provider and type."""
    async with sqlite_app() as client:
        for n in range(3):
            answer = await client.post(WEBHOOK, json=_webhook(notification_id=f"n-{n}"))
            assert answer.status_code == 202
        failed = _webhook(
            status="failure", http_status=500, error="upstream timeout", notification_id="n-9"
        )
        assert (await client.post(WEBHOOK, json=failed)).status_code == 202
        monitor: Monitor = client.app.state.services.monitor
        monitor.webhooks.record(
            provider="mercadopago", event_type="payment.created", success=True, processing_ms=5
        )
        section = (await client.get(DASHBOARD, params={"window": "1m"})).json()["webhooks"]
        metric = monitor.metrics.registry.get_sample_value(
            "barberpro_payment_webhooks_total",
            {"provider": "mercadopago", "event_type": "payment.updated", "outcome": "failure"},
        )
    assert (section["count"], section["attempts"]) == (5, 5)
    assert section["success_rate"] == pytest.approx(0.8)
    rows = {(r["provider"], r["event_type"]): r for r in section["by_provider"]}
    assert rows[("mercadopago", "payment.updated")]["success_rate"] == pytest.approx(0.75)
    assert rows[("mercadopago", "payment.created")]["count"] == 1
    assert section["recent_failures"][0]["error"] == "upstream timeout"
    assert metric == 1


async def test_a_retried_notification_counts_once_by_its_latest_attempt(
    sqlite_app: Callable[..., Any],
) -> None:
    """Two failed attempts then a success of one notification: 1 notification, 3 attempts."""
    async with sqlite_app() as client:
        for status in ("failure", "failure", "success"):
            body = _webhook(status=status, notification_id="n-retried")
            assert (await client.post(WEBHOOK, json=body)).status_code == 202
        section = (await client.get(DASHBOARD, params={"window": "1m"})).json()["webhooks"]
    assert (section["count"], section["failures"], section["success_rate"]) == (1, 0, 1.0)
    assert (section["attempts"], section["failed_attempts"]) == (3, 2)
    assert section["recent_failures"][0]["at"].endswith("Z")


async def test_bad_webhook_report_names_each_field(sqlite_app: Callable[..., Any]) -> None:
    """A bad report is a 422 whose fields list names every field at fault."""
    async with sqlite_app() as client:
        answer = await client.post(
            WEBHOOK,
            json={"provider": "Bad Provider!", "status": "maybe", "processing_ms": -1, "x": 1},
        )
    assert answer.status_code == 422
    fields = {f["field"] for f in answer.json()["fields"]}
    assert fields == {"provider", "event_type", "status", "processing_ms", "x"}


async def test_reports_need_the_ingest_or_admin_token(sqlite_app: Callable[..., Any]) -> None:
    """Without a token the reports are refused; the ingest token is enough."""
    async with sqlite_app(admin_token="adm", ingest_token="ing") as client:
        assert (await client.post(WEBHOOK, json=_webhook())).status_code == 401
        headers = {"Authorization": "Bearer ing"}
        assert (await client.post(WEBHOOK, json=_webhook(), headers=headers)).status_code == 202
        body = {"instance": "ws-1", "active": 3}
        assert (await client.post(CONNECTIONS, json=body)).status_code == 401
        assert (await client.post(CONNECTIONS, json=body, headers=headers)).status_code == 202
        assert (await client.get(DASHBOARD, headers=headers)).status_code == 403


async def test_connection_reports_sum_per_instance_and_latest_active_wins(
    sqlite_app: Callable[..., Any],
) -> None:
    """Opened and closed add up; each instance's latest active replaces its previous one."""
    async with sqlite_app() as client:
        reports = [
            {"instance": "ws-1", "active": 10, "opened": 10, "closed": 0},
            {"instance": "ws-2", "active": 4, "opened": 5, "closed": 1, "errors": 1},
            {"instance": "ws-1", "active": 7, "opened": 2, "closed": 5},
        ]
        for report in reports:
            assert (await client.post(CONNECTIONS, json=report)).status_code == 202
        section = (await client.get(DASHBOARD, params={"window": "5m"})).json()["websocket"]
        monitor: Monitor = client.app.state.services.monitor
        gauge = monitor.metrics.registry.get_sample_value(
            "barberpro_websocket_connections_active", {"instance": "ws-1"}
        )
        bad = await client.post(CONNECTIONS, json={"instance": "", "active": -1})
    assert section["by_instance"]["ws-1"] == 7
    assert section["by_instance"]["ws-2"] == 4
    assert section["active"] == 11
    assert section["opened"] == 17
    assert section["closed"] == 6
    assert section["abnormal_closes"] == 1
    assert gauge == 7
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["fields"]} == {"instance", "active"}


async def test_the_dashboard_reads_times_as_iso_and_shows_no_pool_on_sqlite(
    sqlite_app: Callable[..., Any],
) -> None:
    """generated_at and process times are ISO 8601 in UTC; SQLite has no server pool to show."""
    async with sqlite_app() as client:
        body = (await client.get(DASHBOARD, params={"window": "1m"})).json()
    assert body["generated_at"].endswith("Z")
    assert all(p["started"].endswith("Z") and p["at"].endswith("Z") for p in body["processes"])
    assert "pool" not in body["db"]


@pytest.mark.postgres
async def test_postgresql_shows_its_pool_without_negative_overflow(
    app_factory: Callable[..., Any], postgres_url: str
) -> None:
    """On PostgreSQL the pool is shown, its overflow never below zero."""
    async with app_factory(database_url=postgres_url) as client:
        body = (await client.get(DASHBOARD, params={"window": "1m"})).json()
    pool = body["db"]["pool"]
    assert pool["capacity"] > 0
    assert pool["overflow"] >= 0
