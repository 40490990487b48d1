"""The alert routes: listing with flags and history, creating and expiring silences."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from barberpro.alerts.service import Alerts
from barberpro.alerts.signals import Sample
from barberpro.app import create_app
from barberpro.config import Settings
from tests.alerts.conftest import Signals

AppFactory = Callable[..., Any]
ADMIN = {"Authorization": "Bearer admin-secret"}
SILENCE = {
    "matchers": [{"name": "alertname", "value": "api_p95_warning"}],
    "duration_s": 3600,
    "created_by": "ana",
    "comment": "deploying the cache",
}


@pytest.fixture
async def sqlite_client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app on SQLite only, for checks that do not depend on the database."""
    settings = Settings(
        database_url=sqlite_url,
        redis_url=None,
        admin_token=None,
        ingest_token=None,
        alert_enabled=False,
        mp_worker_enabled=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def alerts_of(client: httpx.AsyncClient) -> Alerts:
    services = client.app.state.services  # type: ignore[attr-defined]
    assert isinstance(services.alerts, Alerts)
    return services.alerts


async def test_list_shows_firing_alerts_with_flags_and_history(app_factory: AppFactory) -> None:
    """After an evaluation the warning is listed firing and silenced, with its transition."""
    async with app_factory(alert_enabled=False) as client:
        alerts = alerts_of(client)
        alerts.engine.source = Signals({"http_p95_ms": Sample(value=180.0, count=50)})
        created = await client.post("/api/v1/monitoring/alerts/silences", json=SILENCE)
        assert created.status_code == 201, created.text
        await alerts.engine.tick()
        answer = await client.get("/api/v1/monitoring/alerts")
    assert answer.status_code == 200
    body = answer.json()
    (alert,) = body["alerts"]
    assert alert["alertname"] == "api_p95_warning"
    assert alert["state"] == "firing"
    assert alert["severity"] == "warning"
    assert alert["value"] == 180.0
    assert alert["silenced"] is True
    assert alert["silenced_by"] == [created.json()["id"]]
    assert alert["inhibited"] is False
    assert alert["labels"]["kind"] == "api_latency"
    assert alert["since"].endswith("Z")
    assert [s["id"] for s in body["silences"]] == [created.json()["id"]]
    assert [(h["alertname"], h["from"], h["to"], h["notified"]) for h in body["history"]] == [
        ("api_p95_warning", "inactive", "firing", False)
    ]
    assert {r["name"] for r in body["rules"]} >= {"api_p95_critical", "memory_critical"}


async def test_silence_is_created_then_expired_by_delete(app_factory: AppFactory) -> None:
    """POST answers the silence; DELETE expires it (204), then it is gone from the list."""
    async with app_factory(alert_enabled=False) as client:
        created = await client.post("/api/v1/monitoring/alerts/silences", json=SILENCE)
        silence = created.json()
        assert silence["status"] == "active"
        assert silence["matchers"] == [{"name": "alertname", "op": "=", "value": "api_p95_warning"}]
        assert silence["created_by"] == "ana"
        deleted = await client.delete(f"/api/v1/monitoring/alerts/silences/{silence['id']}")
        assert deleted.status_code == 204
        listed = (await client.get("/api/v1/monitoring/alerts")).json()
        assert listed["silences"] == []
        missing = await client.delete("/api/v1/monitoring/alerts/silences/nope")
        assert missing.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"name": "alertname", "op": "=~", "value": "("}]}, "matchers.0.value"),
        ({"matchers": [{"name": "bad name", "value": "x"}]}, "matchers.0.name"),
        ({"matchers": [{"name": "a", "op": "~", "value": "x"}]}, "matchers.0.op"),
        ({"created_by": " "}, "created_by"),
        ({"comment": ""}, "comment"),
        ({"duration_s": -5}, "duration_s"),
        ({"duration_s": None, "ends_at": "2001-01-01T00:00:00Z"}, "ends_at"),
        ({"duration_s": None, "ends_at": "2999-01-01T00:00:00"}, "ends_at"),
        ({"ends_at": "2999-01-01T00:00:00Z"}, "body"),
        ({"color": "red"}, "color"),
        ({"duration_s": None, "ends_at": "0138-05-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "0138-05-01T00:00:00Z", "duration_s": 3600}, "starts_at"),
        ({"matchers": [{"name": "9lives", "value": "x"}]}, "matchers.0.name"),
        ({"matchers": [{"name": "alert-name", "value": "x"}]}, "matchers.0.name"),
    ],
)
async def test_bad_silence_is_422_naming_the_field(
    sqlite_client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    """Each invalid silence is refused with the offending field named."""
    body = {k: v for k, v in {**SILENCE, **change}.items() if v is not None}
    answer = await sqlite_client.post("/api/v1/monitoring/alerts/silences", json=body)
    assert answer.status_code == 422
    assert field in [f["field"] for f in answer.json()["fields"]]


async def test_silence_ending_before_it_starts_is_422(sqlite_client: httpx.AsyncClient) -> None:
    """ends_at before starts_at is refused, naming ends_at."""
    start = datetime.now(UTC) + timedelta(days=2)
    body = {
        **SILENCE,
        "duration_s": None,
        "starts_at": start.isoformat(),
        "ends_at": (start - timedelta(days=1)).isoformat(),
    }
    body = {k: v for k, v in body.items() if v is not None}
    answer = await sqlite_client.post("/api/v1/monitoring/alerts/silences", json=body)
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == ["ends_at"]


async def test_alert_routes_need_the_admin_token(app_factory: AppFactory) -> None:
    """Without the admin token the routes answer 401; the ingest token gets 403."""
    async with app_factory(
        alert_enabled=False, admin_token="admin-secret", ingest_token="ingest-secret"
    ) as client:
        assert (await client.get("/api/v1/monitoring/alerts")).status_code == 401
        ingest = {"Authorization": "Bearer ingest-secret"}
        posted = await client.post(
            "/api/v1/monitoring/alerts/silences", json=SILENCE, headers=ingest
        )
        assert posted.status_code == 403
        assert (await client.get("/api/v1/monitoring/alerts", headers=ADMIN)).status_code == 200


async def test_firing_alert_is_in_the_metrics_and_the_dashboard(app_factory: AppFactory) -> None:
    """barberpro_alerts_active is 1 for the firing alert; the dashboard has an alerts section."""
    async with app_factory(alert_enabled=False) as client:
        alerts = alerts_of(client)
        alerts.engine.source = Signals({"http_p95_ms": Sample(value=180.0, count=50)})
        await alerts.engine.tick()
        metrics = (await client.get("/metrics")).text
        dashboard = (await client.get("/api/v1/monitoring/dashboard")).json()
    values = {
        (s.labels["alertname"], s.labels["state"]): s.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "barberpro_alerts_active"
        for s in family.samples
    }
    assert values[("api_p95_warning", "firing")] == 1.0
    assert values[("api_p95_warning", "pending")] == 0.0
    assert values[("api_p95_critical", "firing")] == 0.0
    section = dashboard["alerts"]
    assert section["firing"] == 1
    assert [a["alertname"] for a in section["active"]] == ["api_p95_warning"]
