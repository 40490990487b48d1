"""MonitorSignals answers the alert engine's signals over the merged windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from barberpro.alerts.signals import SIGNALS, SignalSource
from barberpro.monitoring.service import Monitor, MonitorConfig
from barberpro.monitoring.signals import MonitorSignals

SLOW = "/api/v1/monitoring/test/slow"


async def test_http_signals_by_route(sqlite_app: Callable[..., Any]) -> None:
    """p95 and error rate of a route, narrowed by the route label, with request counts."""
    async with sqlite_app(test_routes=True, test_route_delay_ms=60) as client:
        for _ in range(4):
            assert (await client.get(SLOW)).status_code == 200
        assert (await client.get(SLOW, params={"ms": 0, "status": 500})).status_code == 500
        await client.get("/api/v1/monitoring/health")
        monitor: Monitor = client.app.state.services.monitor
        source: SignalSource = MonitorSignals(monitor)
        route = {"route": SLOW}
        p95 = await source.sample("http_p95_ms", window_s=60, labels=route)
        errors = await source.sample("http_error_rate", window_s=300, labels=route)
        everything = await source.sample("http_error_rate", window_s=60, labels={})
    assert p95.count == 5
    assert p95.value is not None
    assert 50 <= p95.value <= 2500
    assert errors.count == 5
    assert errors.value == pytest.approx(0.2)
    assert everything.count >= 6


async def test_every_contract_signal_answers() -> None:
    """Each signal of the contract has a sample; nothing seen means value None and count 0."""
    monitor = Monitor(MonitorConfig())
    monitor.system.sample()
    answers = {
        name: await MonitorSignals(monitor).sample(name, window_s=300, labels={})
        for name in SIGNALS
    }
    assert answers["http_p95_ms"].value is None
    assert answers["http_p95_ms"].count == 0
    assert answers["db_connection_failures"].value == 0
    assert answers["memory_percent"].value is not None
    assert answers["memory_percent"].value > 0
    assert answers["concurrent_connections"].value == 0


async def test_webhook_failure_rate_and_connections() -> None:
    """Webhook failure rate per provider; connections sum ours and external reports."""
    monitor = Monitor(MonitorConfig(instance="api-1"))
    for ok in (True, True, True, False):
        monitor.webhooks.record(
            provider="mercadopago", event_type="payment", success=ok, processing_ms=10
        )
    monitor.webhooks.record(provider="other", event_type="x", success=False, processing_ms=1)
    monitor.websockets.opened("sid-1")
    monitor.websockets.report(instance="ws-1", active=5, opened=5, closed=0, errors=0)
    mp = await MonitorSignals(monitor).sample(
        "webhook_failure_rate", window_s=300, labels={"provider": "mercadopago"}
    )
    connections = await MonitorSignals(monitor).sample(
        "concurrent_connections", window_s=60, labels={}
    )
    assert mp.value == pytest.approx(0.25)
    assert mp.count == 4
    assert connections.value == 6


async def test_unknown_signal_or_label_is_refused() -> None:
    """An unknown signal raises KeyError; a label the signal lacks raises ValueError."""
    monitor = Monitor(MonitorConfig())
    with pytest.raises(KeyError):
        await MonitorSignals(monitor).sample("cpu_temperature", window_s=60, labels={})
    with pytest.raises(ValueError, match="rout"):
        await MonitorSignals(monitor).sample("http_p95_ms", window_s=60, labels={"rout": "/x"})
