"""The ingestion contract of the analytics API, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from barberpro.db import tables

API = "/api/v1/analytics"


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _rows(client: httpx.AsyncClient, table: Any, *where: Any) -> list[Any]:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        return list((await conn.execute(select(table).where(*where))).mappings())


def _payment(**overrides: Any) -> dict[str, Any]:
    body = {
        "payment_id": "mp-1",
        "provider_id": "p-1",
        "user_id": "c-1",
        "amount": "12500.50",
        "currency": "ARS",
        "status": "approved",
        "payment_method": "visa",
        "payment_type": "credit_card",
        "installments": 3,
        "province": "Córdoba",
        "timestamp": _now(),
    }
    body.update(overrides)
    return body


async def test_session_start_normalises_province_and_classifies_referral(
    client: httpx.AsyncClient,
) -> None:
    """session/start answers 201 with the ISO province and the referral channel, and stores it."""
    answer = await client.post(
        f"{API}/session/start",
        json={
            "session_id": "s-1",
            "user_id": "c-1",
            "user_type": "client",
            "device": {"type": "mobile", "os": "android", "browser": "chrome"},
            "location": {"province": "Capital Federal", "city": "Palermo"},
            "referral": {"source": "ig", "referrer_url": "https://l.instagram.com/?u=x"},
            "timestamp": _now(),
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "session_id": "s-1",
        "province": "AR-C",
        "referral_channel": "instagram",
        "duplicate": False,
    }
    (row,) = await _rows(client, tables.sessions, tables.sessions.c.session_id == "s-1")
    assert (row["explicit"], row["device_type"], row["province"]) == (True, "mobile", "AR-C")


async def test_session_start_generates_an_id_and_detects_whatsapp(
    client: httpx.AsyncClient,
) -> None:
    """Without session_id one is generated; a wa.me referrer is WhatsApp."""
    answer = await client.post(
        f"{API}/session/start", json={"referral": {"referrer_url": "https://wa.me/5491100000000"}}
    )
    assert answer.status_code == 201
    body = answer.json()
    assert uuid.UUID(body["session_id"])
    assert body["referral_channel"] == "whatsapp"
    assert body["province"] is None


async def test_session_start_twice_is_a_duplicate_and_a_different_one_conflicts(
    client: httpx.AsyncClient,
) -> None:
    """The same start again answers 200 duplicate; a different body for the id answers 409."""
    start = {"session_id": "s-2", "device": {"type": "desktop"}, "timestamp": _now()}
    assert (await client.post(f"{API}/session/start", json=start)).status_code == 201
    again = await client.post(f"{API}/session/start", json=start)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    other = await client.post(f"{API}/session/start", json={**start, "device": {"type": "tablet"}})
    assert other.status_code == 409
    assert other.json()["fields"][0]["field"] == "session_id"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/action",
            {"session_id": "s-9", "action": "search_providers", "properties": {"q": "fade"}},
        ),
        ("/funnel", {"session_id": "s-9", "step": "provider_view", "provider_id": "p-1"}),
        ("/provider/metrics", {"provider_id": "p-1", "event": "rating", "rating": 5}),
        ("/revenue", _payment()),
        ("/argentina/activity", {"province": "AR-S", "activity": "search", "count": 3}),
    ],
)
async def test_each_event_is_stored_once_and_a_resend_is_a_duplicate(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    """Every event route answers 202, then 200 duplicate for the same event_id; one row stored."""
    event_id = str(uuid.uuid4())
    first = await client.post(API + path, json={**body, "event_id": event_id})
    assert first.status_code == 202, first.text
    assert first.json() == {"event_id": event_id, "duplicate": False}
    again = await client.post(API + path, json={**body, "event_id": event_id})
    assert again.status_code == 200
    assert again.json() == {"event_id": event_id, "duplicate": True}
    assert len(await _rows(client, tables.events, tables.events.c.event_id == event_id)) == 1


async def test_same_event_id_with_another_body_is_a_conflict(client: httpx.AsyncClient) -> None:
    """Reusing an event_id for a different event answers 409 and keeps the first."""
    event_id = str(uuid.uuid4())
    body = {"event_id": event_id, "session_id": "s-1", "action": "open_app"}
    assert (await client.post(f"{API}/action", json=body)).status_code == 202
    clash = await client.post(f"{API}/action", json={**body, "action": "close_app"})
    assert clash.status_code == 409
    assert clash.json()["fields"][0]["field"] == "event_id"
    (row,) = await _rows(client, tables.events, tables.events.c.event_id == event_id)
    assert row["action"] == "open_app"


async def test_resend_with_a_new_sent_at_is_still_a_duplicate(client: httpx.AsyncClient) -> None:
    """A retry carries a new sent_at; it is the same event, not a conflict."""
    body = {
        "event_id": str(uuid.uuid4()),
        "session_id": "s-1",
        "action": "open_app",
        "timestamp": _now(),
        "sent_at": _now(),
    }
    assert (await client.post(f"{API}/action", json=body)).status_code == 202
    retry = await client.post(f"{API}/action", json={**body, "sent_at": _now()})
    assert retry.status_code == 200
    assert retry.json()["duplicate"] is True


async def test_concurrent_copies_of_one_event_store_it_once(client: httpx.AsyncClient) -> None:
    """Twenty copies sent at once, sharing group commits: one 202, the rest duplicates."""
    body = {"event_id": str(uuid.uuid4()), "session_id": "s-1", "action": "tap"}
    answers = await asyncio.gather(*(client.post(f"{API}/action", json=body) for _ in range(20)))
    assert sorted(a.status_code for a in answers) == [200] * 19 + [202]
    rows = await _rows(client, tables.events, tables.events.c.event_id == body["event_id"])
    assert len(rows) == 1


async def test_unknown_session_creates_an_implicit_session(client: httpx.AsyncClient) -> None:
    """Events of an unknown session_id are kept and create that session, spanning its events."""
    t0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    for minutes, action in ((5, "b"), (0, "a"), (9, "c")):
        at = (t0 + timedelta(minutes=minutes)).isoformat()
        body = {"session_id": "ghost", "user_id": "c-7", "action": action, "timestamp": at}
        assert (await client.post(f"{API}/action", json=body)).status_code == 202
    (row,) = await _rows(client, tables.sessions, tables.sessions.c.session_id == "ghost")
    assert row["explicit"] is False
    assert row["event_count"] == 3
    assert row["user_id"] == "c-7"
    assert row["last_seen_at"] - row["started_at"] == 9 * 60 * 1_000_000
    late_start = await client.post(
        f"{API}/session/start",
        json={"session_id": "ghost", "device": {"type": "mobile"}, "timestamp": t0.isoformat()},
    )
    assert late_start.status_code == 201
    (row,) = await _rows(client, tables.sessions, tables.sessions.c.session_id == "ghost")
    assert (row["explicit"], row["device_type"], row["event_count"]) == (True, "mobile", 3)


async def test_a_batch_spans_its_sessions_with_the_events_it_stores(
    client: httpx.AsyncClient,
) -> None:
    """In one transaction a session's count and span come from the events stored now (a resent
    one adds nothing), its user from the first event that names one; a start in the same batch
    is applied first, so its events' user fills in the user it left out."""
    t0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

    def action(event_id: str, minutes: int, user: str | None = None, **extra: Any) -> Any:
        at = (t0 + timedelta(minutes=minutes)).isoformat()
        body = {"type": "action", "action": "a", "timestamp": at, **extra}
        body["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, event_id))
        return body | ({"user_id": user} if user else {})

    first = [
        action("e-1", 5, session_id="mixed"),
        action("e-2", 0, "c-1", session_id="mixed"),
        action("e-3", 9, "c-2", session_id="mixed"),
        {"type": "activity", "province": "cordoba", "activity": "search"},  # no session
        {"type": "session_start", "session_id": "started", "timestamp": t0.isoformat()},
        action("e-5", 2, "c-9", session_id="started"),
    ]
    answer = (await client.post(f"{API}/batch", json={"events": first})).json()
    assert (answer["stored"], answer["duplicates"]) == (6, 0)
    second = [
        action("e-2", 0, "c-1", session_id="mixed"),
        action("e-6", -2, "c-3", session_id="mixed"),
    ]
    answer = (await client.post(f"{API}/batch", json={"events": second})).json()
    assert (answer["stored"], answer["duplicates"]) == (1, 1)
    rows = {r["session_id"]: r for r in await _rows(client, tables.sessions)}
    assert set(rows) == {"mixed", "started"}
    mixed, started = rows["mixed"], rows["started"]
    minute = 60 * 1_000_000
    assert (mixed["explicit"], mixed["event_count"], mixed["user_id"]) == (False, 4, "c-1")
    assert mixed["last_seen_at"] - mixed["started_at"] == 11 * minute
    assert (started["explicit"], started["event_count"], started["user_id"]) == (True, 1, "c-9")
    assert started["last_seen_at"] - started["started_at"] == 2 * minute


@pytest.mark.parametrize(
    ("step", "number"),
    [(1, 1), ("search", 1), ("slot_selected", 3), ("PAYMENT_COMPLETED", 5), ("4", 4)],
)
async def test_funnel_step_by_number_or_name(
    client: httpx.AsyncClient, step: object, number: int
) -> None:
    """A funnel step is given as 1-5 or its name and stored as its number."""
    answer = await client.post(f"{API}/funnel", json={"session_id": "s-1", "step": step})
    assert answer.status_code == 202
    (row,) = await _rows(
        client, tables.events, tables.events.c.event_id == answer.json()["event_id"]
    )
    assert row["step"] == number


async def test_payment_state_is_its_latest_status(client: httpx.AsyncClient) -> None:
    """Approved then refunded, sent out of order: the state is refunded, first approval kept."""
    t0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    refunded = _payment(status="refunded", timestamp=(t0 + timedelta(hours=2)).isoformat())
    approved = _payment(status="approved", timestamp=t0.isoformat())
    pending = _payment(status="pending", timestamp=(t0 - timedelta(minutes=1)).isoformat())
    for body in (refunded, approved, pending):
        assert (await client.post(f"{API}/revenue", json=body)).status_code == 202
    (row,) = await _rows(client, tables.payments, tables.payments.c.payment_id == "mp-1")
    assert row["status"] == "refunded"
    assert row["amount_cents"] == 1_250_050
    assert row["province"] == "AR-X"
    assert row["first_approved_at"] == int(t0.timestamp()) * 1_000_000


async def test_clock_skew_is_corrected_from_sent_at(client: httpx.AsyncClient) -> None:
    """A client clock two hours fast: the event time is moved back by the skew."""
    now = datetime.now(UTC)
    skew = timedelta(hours=2)
    happened = now - timedelta(minutes=10)
    answer = await client.post(
        f"{API}/action",
        json={
            "session_id": "s-1",
            "action": "tap",
            "timestamp": (happened + skew).isoformat(),
            "sent_at": (now + skew).isoformat(),
        },
    )
    assert answer.status_code == 202
    (row,) = await _rows(
        client, tables.events, tables.events.c.event_id == answer.json()["event_id"]
    )
    stored = datetime.fromtimestamp(row["occurred_at"] / 1e6, UTC)
    assert abs(stored - happened) < timedelta(seconds=30)


async def test_an_event_a_day_in_the_future_is_refused(client: httpx.AsyncClient) -> None:
    """After correction, more than 23 h in the future is a 422 on timestamp."""
    future = (datetime.now(UTC) + timedelta(hours=24)).isoformat()
    answer = await client.post(
        f"{API}/action", json={"session_id": "s-1", "action": "tap", "timestamp": future}
    )
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "timestamp"
    async with client.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        assert (await conn.execute(select(func.count()).select_from(tables.events))).scalar() == 0


BAD_INPUT = [
    ("/argentina/activity", {"province": "Narnia", "activity": "search"}, "province"),
    ("/funnel", {"session_id": "s", "step": "checkout"}, "step"),
    ("/funnel", {"session_id": "s", "step": 6}, "step"),
    ("/revenue", _payment(amount=-5), "amount"),
    ("/revenue", _payment(amount="10.005"), "amount"),
    ("/revenue", _payment(installments=25), "installments"),
    ("/revenue", _payment(installments=0), "installments"),
    ("/revenue", _payment(status="paid"), "status"),
    ("/action", {"session_id": "s", "action": "tap", "timestamp": "yesterday-ish"}, "timestamp"),
    (
        "/action",
        {"session_id": "s", "action": "tap", "properties": {"x": "y" * 9000}},
        "properties",
    ),
    ("/action", {"session_id": "s", "action": "Tap Here"}, "action"),
    ("/action", {"session_id": "s", "action": "9lives"}, "action"),
    ("/action", {"action": "tap"}, "session_id"),
    ("/provider/metrics", {"provider_id": "p", "event": "rating", "rating": 6}, "rating"),
    ("/argentina/activity", {"province": "AR-C", "activity": "search", "count": 0}, "count"),
    ("/action", {"session_id": "s", "action": "tap", "event_id": "not-a-uuid"}, "event_id"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD_INPUT)
async def test_bad_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    """Each kind of bad input answers 422 naming the field with a reason; nothing is stored."""
    answer = await client.post(API + path, json=body)
    assert answer.status_code == 422, answer.text
    fields = answer.json()["fields"]
    assert field in [f["field"] for f in fields]
    assert all(f["reason"] for f in fields)
    async with client.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        assert (await conn.execute(select(func.count()).select_from(tables.events))).scalar() == 0


async def test_a_body_that_is_not_json_is_415(client: httpx.AsyncClient) -> None:
    """A form body answers 415: it is not JSON by its Content-Type."""
    form = await client.post(
        f"{API}/action",
        content=b"a=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "line 1 column 2"),
        (b'{"session_id": "s", "action": "x",}', "trailing comma at line 1 column 35"),
        (b"[" * 3000 + b"]" * 3000, "nested too deeply"),
    ],
)
async def test_malformed_json_is_400_saying_where_it_broke(
    client: httpx.AsyncClient, body: bytes, says: str
) -> None:
    """JSON that does not parse answers 400 naming the line and column (or the depth)."""
    for path in ("/action", "/batch"):
        answer = await client.post(
            f"{API}{path}", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "malformed_json"
        assert says in answer.json()["message"]


async def test_a_batch_item_that_is_not_an_object_is_refused_alone(
    client: httpx.AsyncClient,
) -> None:
    """A string among the events gets its own error; the good event beside it is stored."""
    good = {"type": "action", "session_id": "s-b1", "action": "view", "event_id": str(uuid.uuid4())}
    answer = await client.post(f"{API}/batch", json={"events": ["oops", good, 7]})
    assert answer.status_code in {200, 207}, answer.text
    body = answer.json()
    assert body["stored"] == 1
    assert body["rejected"] == 2
    first, _, last = body["results"]
    assert first["errors"][0]["field"] == "events.0"
    assert "must be a JSON object" in first["errors"][0]["reason"]
    assert last["errors"][0]["field"] == "events.2"


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    """A body over 1 MiB answers 413, whether announced by Content-Length or streamed."""
    big = b'{"session_id":"s","action":"tap","properties":{"x":"' + b"y" * (1 << 20) + b'"}}'
    answer = await client.post(
        f"{API}/action", content=big, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413

    async def chunks() -> Any:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = await client.post(
        f"{API}/action", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_batch_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    """A batch of 1001 events answers 413 and stores nothing."""
    events = [{"type": "action", "session_id": "s", "action": "tap"}] * 1001
    answer = await client.post(f"{API}/batch", json={"events": events})
    assert answer.status_code == 413
    assert answer.json()["fields"][0]["field"] == "events"


async def test_batch_answers_each_item_and_stores_the_good_ones(client: httpx.AsyncClient) -> None:
    """Good items are stored even when others are bad; each item gets its own status."""
    dup_id = str(uuid.uuid4())
    await client.post(f"{API}/action", json={"event_id": dup_id, "session_id": "s", "action": "a"})
    events = [
        {"type": "session_start", "session_id": "sb", "device": {"type": "mobile"}},
        {"type": "action", "session_id": "sb", "action": "open"},
        {"type": "funnel", "session_id": "sb", "step": "nope"},
        {"type": "revenue", **_payment(payment_id="mp-b")},
        {"type": "telepathy"},
        {"type": "action", "event_id": dup_id, "session_id": "s", "action": "a"},
        {"type": "action", "event_id": dup_id, "session_id": "s", "action": "b"},
        {"type": "activity", "province": "cordoba", "activity": "booking"},
    ]
    answer = await client.post(f"{API}/batch", json={"events": events})
    assert answer.status_code == 207
    body = answer.json()
    assert [r["status"] for r in body["results"]] == [201, 202, 422, 202, 422, 200, 409, 202]
    assert body["results"][2]["errors"][0]["field"] == "events.2.step"
    assert body["results"][4]["errors"][0]["field"] == "events.4.type"
    assert (body["stored"], body["duplicates"], body["rejected"]) == (4, 1, 3)
    async with client.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        count = (await conn.execute(select(func.count()).select_from(tables.events))).scalar()
    assert count == 1 + 3


async def test_a_batch_resent_is_all_duplicates(client: httpx.AsyncClient) -> None:
    """Resending a batch whose events carry ids stores nothing new."""
    events = [
        {"type": "action", "event_id": str(uuid.uuid4()), "session_id": "s", "action": "a"}
        for _ in range(50)
    ]
    first = (await client.post(f"{API}/batch", json={"events": events})).json()
    again = (await client.post(f"{API}/batch", json={"events": events})).json()
    assert (first["stored"], again["stored"], again["duplicates"]) == (50, 0, 50)


async def test_batch_sent_at_corrects_every_item(client: httpx.AsyncClient) -> None:
    """The batch's sent_at corrects items that carry none of their own."""
    now = datetime.now(UTC)
    skew = timedelta(hours=5)
    events = [
        {"type": "action", "session_id": "s", "action": "a", "timestamp": (now + skew).isoformat()}
    ]
    answer = await client.post(
        f"{API}/batch", json={"events": events, "sent_at": (now + skew).isoformat()}
    )
    (result,) = answer.json()["results"]
    (row,) = await _rows(client, tables.events, tables.events.c.event_id == result["event_id"])
    stored = datetime.fromtimestamp(row["occurred_at"] / 1e6, UTC)
    assert abs(stored - now) < timedelta(seconds=30)
