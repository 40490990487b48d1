"""Every route's real answer fits the model /openapi.json declares for it, extra fields forbidden.

The routes render their answers themselves (orjson) and FastAPI passes them through, so the
declared models are checked here instead: real answers after realistic traffic (the seeded
launch-week stream of tests/analytics, batches with duplicates, conflicts and invalid items,
firing alerts, a dead-lettered payment notification), validated strictly against the model of
their route and status. ANSWERS names that model for every documented answer, and the tests
below check it is the one /openapi.json shows, so neither can drift from the other.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from pydantic import BaseModel, TypeAdapter

from barberpro.alerts import answers as alerts_answers
from barberpro.analytics import acks, identity_router, reports
from barberpro.analytics import answers as analytics_answers
from barberpro.api.answers import documented
from barberpro.app import create_app
from barberpro.argentina.timezone import ART
from barberpro.config import Settings
from barberpro.monitoring import answers as monitoring_answers
from barberpro.optimization import answers as optimization_answers
from barberpro.payments import answers as payments_answers
from barberpro.payments.mercadopago.sandbox import Sandbox
from barberpro.report import answers as report_answers
from tests.analytics.generate import chunks, generate

AppFactory = Callable[..., Any]
API = "/api/v1"
ADMIN = {"Authorization": "Bearer admin-secret"}
TOKENS: dict[str, Any] = {"admin_token": "admin-secret", "ingest_token": "ingest-secret"}
SECRET = "answers-webhook-secret"
DASHBOARD = f"{API}/analytics/dashboard"
BI = f"{API}/analytics/business-intelligence"
LAUNCH = f"{API}/monitoring/launch-report"
CACHE = f"{API}/optimization/cache/{{route}}"  # the template of PUT and DELETE

# (method, path template, status) -> the model of that answer, for every JSON answer.
ANSWERS: dict[tuple[str, str, int], Any] = {
    ("post", f"{API}/analytics/session/start", 201): acks.SessionStarted,
    ("post", f"{API}/analytics/session/start", 200): acks.SessionStarted,
    **{
        ("post", f"{API}/analytics/{path}", status): acks.EventAccepted
        for path in ("action", "funnel", "provider/metrics", "revenue", "argentina/activity")
        for status in (202, 200)
    },
    ("post", f"{API}/analytics/batch", 207): acks.BatchAnswer,
    ("get", f"{API}/analytics/dashboard", 200): analytics_answers.AnalyticsDashboard,
    ("get", f"{API}/analytics/business-intelligence", 200): analytics_answers.BusinessIntelligence,
    ("get", f"{API}/monitoring/dashboard", 200): monitoring_answers.MonitoringDashboard,
    ("get", f"{API}/monitoring/health", 200): monitoring_answers.Health,
    ("get", f"{API}/monitoring/health", 503): monitoring_answers.Health,
    ("post", f"{API}/monitoring/webhook/payment", 202): monitoring_answers.Accepted,
    ("post", f"{API}/monitoring/websocket/connections", 202): monitoring_answers.Accepted,
    ("get", f"{API}/monitoring/test/slow", 200): monitoring_answers.Slept,
    ("get", f"{API}/monitoring/alerts", 200): alerts_answers.Overview,
    ("post", f"{API}/monitoring/alerts/silences", 201): alerts_answers.SilenceView,
    ("post", f"{API}/webhooks/mercadopago", 200): payments_answers.WebhookReceived,
    ("get", f"{API}/payments/dead-letters", 200): payments_answers.DeadLetters,
    ("post", f"{API}/payments/dead-letters/{{row_id}}/retry", 200): payments_answers.Requeued,
    ("get", f"{API}/payments/status", 200): payments_answers.PaymentsStatus,
    ("post", f"{API}/argentina/identity/validate", 200): identity_router.IdentityCheck,
    ("get", f"{API}/monitoring/launch-report", 200): report_answers.LaunchReport,
    ("get", f"{API}/optimization/status", 200): optimization_answers.OptimizationStatus,
    ("get", f"{API}/optimization/actions", 200): optimization_answers.OptimizationActions,
    ("get", f"{API}/optimization/index-suggestions", 200): optimization_answers.IndexAdvice,
    **{
        (method, f"{API}/optimization/cache/{{route}}", 200): optimization_answers.RouteCacheToggle
        for method in ("put", "delete")
    },
    ("post", f"{API}/optimization/emergency", 200): optimization_answers.EmergencyToggle,
    ("get", f"{API}/optimization/errors", 200): optimization_answers.UnhandledErrors,
}
# Answers that are not JSON: (method, path, status) -> media type.
NOT_JSON = {
    ("get", "/metrics", 200): "text/plain",
    ("get", f"{API}/metrics", 200): "text/plain",
    ("delete", f"{API}/monitoring/alerts/silences/{{silence_id}}", 204): None,
}
# JSON answers also documented in another media type (a query parameter chooses it): the media
# types besides application/json. Listed so that neither the JSON model nor the alternative can
# go missing from the document unnoticed.
ALSO_AS = {("get", f"{API}/monitoring/launch-report", 200): {"text/html"}}


def check(answer: httpx.Response, template: str | None = None) -> Any:
    """Validate ``answer`` strictly against the model of its route and status; return it."""
    method = answer.request.method.lower()
    path = template or answer.request.url.path
    model = ANSWERS.get((method, path, answer.status_code))
    assert model is not None, f"no model for {method} {path} {answer.status_code}: {answer.text}"
    return TypeAdapter(model).validate_json(answer.content)


def _models(declared: Any) -> list[type[BaseModel]]:
    """Return the models of an answer type (a model or a union of models)."""
    if isinstance(declared, type) and issubclass(declared, BaseModel):
        return [declared]
    return [m for m in declared.__args__ if isinstance(m, type) and issubclass(m, BaseModel)]


def _titles(schema: dict[str, Any]) -> set[str]:
    """Return the model names a documented schema stands for (a reference, a union, inline)."""
    if "$ref" in schema:
        return {schema["$ref"].rsplit("/", 1)[1]}
    if "anyOf" in schema:
        return set().union(*(_titles(part) for part in schema["anyOf"]))
    return {schema["title"]}


def _without_nulls(node: Any) -> Any:
    """Return ``node`` without its null values, as FastAPI writes the document."""
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_nulls(item) for item in node]
    return node


def _json_schemas(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the answer schemas of an ``openapi_extra``."""
    return [r["content"]["application/json"]["schema"] for r in extra["responses"].values()]


