"""The webhook route and the worker in one app, on SQLite and PostgreSQL, against the stand-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from barberpro.config import Settings
from barberpro.db import tables
from barberpro.payments.mercadopago import signature
from barberpro.payments.mercadopago.sandbox import Sandbox
from tests.payments.conftest import ADMIN, SECRET, StandIn, fast_settings, wait_for

WEBHOOK = "/api/v1/webhooks/mercadopago"
T = tables.mp_notifications


async def _post(client: httpx.AsyncClient, sandbox: Sandbox, **options: Any) -> httpx.Response:
    query, headers, body = sandbox.webhook(**options)
    return await client.post(WEBHOOK, params=query, headers=headers, json=body)


async def _scalar(client: httpx.AsyncClient, stmt: Any) -> Any:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        return (await conn.execute(stmt)).scalar()


async def _rows(client: httpx.AsyncClient, stmt: Any) -> list[Any]:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).mappings().all())


async def _queue_settled(client: httpx.AsyncClient) -> bool:
    waiting = await _scalar(
        client,
        select(func.count()).select_from(T).where(T.c.status.in_(["pending", "processing"])),
    )
    return int(waiting) == 0


async def test_bad_or_missing_signature_is_401_and_stores_nothing(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """Missing, malformed, wrong-secret and stale signatures are refused; no row is written."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url, mp_signature_tolerance_s=300)) as client:
        query, headers, body = sandbox.webhook(data_id="1001")
        unsigned = {k: v for k, v in headers.items() if k != "x-signature"}
        forged = sandbox.webhook(data_id="1001", secret="not-the-secret")[1]
        stale = sandbox.webhook(data_id="1001", ts="1704908010")[1]
        cases = {
            "missing": unsigned,
            "malformed": {**unsigned, "x-signature": "ts=1"},
            "mismatch": forged,
            "stale": stale,
        }
        for reason, sent in cases.items():
            answer = await client.post(WEBHOOK, params=query, headers=sent, json=body)
            assert answer.status_code == 401, reason
            assert answer.json()["error"] == "invalid_signature"
            assert reason in answer.json()["message"]
        other_id = await client.post(
            WEBHOOK, params={**query, "data.id": "1002"}, headers=headers, json=body
        )
        assert other_id.status_code == 401
        assert await _scalar(client, select(func.count()).select_from(T)) == 0
        assert sandbox.served["1001"] == 0


async def test_payment_webhook_becomes_one_revenue_event(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """A signed payment webhook is stored, answered 200, fetched and stored as revenue once."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        options = {"data_id": "5001", "request_id": "req-5001", "notification_id": 9001}
        first = await _post(client, sandbox, **options)
        again = await _post(client, sandbox, **options)
        assert first.status_code == 200
        assert first.json()["duplicate"] is False
        assert again.status_code == 200
        assert again.json() == {**first.json(), "duplicate": True}
        await wait_for(lambda: _queue_settled(client), what="the queue to drain")
        payment = sandbox.payments["5001"]
        events = await _rows(
            client, select(tables.events).where(tables.events.c.payment_id == "5001")
        )
        assert len(events) == 1
        event = events[0]
        fee = next(
            (f["amount"] for f in payment["fee_details"] if f["type"] == "application_fee"), None
        )
        assert event["type"] == "revenue"
        assert event["status"] == "approved"
        assert event["amount_cents"] == round(payment["transaction_amount"] * 100)
        assert event["currency"] == "ARS"
        assert event["payment_method"] == payment["payment_method_id"]
        assert event["payment_type"] == payment["payment_type_id"]
        assert event["installments"] == payment["installments"]
        assert event["commission_cents"] == (None if fee is None else round(fee * 100))
        assert event["booking_id"] == "booking-5001"
        assert event["provider_id"] == payment["metadata"]["provider_id"]
        assert event["user_id"] is None  # no metadata.user_id: payer.id is not our user
        stored = await _rows(client, select(T.c.status, T.c.attempts, T.c.last_http_status))
        assert [dict(r) for r in stored] == [
            {"status": "done", "attempts": 1, "last_http_status": 200}
        ]
        assert sandbox.served["5001"] == 1


async def test_a_payment_attributed_in_metadata_counts_for_its_users_channel(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """metadata.user_id of a WhatsApp-referred user puts the payment in whatsapp's revenue."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        started = await client.post(
            "/api/v1/analytics/session/start",
            json={
                "session_id": "sess-wa-1",
                "user_id": "client-wa-1",
                "referral": {"source": "whatsapp"},
                "location": {"province": "Córdoba"},
            },
        )
        assert started.status_code == 201, started.text
        sandbox.set_payment(
            "5101",
            {
                "status": "approved",
                "metadata": {
                    "user_id": "client-wa-1",
                    "session_id": "sess-wa-1",
                    "booking_id": "bk-wa-1",
                    "provider_id": "barber-wa",
                    "province": "Córdoba",
                },
            },
        )
        assert (await _post(client, sandbox, data_id="5101")).status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the queue to drain")
        amount = sandbox.payments["5101"]["transaction_amount"]
        answer = await client.get(
            "/api/v1/analytics/business-intelligence", headers={"Authorization": f"Bearer {ADMIN}"}
        )
    assert answer.status_code == 200, answer.text
    channels = {row["channel"]: row for row in answer.json()["referrals"]}
    assert channels["whatsapp"]["revenue_ars"] == pytest.approx(amount)
    assert sum(row["revenue_ars"] for row in channels.values()) == pytest.approx(amount)


