"""Forced emergency mode: the reports are shed, health, ingestion and webhooks still answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from barberpro.optimization.shedding import Limiter, Priority, priority_of
from barberpro.payments.mercadopago.sandbox import Sandbox
from tests.optimization.conftest import BI, DASHBOARD, INGEST, LAUNCH, OPT, actions

SECRET = "test-webhook-secret"
WEBHOOK = "/api/v1/webhooks/mercadopago"
HEALTH = "/api/v1/monitoring/health"


def test_priority_classes() -> None:
    """Health, webhooks and the engine's own routes are critical; ingestion POSTs next, the
    reports (index suggestions included) shed first."""
    assert priority_of("GET", HEALTH) is Priority.CRITICAL
    assert priority_of("POST", WEBHOOK) is Priority.CRITICAL
    assert priority_of("POST", f"{OPT}/emergency") is Priority.CRITICAL
    assert priority_of("GET", f"{OPT}/index-suggestions") is Priority.REPORT
    assert priority_of("POST", "/api/v1/analytics/session/start") is Priority.INGEST
    assert priority_of("GET", DASHBOARD) is Priority.DASHBOARD
    assert priority_of("GET", BI) is Priority.REPORT
    assert priority_of("GET", LAUNCH) is Priority.REPORT


def test_stage_2_holds_each_class_to_its_share_of_the_limit() -> None:
    """Stage 2: reports never, dashboards under half of the limit, ingestion under all of it,
    critical always; under stage 2 everything starts."""
    limiter = Limiter(initial=10, lo=1, hi=100)
    limiter.in_flight = 9
    assert limiter.admits(Priority.CRITICAL, 2)
    assert limiter.admits(Priority.INGEST, 2)
    limiter.in_flight = 10
    assert not limiter.admits(Priority.INGEST, 2)
    assert limiter.admits(Priority.CRITICAL, 2)
    limiter.in_flight = 5
    assert not limiter.admits(Priority.DASHBOARD, 2)
    assert not limiter.admits(Priority.REPORT, 2)
    limiter.in_flight = 4
    assert limiter.admits(Priority.DASHBOARD, 2)
    assert all(limiter.admits(p, stage) for p in Priority for stage in (0, 1))


def _assert_shed(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) > 0
    assert answer.headers["x-barberpro-shed"].startswith("emergency-stage-2")
    assert answer.json()["error"] == "overloaded"


async def _webhook(client: httpx.AsyncClient, data_id: str) -> httpx.Response:
    query, headers, body = Sandbox(webhook_secret=SECRET).webhook(data_id=data_id)
    return await client.post(WEBHOOK, params=query, headers=headers, json=body)


async def test_forced_emergency_sheds_reports_and_keeps_the_rest_then_releases(
    opt_app: Callable[..., Any],
) -> None:
    """POST emergency on (stage 2 by default): business intelligence and the launch report
    answer 503 with Retry-After and X-BarberPro-Shed, with or without a token; health, event
    ingestion, a signed MercadoPago webhook and the engine's routes still answer. Off: the
    reports answer 200 again. The audit log holds both actions, the status the forced state."""
    async with opt_app(mp_webhook_secret=SECRET) as client:
        assert (await client.get(BI)).status_code == 200

        on = await client.post(f"{OPT}/emergency", json={"enabled": True, "reason": "drill"})
        assert on.status_code == 200, on.text
        assert on.json() | {"since": None} == {
            "stage": 2,
            "forced": True,
            "reason": "drill",
            "since": None,
            "by": "api",
        }
        for path in (BI, LAUNCH, f"{LAUNCH}?format=html"):
            _assert_shed(await client.get(path))
        _assert_shed(await client.get(BI, headers={"Authorization": f"Bearer {INGEST}"}))
        assert "class=report" in (await client.get(BI)).headers["x-barberpro-shed"]

        assert (await client.get(HEALTH)).status_code != 503
        started = await client.post(
            "/api/v1/analytics/session/start",
            json={"session_id": "s-emergency", "location": {"province": "CABA"}},
            headers={"Authorization": f"Bearer {INGEST}"},
        )
        assert started.status_code == 201, started.text
        hook = await _webhook(client, "4242")
        assert hook.status_code == 200, hook.text
        status = await client.get(f"{OPT}/status")
        assert status.status_code == 200
        emergency = status.json()["emergency"]
        assert (emergency["stage"], emergency["forced"], emergency["reason"]) == (2, True, "drill")
        assert status.json()["caches"][BI]["on"] is True  # stage 1 and up serve what is stored
        assert status.json()["limiter"]["shed"] >= 4

        off = await client.post(f"{OPT}/emergency", json={"enabled": False, "reason": "over"})
        assert off.status_code == 200
        assert (off.json()["stage"], off.json()["forced"]) == (0, False)
        for path in (BI, LAUNCH):
            answer = await client.get(path)
            assert answer.status_code == 200, answer.text
            assert "x-barberpro-shed" not in answer.headers
            assert "x-cache" not in answer.headers  # no toggle: emergency's caching is over

        logged = await actions(client, kind="emergency")
        assert [(a["move"], a["reason"], a["decided_by"], a["state"]) for a in logged] == [
            ("released", "over", "api", "done"),
            ("forced_stage_2", "drill", "api", "done"),
        ]


async def test_stage_2_serves_a_stored_report_and_computes_a_dashboard_within_its_share(
    opt_app: Callable[..., Any],
) -> None:
    """A report stored before the emergency is still served (HIT) in stage 2; the analytics
    dashboard is a dashboard, not a report: computed while under 80% of the limit."""
    async with opt_app() as client:
        assert (await client.put(f"{OPT}/cache{BI}")).status_code == 200
        stored = await client.get(BI)
        assert stored.headers["x-cache"] == "MISS"
        on = await client.post(
            f"{OPT}/emergency", json={"enabled": True, "reason": "drill", "stage": 2}
        )
        assert on.status_code == 200
        again = await client.get(BI)
        assert (again.status_code, again.headers["x-cache"]) == (200, "HIT")
        assert again.content == stored.content
        _assert_shed(await client.get(BI, params={"providers": 5}))  # nothing stored for it
        dashboard = await client.get(DASHBOARD)
        assert dashboard.status_code == 200, dashboard.text
        assert dashboard.headers["x-cache"] == "MISS"


async def test_forced_stage_1_serves_reports_computed_or_cached(
    opt_app: Callable[..., Any],
) -> None:
    """Stage 1 caches every cacheable route and sheds nothing."""
    async with opt_app() as client:
        on = await client.post(
            f"{OPT}/emergency", json={"enabled": True, "reason": "warm", "stage": 1}
        )
        assert on.json()["stage"] == 1
        first, second = await client.get(LAUNCH), await client.get(LAUNCH)
        assert (first.status_code, first.headers["x-cache"]) == (200, "MISS")
        assert (second.status_code, second.headers["x-cache"]) == (200, "HIT")
        bad = await client.post(
            f"{OPT}/emergency", json={"enabled": True, "reason": "x", "stage": 3}
        )
        assert bad.status_code == 422