@pytest.fixture
async def spec(sqlite_url: str) -> dict[str, Any]:
    """/openapi.json of an app with the test route (the document is the same on any database)."""
    settings = Settings(
        database_url=sqlite_url,
        redis_url=None,
        env="development",
        test_routes=True,
        alert_enabled=False,
        mp_worker_enabled=False,
        **TOKENS,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


# -- /openapi.json -------------------------------------------------------------------------------


def test_every_answer_in_openapi_has_a_schema(spec: dict[str, Any]) -> None:
    """Each route's 2xx answers have a non-empty schema, so a route without a model fails."""
    empty = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            answers = {int(s): r for s, r in operation["responses"].items() if s.startswith("2")}
            assert answers, f"{method} {path} documents no success answer"
            for status, answer in answers.items():
                if status == 204:
                    assert "content" not in answer, f"{method} {path} 204 has a body"
                    continue
                schemas = [c.get("schema") for c in answer.get("content", {}).values()]
                if not schemas or any(not s for s in schemas):
                    empty.append(f"{method.upper()} {path} {status}")
    assert not empty, f"answers without a schema: {empty}"


def test_openapi_names_the_model_each_answer_is_checked_against(spec: dict[str, Any]) -> None:
    """ANSWERS and /openapi.json name the same model for the same answers, no more, no less."""
    named: dict[tuple[str, str, int], set[str]] = {}
    other: dict[tuple[str, str, int], str | None] = {}
    also: dict[tuple[str, str, int], set[str]] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                key = (method, path, int(status))
                if not status.startswith("2") and key not in ANSWERS:
                    continue  # errors (the 503 of health, a full answer, is in ANSWERS)
                content = answer.get("content", {})
                if "application/json" in content:
                    named[key] = _titles(content["application/json"]["schema"])
                    if alternatives := set(content) - {"application/json"}:
                        also[key] = alternatives
                else:
                    other[key] = next(iter(content), None)
    assert named == {key: {m.__name__ for m in _models(model)} for key, model in ANSWERS.items()}
    assert other == NOT_JSON
    assert also == ALSO_AS


def test_the_documented_schemas_are_the_models(spec: dict[str, Any]) -> None:
    """Each answer's schema in /openapi.json is its model's: no other model took its name."""
    components = spec["components"]["schemas"]
    for (method, path, status), declared in ANSWERS.items():
        content = spec["paths"][path][method]["responses"][str(status)]["content"]
        schema = content["application/json"]["schema"]
        if "$ref" not in schema and "anyOf" not in schema:  # a lean route's, written inline
            (inline,) = _json_schemas(documented({status: (declared, "")}))
            assert schema == _without_nulls(inline), (method, path, status)
            continue
        for model in _models(declared):
            own = model.model_json_schema(mode="serialization")
            for name, part in {**own.pop("$defs", {}), model.__name__: own}.items():
                found = components.get(name, {})
                assert found.get("title") == name, name
                assert set(found.get("properties", {})) == set(part.get("properties", {})), name


# -- ingestion -----------------------------------------------------------------------------------


async def test_ingestion_answers_fit_their_models(app_factory: AppFactory) -> None:
    """Stored, duplicate, conflicting and invalid events answer as their models say."""
    sid = f"s-{uuid.uuid4()}"
    event = {"session_id": sid}
    singles: list[tuple[str, dict[str, Any]]] = [
        ("session/start", {"session_id": sid, "location": {"province": "CABA"}}),
        ("session/start", {"session_id": f"{sid}-2", "referral": {"source": "ig"}}),  # nowhere
        ("action", {**event, "action": "open_app", "properties": {"screen": "home"}}),
        ("funnel", {**event, "step": "search"}),
        ("provider/metrics", {"provider_id": "p1", "event": "rating", "rating": 5}),
        (
            "revenue",
            {
                "payment_id": "pay-1",
                "amount": 1500.5,
                "status": "approved",
                "payment_method": "visa",
                "payment_type": "credit_card",
                "installments": 3,
            },
        ),
        ("argentina/activity", {"province": "Córdoba", "activity": "search", "count": 2}),
    ]
    async with app_factory(**TOKENS) as client:
        for path, body in singles:
            body = {**body, "event_id": str(uuid.uuid4())} if path != "session/start" else body
            first = await client.post(f"{API}/analytics/{path}", json=body, headers=ADMIN)
            assert first.status_code in (201, 202), first.text
            check(first)
            again = await client.post(f"{API}/analytics/{path}", json=body, headers=ADMIN)
            assert again.status_code == 200, again.text
            assert check(again).duplicate is True
        taken = str(uuid.uuid4())
        events = [
            {"type": "session_start", "session_id": f"b-{uuid.uuid4()}"},
            {"type": "action", "event_id": taken, "session_id": sid, "action": "login"},
            {"type": "action", "event_id": taken, "session_id": sid, "action": "logout"},
            {"type": "funnel", "session_id": sid, "step": 9},
            {"type": "nothing"},
        ]
        answer = await client.post(f"{API}/analytics/batch", json={"events": events}, headers=ADMIN)
        assert answer.status_code == 207, answer.text
        batch = check(answer)
        again = await client.post(f"{API}/analytics/batch", json={"events": events}, headers=ADMIN)
        check(again)
    outcomes = [item.outcome for item in batch.results]
    assert outcomes == ["stored", "stored", "conflict", "invalid", "invalid"]


async def test_identity_answers_fit_their_model(app_factory: AppFactory) -> None:
    """Valid and invalid DNIs, CUITs (person, company, international) and CUILs."""
    numbers = [
        ("DNI", "12.345.678"),
        ("DNI", "12"),
        ("CUIT", "20-12345678-6"),
        ("CUIT", "30-50001091-2"),
        ("CUIT", "55-00000019-0"),
        ("CUIT", "20-12345678-0"),
        ("CUIL", "30-50001091-2"),
    ]
    async with app_factory(**TOKENS) as client:
        for kind, number in numbers:
            answer = await client.post(
                f"{API}/argentina/identity/validate",
                json={"type": kind, "number": number},
                headers=ADMIN,
            )
            assert answer.status_code == 200, answer.text
            check(answer)


# -- reports -------------------------------------------------------------------------------------


async def _ingest_stream(client: httpx.AsyncClient, **sizes: int) -> None:
    """Send the seeded launch-week stream as the exact-figure tests do (batches and singles)."""
    stream = generate(**sizes)
    routes = {"session_start": "session/start", "provider_metrics": "provider/metrics"}
    routes["activity"] = "argentina/activity"
    for how, items in chunks(stream.sends(), seed=3):
        if how == "single":
            ((kind, body),) = items
            answer = await client.post(
                f"{API}/analytics/{routes.get(kind, kind)}", json=body, headers=ADMIN
            )
        else:
            events = [{"type": kind, **body} for kind, body in items]
            batch = {"events": events}
            answer = await client.post(f"{API}/analytics/batch", json=batch, headers=ADMIN)
        assert answer.status_code in (200, 201, 202, 207), answer.text
        check(answer)


async def test_report_answers_fit_their_models(app_factory: AppFactory) -> None:
    """Both reports over days, weeks, datetime ranges and empty ones fit their models."""
    ranges: list[dict[str, str]] = [
        {},  # today: no data
        {"from": "2026-10-12", "to": "2026-10-12"},
        {"from": "2026-10-08", "to": "2026-10-14"},
        {"from": "2026-10-09T10:37:00", "to": "2026-10-16T21:13:00-03:00"},
        {"from": "2026-10-13T02:07:30Z", "to": "2026-10-13T23:41:00Z"},
        {"from": "2026-10-01", "to": "2026-10-31"},
    ]
    kinds: set[str] = set()
    async with app_factory(**TOKENS) as client:
        await _ingest_stream(client)
        for query in ranges:
            dashboard = await client.get(f"{API}/analytics/dashboard", params=query, headers=ADMIN)
            check(dashboard)
            for extra in ({}, {"breakdown": "device", "providers": "3"}):
                bi = await client.get(
                    f"{API}/analytics/business-intelligence",
                    params={**query, **extra},
                    headers=ADMIN,
                )
                report = check(bi)
                kinds |= {r.kind for r in report.recommendations}
    # Every kind of recommendation was made, so each of their models met a real one.
    assert kinds == {
        "funnel_leak",
        "underserved_province",
        "installments_low_approval",
        "referral_channels",
        "peak_hours",
    }


async def test_launch_report_answers_fit_their_model(app_factory: AppFactory) -> None:
    """The launch report of today (requests, webhooks, alerts, optimization actions), of a day
    of the seeded stream (its business figures) and of a day nothing happened."""
    settings = {**TOKENS, "alert_rules": RULES, "alert_interval_s": 0.05}
    began = datetime.now(UTC).astimezone(ART).date()
    async with app_factory(**settings) as client:
        await _ingest_stream(client, users=30, anonymous=10)
        for status in ("success", "failure", "failure"):
            report = {
                "provider": "mercadopago",
                "event_type": "payment.updated",
                "status": status,
                "processing_ms": 12.5,
                "notification_id": str(uuid.uuid4()),
            }
            check(
                await client.post(f"{API}/monitoring/webhook/payment", json=report, headers=ADMIN)
            )
        toggled = await client.put(f"{API}/optimization/cache{DASHBOARD}", headers=ADMIN)
        check(toggled, CACHE)
        for _ in range(25):  # a read route worth caching
            check(await client.get(DASHBOARD, headers=ADMIN))

        async def fired() -> Any:
            answer = await client.get(f"{API}/monitoring/alerts", headers=ADMIN)
            return any(a.state == "firing" for a in check(answer).alerts)

        await _until(fired, "a firing alert")
        await client.app.state.services.ledger.flush()  # type: ignore[attr-defined]
        today = datetime.now(UTC).astimezone(ART).date()
        if today != began:
            pytest.skip("the traffic crossed ART midnight: it is not one day's")
        reports_of: dict[str, Any] = {}
        for day in (today.isoformat(), "2026-10-12", "2025-06-15"):
            answer = await client.get(LAUNCH, params={"date": day}, headers=ADMIN)
            assert answer.status_code == 200, answer.text
            reports_of[day] = check(answer)
        page = await client.get(LAUNCH, params={"format": "html"}, headers=ADMIN)
    assert page.headers["content-type"].startswith("text/html")
    busy = reports_of[today.isoformat()]
    assert not busy.empty
    # The sections' lists and maps met real rows.
    assert busy.operations.http.routes
    assert busy.operations.db.slowest
    assert busy.operations.webhooks.by_provider
    assert busy.operations.payment_events
    assert busy.operations.system.samples
    assert busy.alerts.timeline
    assert busy.optimization.actions
    areas = {r.area for r in busy.recommendations}
    assert areas >= {"scaling", "database_indexes", "cache", "payment_flow"}, areas
    stream_day = reports_of["2026-10-12"]
    assert stream_day.business.funnel.breakdowns
    assert stream_day.business.providers
    assert stream_day.market.provinces
    assert {r.area for r in stream_day.recommendations} >= {"user_experience"}
    assert reports_of["2025-06-15"].empty


# -- monitoring and alerts -----------------------------------------------------------------------

# A warning that fires at the first evaluation and one that stays pending for an hour.
RULES = orjson.dumps(
    {
        "answers_memory_firing": {
            "signal": "memory_percent",
            "op": ">",
            "threshold": -1,
            "severity": "warning",
        },
        "answers_memory_pending": {
            "signal": "memory_percent",
            "op": ">",
            "threshold": -1,
            "for_s": 3600,
            "severity": "critical",
        },
    }
).decode()


async def _until(check_once: Callable[[], Any], what: str) -> Any:
    """Poll until ``check_once`` returns something truthy (the background tasks run meanwhile)."""
    deadline = time.monotonic() + 20
    while not (found := await check_once()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return found


async def test_monitoring_and_alert_answers_fit_their_models(app_factory: AppFactory) -> None:
    """Dashboard (with its alerts and payments), health, reports, alerts and silences."""
    settings = {**TOKENS, "alert_rules": RULES, "alert_interval_s": 0.05, "test_routes": True}
    async with app_factory(**settings) as client:
        await _ingest_stream(client, users=30, anonymous=10)
        for status in ("success", "failure"):
            report = {
                "provider": "mercadopago",
                "event_type": "payment.updated",
                "status": status,
                "processing_ms": 12.5,
                "http_status": 500 if status == "failure" else 200,
                "error": "upstream timeout" if status == "failure" else None,
                "notification_id": "n-1",
            }
            posted = await client.post(
                f"{API}/monitoring/webhook/payment", json=report, headers=ADMIN
            )
            check(posted)
        sockets = {"instance": "sockets-1", "active": 4, "opened": 6, "closed": 2, "errors": 1}
        check(
            await client.post(
                f"{API}/monitoring/websocket/connections", json=sockets, headers=ADMIN
            )
        )
        check(await client.get(f"{API}/monitoring/test/slow", params={"ms": 1}))
        silence = {
            "matchers": [{"name": "alertname", "op": "=~", "value": "answers_memory_.*"}],
            "duration_s": 600,
            "created_by": "ana",
            "comment": "checking the answers",
        }
        created = await client.post(
            f"{API}/monitoring/alerts/silences", json=silence, headers=ADMIN
        )
        check(created)

        async def both_alerts() -> Any:
            answer = await client.get(f"{API}/monitoring/alerts", headers=ADMIN)
            overview = check(answer)
            states = {a.state for a in overview.alerts}
            return overview if states == {"firing", "pending"} and overview.history else None

        overview = await _until(both_alerts, "a firing and a pending alert")
        assert all(a.silenced for a in overview.alerts)
        dashboard = check(await client.get(f"{API}/monitoring/dashboard", headers=ADMIN))
        assert isinstance(dashboard.alerts, alerts_answers.DashboardAlerts)
        assert isinstance(dashboard.payments, payments_answers.PaymentsStatus)
        assert isinstance(dashboard.optimization, optimization_answers.OptimizationStatus)
        # The sections' lists and maps met real rows.
        assert dashboard.http.routes
        assert dashboard.db.slowest
        assert dashboard.webhooks.by_provider
        assert dashboard.webhooks.recent_failures
        assert dashboard.websocket.by_instance
        for window in ("1m", "15m"):
            check(
                await client.get(
                    f"{API}/monitoring/dashboard", params={"window": window}, headers=ADMIN
                )
            )
        full = check(await client.get(f"{API}/monitoring/health", headers=ADMIN))
        brief = check(await client.get(f"{API}/monitoring/health"))
        metrics = await client.get(f"{API}/metrics", headers=ADMIN)
    assert isinstance(full, monitoring_answers.HealthReport)
    assert isinstance(brief, monitoring_answers.HealthStatus)
    assert metrics.headers["content-type"].startswith("text/plain")


# -- payments ------------------------------------------------------------------------------------


async def test_payment_answers_fit_their_models(app_factory: AppFactory) -> None:
    """Webhook acks, a dead letter, its retry and the status, with the breaker open."""
    sandbox = Sandbox(access_token="TEST-token", webhook_secret=SECRET, seed=3)
    settings = {
        **TOKENS,
        "mp_webhook_secret": SECRET,
        "mp_access_token": "TEST-token",
        "mp_api_url": "http://127.0.0.1:9",  # nothing listens: every fetch fails
        "mp_max_attempts": 1,
        "mp_call_attempts": 1,
        "mp_breaker_failures": 1,
        "mp_poll_s": 0.05,
        "mp_http_timeout_s": 2,
    }
    async with app_factory(**settings) as client:
        query, headers, body = sandbox.webhook(data_id="98765")
        webhook = f"{API}/webhooks/mercadopago"
        first = await client.post(webhook, params=query, headers=headers, json=body)
        assert check(first).duplicate is False
        again = await client.post(webhook, params=query, headers=headers, json=body)
        assert check(again).duplicate is True

        async def dead() -> Any:
            answer = await client.get(f"{API}/payments/dead-letters", headers=ADMIN)
            letters = check(answer)
            return letters if letters.items else None

        letters = await _until(dead, "the notification to be dead-lettered")
        status = check(await client.get(f"{API}/payments/status", headers=ADMIN))
        assert status.recent_dead_letters
        assert status.circuit.state != "closed"
        template = f"{API}/payments/dead-letters/{{row_id}}/retry"
        retried = await client.post(template.format(row_id=letters.items[0].id), headers=ADMIN)
        check(retried, template)
        check(await client.get(f"{API}/payments/status", headers=ADMIN))


# -- optimization --------------------------------------------------------------------------------

SLOW = "SELECT * FROM answers_t WHERE a = ? AND b > ? ORDER BY c"


async def _slow_statement(client: httpx.AsyncClient) -> None:
    """A table without an index but its key, and a statement on it the monitoring measured as
    the slowest by far: the index advisor has something to propose."""
    services = client.app.state.services  # type: ignore[attr-defined]
    sqlite = services.engine.dialect.name == "sqlite"
    rows = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "SELECT i % 100, i, i % 37 FROM n"
        if sqlite
        else "SELECT i % 100, i, i % 37 FROM generate_series(1, 2000) AS i"
    )
    key = "INTEGER PRIMARY KEY" if sqlite else "SERIAL PRIMARY KEY"
    async with services.engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE TABLE answers_t (id {key}, a INT, b INT, c INT)")
        await conn.exec_driver_sql(f"INSERT INTO answers_t (a, b, c) {rows}")
    services.monitor.ring.record(("db", SLOW, "select"), 900.0)


async def test_optimization_answers_fit_their_models(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status before and after the engine's rounds, cache toggles, forced and released
    emergency mode, the audited actions, index advice and an unhandled error's group."""
    settings = {**TOKENS, "optimization_enabled": True, "optimization_interval_s": 0.05}
    async with app_factory(**settings) as client:
        check(await client.get(f"{API}/optimization/status", headers=ADMIN))

        async def measured() -> Any:
            answer = check(await client.get(f"{API}/optimization/status", headers=ADMIN))
            return answer if answer.rounds and answer.pressure.signal else None

        status = await _until(measured, "a round of the engine")
        assert status.leading
        assert status.healing is not None
        assert check(await client.get(f"{API}/optimization/errors", headers=ADMIN)).groups == []

        async def failing(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("the dashboard failed on purpose")

        monkeypatch.setattr(reports, "dashboard", failing)
        lenient = httpx.ASGITransport(app=client.app, raise_app_exceptions=False)  # type: ignore[attr-defined]
        async with httpx.AsyncClient(transport=lenient, base_url="http://test") as other:
            assert (await other.get(DASHBOARD, headers=ADMIN)).status_code == 500
        monkeypatch.undo()
        errors = check(await client.get(f"{API}/optimization/errors", headers=ADMIN))
        assert [(g.route, g.exception) for g in errors.groups] == [(DASHBOARD, "RuntimeError")]

        check(await client.put(f"{API}/optimization/cache{DASHBOARD}", headers=ADMIN), CACHE)
        body = {"reason": "checking the answers"}
        check(await client.put(f"{API}/optimization/cache{BI}", json=body, headers=ADMIN), CACHE)
        off = await client.request("DELETE", f"{API}/optimization/cache{BI}", headers=ADMIN)
        assert check(off, CACHE).enabled is False
        forced = {"enabled": True, "reason": "checking the answers", "stage": 1}
        emergency = f"{API}/optimization/emergency"
        assert check(await client.post(emergency, json=forced, headers=ADMIN)).forced
        status = check(await client.get(f"{API}/optimization/status", headers=ADMIN))
        assert status.emergency.forced
        assert all(c.on for c in status.caches.values())
        released = {"enabled": False, "reason": "done checking"}
        assert check(await client.post(emergency, json=released, headers=ADMIN)).stage == 0
        check(await client.get(f"{API}/optimization/status", headers=ADMIN))
        actions = check(await client.get(f"{API}/optimization/actions", headers=ADMIN))
        assert {a.kind for a in actions.actions} >= {"route_cache", "emergency"}
        assert any(a.trigger for a in actions.actions)
        only = {"kind": "route_cache", "limit": "2"}
        check(await client.get(f"{API}/optimization/actions", params=only, headers=ADMIN))

        await _slow_statement(client)
        advice = check(await client.get(f"{API}/optimization/index-suggestions", headers=ADMIN))
        dialect = client.app.state.services.engine.dialect.name  # type: ignore[attr-defined]
    shape = {"sqlite": optimization_answers.SqliteIndexAdvice}
    assert isinstance(advice, shape.get(dialect, optimization_answers.PostgresIndexAdvice))
    assert [(s.table, s.columns) for s in advice.suggestions] == [("answers_t", ["a", "b"])]