async def test_same_state_counts_once_and_a_later_status_replaces_it(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """Two notifications of one state store one event; a refund is a new, latest state."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        for action in ("payment.created", "payment.updated"):
            assert (await _post(client, sandbox, data_id="6001", action=action)).status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the queue to drain")
        sandbox.set_payment("6001", {"status": "refunded"})
        assert (await _post(client, sandbox, data_id="6001")).status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the refund to be processed")
        events = await _rows(
            client,
            select(tables.events.c.status).where(tables.events.c.payment_id == "6001"),
        )
        assert sorted(e["status"] for e in events) == ["approved", "refunded"]
        state = await _scalar(
            client, select(tables.payments.c.status).where(tables.payments.c.payment_id == "6001")
        )
        assert state == "refunded"
        assert sandbox.served["6001"] == 3


async def test_chargeback_marks_its_payment_charged_back(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """A chargebacks notification fetches the chargeback and marks its payment charged_back."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        assert (await _post(client, sandbox, data_id="7001")).status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the payment to be processed")
        chargeback = sandbox.add_chargeback("7001")  # the payment itself still says approved
        answer = await _post(client, sandbox, data_id=chargeback["id"], topic="chargebacks")
        assert answer.status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the chargeback to be processed")
        state = await _scalar(
            client, select(tables.payments.c.status).where(tables.payments.c.payment_id == "7001")
        )
        assert state == "charged_back"
        topics = await _rows(client, select(T.c.topic, T.c.status).order_by(T.c.received_at))
        assert [(r["topic"], r["status"]) for r in topics] == [
            ("payment", "done"),
            ("chargebacks", "done"),
        ]


