"""What the service says about failing webhooks: refused signatures, retries, unknown payments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import select

from barberpro.alerts.service import Alerts
from barberpro.alerts.signals import Sample
from barberpro.db import tables
from barberpro.monitoring.service import Monitor
from barberpro.monitoring.signals import MonitorSignals
from barberpro.payments.mercadopago.sandbox import Sandbox
from tests.payments.conftest import SECRET, StandIn, fast_settings, wait_for

WEBHOOK = "/api/v1/webhooks/mercadopago"
T = tables.mp_notifications


async def _post(client: httpx.AsyncClient, sandbox: Sandbox, **options: Any) -> httpx.Response:
    query, headers, body = sandbox.webhook(**options)
    return await client.post(WEBHOOK, params=query, headers=headers, json=body)


def _monitor(client: httpx.AsyncClient) -> Monitor:
    monitor = client.app.state.services.monitor  # type: ignore[attr-defined]
    assert isinstance(monitor, Monitor)
    return monitor


async def _sample(client: httpx.AsyncClient, signal: str, **labels: str) -> Sample:
    return await MonitorSignals(_monitor(client)).sample(signal, window_s=300, labels=labels)


async def _settled(client: httpx.AsyncClient) -> bool:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        rows = await conn.execute(select(T.c.status))
        return all(s not in {"pending", "processing"} for (s,) in rows)


async def test_a_wrong_secret_fires_a_critical_alert_naming_the_reason(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """Three webhooks signed with another secret: 401 each, counted, logged, and paged."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url), alert_enabled=False) as client:
        with structlog.testing.capture_logs() as logs:
            for n in range(3):
                answer = await _post(
                    client, sandbox, data_id=f"{4100 + n}", request_id=f"req-{n}", secret="old"
                )
                assert answer.status_code == 401
        metrics = (await client.get("/metrics")).text
        alerts = client.app.state.services.alerts  # type: ignore[attr-defined]
        assert isinstance(alerts, Alerts)
        await alerts.engine.tick()
        overview = await alerts.overview()
    refused = [e for e in logs if e["event"] == "mercadopago webhook refused: signature"]
    assert [(e["log_level"], e["reason"], e["request_id"]) for e in refused] == [
        ("warning", "mismatch", f"req-{n}") for n in range(3)
    ]
    assert not any(SECRET in repr(e) or "v1=" in repr(e) for e in logs)
    assert (
        'barberpro_payment_webhooks_rejected_total{provider="mercadopago",reason="mismatch"} 3.0'
        in metrics
    )
    firing = {a["alertname"]: a for a in overview["alerts"] if a["state"] == "firing"}
    alert = firing["webhook_signature_rejected_critical"]
    assert alert["severity"] == "critical"
    assert alert["detail"] == "mismatch 3"


async def test_a_non_numeric_payment_id_is_skipped_and_never_fetched(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """data.id=abc is answered 200, stored skipped, counted skipped, and no outcome at all."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        for _ in range(2):  # MercadoPago resends what it is not sure was received
            assert (await _post(client, sandbox, data_id="abc")).status_code == 200
        status = (await client.get("/api/v1/payments/status")).json()
        engine = client.app.state.services.engine  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            stored = [tuple(r) for r in await conn.execute(select(T.c.resource_id, T.c.status))]
        rate = await _sample(client, "webhook_failure_rate")
    assert stored == [("abc", "skipped"), ("abc", "skipped")]
    assert status["webhooks"]["skipped"] == 2
    assert sum(sandbox.requests.values()) == 0
    assert (rate.value, rate.count) == (None, 0)


async def test_a_retried_notification_is_one_outcome_by_its_latest_attempt(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """Two failed attempts then a success: the failure rate sees one success, not 2 of 3."""
    sandbox = standin.sandbox
    sandbox.set_faults(error_rate=1.0)
    settings = fast_settings(standin.url, mp_call_attempts=1, mp_breaker_failures=100)
    async with app_factory(**settings) as client:
        assert (await _post(client, sandbox, data_id="4201")).status_code == 200
        worker = client.app.state.services.payments.worker  # type: ignore[attr-defined]

        async def failed_twice() -> bool:
            return bool(worker.failed_attempts >= 2)

        await wait_for(failed_twice, what="two failed attempts")
        sandbox.set_faults(error_rate=0.0)
        await wait_for(lambda: _settled(client), what="the notification to succeed")
        rate = await _sample(client, "webhook_failure_rate")
        attempts = sum(
            stat.count
            for key, stat in (await _monitor(client).merged(300)).series.items()
            if key[0] == "webhook"
        )
    assert (rate.value, rate.count) == (0.0, 1)
    assert attempts == worker.failed_attempts + 1


async def test_a_payment_mercadopago_does_not_know_is_dead_lettered_not_found(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """404 for a notified payment: after mp_not_found_attempts it is a not_found dead letter."""
    sandbox = standin.sandbox
    sandbox.unknown.add("4301")
    async with app_factory(**fast_settings(standin.url), mp_not_found_attempts=3) as client:
        assert (await _post(client, sandbox, data_id="4301")).status_code == 200
        await wait_for(lambda: _settled(client), what="the dead letter")
        listed = (await client.get("/api/v1/payments/dead-letters")).json()
        dead = await _sample(client, "webhook_dead_letters", reason="not_found")
        rate = await _sample(client, "webhook_failure_rate")
        alerts = client.app.state.services.alerts  # type: ignore[attr-defined]
        await alerts.engine.tick()
        overview = await alerts.overview()
    (item,) = listed["items"]
    assert (item["reason"], item["attempts"], item["last_http_status"]) == ("not_found", 3, 404)
    assert (dead.value, dead.detail) == (1.0, "not_found 1")
    assert (rate.value, rate.count) == (1.0, 1)
    firing = {a["alertname"] for a in overview["alerts"] if a["state"] == "firing"}
    assert "payment_not_found_warning" in firing


@pytest.mark.parametrize("reason", ["missing", "mismatch"])
async def test_each_reason_is_its_own_counter(
    app_factory: Callable[..., Any], standin: StandIn, reason: str
) -> None:
    """An unsigned webhook counts as missing, a forged one as mismatch."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        query, headers, body = sandbox.webhook(data_id="4401", secret="forged")
        if reason == "missing":
            headers.pop("x-signature")
        answer = await client.post(WEBHOOK, params=query, headers=headers, json=body)
        assert answer.status_code == 401
        sample = await _sample(client, "webhook_rejections", reason=reason)
    assert (sample.value, sample.detail) == (1.0, f"{reason} 1")