async def test_other_topics_are_stored_without_fetching(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """A merchant_order notification is stored (skipped) and nothing is asked of the API."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        answer = await _post(client, sandbox, data_id="8001", topic="topic_merchant_order_wh")
        assert answer.status_code == 200
        rows = await _rows(client, select(T.c.topic, T.c.status, T.c.resource_id))
        assert [dict(r) for r in rows] == [
            {"topic": "merchant_order", "status": "skipped", "resource_id": "8001"}
        ]
        assert sum(sandbox.requests.values()) == 0


async def test_webhook_without_a_resource_is_422(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """A signed notification naming no data.id is refused with the field named."""
    async with app_factory(**fast_settings(standin.url)) as client:
        header = signature.header_value(SECRET, data_id=None, request_id="r1", ts="1700000000")
        answer = await client.post(
            WEBHOOK,
            params={"type": "payment"},
            headers={"x-signature": header, "x-request-id": "r1"},
            json={"type": "payment"},
        )
        assert answer.status_code == 422
        assert answer.json()["fields"][0]["field"] == "data.id"


async def test_failures_end_in_the_dead_letter_list_and_can_be_retried(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """After max attempts a notification is a dead letter; the admin route sends it back."""
    sandbox = standin.sandbox
    sandbox.set_faults(error_rate=1.0)
    settings = fast_settings(
        standin.url,
        mp_max_attempts=2,
        mp_call_attempts=1,
        mp_breaker_failures=100,
        admin_token=ADMIN,
        ingest_token="ingest-token",
    )
    auth = {"Authorization": f"Bearer {ADMIN}"}
    async with app_factory(**settings) as client:
        assert (await _post(client, sandbox, data_id="9001")).status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the dead letter")
        assert (await client.get("/api/v1/payments/dead-letters")).status_code == 401
        listed = (await client.get("/api/v1/payments/dead-letters", headers=auth)).json()
        assert listed["total"] == 1
        (dead,) = listed["items"]
        assert dead["resource_id"] == "9001"
        assert dead["attempts"] == 2
        assert dead["last_http_status"] in {500, 502, 503}
        status = (await client.get("/api/v1/payments/status", headers=auth)).json()
        assert status["dead_letters"] == 1
        assert status["circuit"]["state"] == "closed"

        sandbox.set_faults(error_rate=0.0)
        retry = f"/api/v1/payments/dead-letters/{dead['id']}/retry"
        assert (await client.post(retry)).status_code == 401
        assert (await client.post(retry, headers=auth)).status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the retried notification")
        assert (await client.post(retry, headers=auth)).status_code == 409
        missing = "/api/v1/payments/dead-letters/no-such-id/retry"
        assert (await client.post(missing, headers=auth)).status_code == 404
        listed = (await client.get("/api/v1/payments/dead-letters", headers=auth)).json()
        assert listed == {"total": 0, "items": []}
        count = await _scalar(
            client,
            select(func.count())
            .select_from(tables.events)
            .where(tables.events.c.payment_id == "9001"),
        )
        assert count == 1


async def test_dashboard_and_metrics_show_the_payments_section(
    app_factory: Callable[..., Any], standin: StandIn
) -> None:
    """The dashboard has a payments section; /metrics has the gauges and the payment counted."""
    sandbox = standin.sandbox
    async with app_factory(**fast_settings(standin.url)) as client:
        assert (await _post(client, sandbox, data_id="1201")).status_code == 200
        await wait_for(lambda: _queue_settled(client), what="the queue to drain")
        dashboard = (await client.get("/api/v1/monitoring/dashboard")).json()
        section = dashboard["payments"]
        assert section["queue_depth"] == 0
        assert section["dead_letters"] == 0
        assert section["circuit"]["state"] == "closed"
        assert section["worker"]["processed"] == 1
        metrics = (await client.get("/metrics")).text
        assert 'barberpro_mercadopago_circuit_state{state="closed"} 1.0' in metrics
        assert 'barberpro_mercadopago_circuit_state{state="open"} 0.0' in metrics
        assert "barberpro_payments_dead_letters 0.0" in metrics
        assert (
            'barberpro_payment_webhooks_total{event_type="payment",outcome="success",'
            'provider="mercadopago"} 1.0'
        ) in metrics
        method = sandbox.payments["1201"]["payment_method_id"]
        assert (
            f'barberpro_payments_by_method_total{{payment_method="{method}",status="approved"}} 1.0'
        ) in metrics


def test_production_needs_the_mercadopago_secrets() -> None:
    """Production without the webhook secret or the access token names both settings."""
    settings = Settings(env="production", admin_token="a", ingest_token="i")
    problems = " ".join(settings.problems())
    assert "BARBERPRO_MP_WEBHOOK_SECRET" in problems
    assert "BARBERPRO_MP_ACCESS_TOKEN" in problems
    ready = Settings(
        env="production",
        admin_token="a",
        ingest_token="i",
        mp_webhook_secret="s",
        mp_access_token="t",
    )
    assert not [p for p in ready.problems() if "BARBERPRO_MP_" in p]


@pytest.mark.parametrize("url", ["ftp://mp", "api.mercadopago.com"])
def test_api_url_must_be_http(url: str) -> None:
    """A MercadoPago API URL that is not http(s) is named."""
    assert any("BARBERPRO_MP_API_URL" in p for p in Settings(mp_api_url=url).problems())
