"""Input rules: strict where a typo changes a figure, never a 500 for what a fuzzer sends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from barberpro.config import Settings

API = "/api/v1/analytics"


@pytest.fixture
async def client(app_factory: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """An app with the production defaults for event times (400 days back at most)."""
    async with app_factory(max_past_days=Settings().max_past_days) as found:
        yield found


def _fields(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {f["field"]: f["type"] for f in answer.json()["fields"]}


async def test_a_misspelt_top_level_field_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    """``timestmap`` would silently take the arrival time: 422 names the unknown field."""
    answer = await client.post(
        f"{API}/action",
        json={"session_id": "s1", "action": "view", "timestmap": "2026-12-01T10:00:00Z"},
    )
    assert _fields(answer) == {"timestmap": "extra_forbidden"}
    assert "unknown field" in answer.json()["fields"][0]["reason"]


async def test_properties_and_nested_details_stay_free_form(client: httpx.AsyncClient) -> None:
    """Anything goes inside properties, and extra device or location keys are ignored."""
    action = await client.post(
        f"{API}/action",
        json={"session_id": "s1", "action": "view", "properties": {"anything": {"at": [1, 2]}}},
    )
    assert action.status_code == 202, action.text
    session = await client.post(
        f"{API}/session/start",
        json={"device": {"type": "mobile", "screen": "390x844"}, "location": {"zip": "5000"}},
    )
    assert session.status_code == 201, session.text


async def test_a_batch_item_with_an_unknown_field_is_refused_alone(
    client: httpx.AsyncClient,
) -> None:
    """In a batch, ``type`` picks the model; any other unknown field refuses that item only."""
    good = {"type": "action", "session_id": "s1", "action": "view"}
    answer = await client.post(
        f"{API}/batch", json={"events": [good, {**good, "amout": 3}, {**good, "action": "x"}]}
    )
    body = answer.json()
    assert (body["stored"], body["rejected"]) == (2, 1)
    assert body["results"][1]["errors"][0]["field"] == "events.1.amout"


async def test_a_commission_above_the_amount_is_refused(client: httpx.AsyncClient) -> None:
    """The platform cannot earn more than was paid."""
    answer = await client.post(
        f"{API}/revenue",
        json={
            "payment_id": "p-1",
            "amount": "1000.00",
            "commission": "1000.01",
            "status": "approved",
            "payment_method": "visa",
            "payment_type": "credit_card",
        },
    )
    assert answer.status_code == 422
    assert "above the amount" in answer.text


async def test_a_timestamp_older_than_max_past_days_is_refused(client: httpx.AsyncClient) -> None:
    """401 days back is refused naming timestamp; 399 days back is stored."""
    now = datetime.now(UTC)
    old = {"session_id": "s1", "action": "view", "timestamp": (now - timedelta(days=401))}
    recent = {**old, "timestamp": (now - timedelta(days=399))}
    answer = await client.post(
        f"{API}/action", json={**old, "timestamp": old["timestamp"].isoformat()}
    )
    assert _fields(answer) == {"timestamp": "old_timestamp"}
    stored = await client.post(
        f"{API}/action", json={**recent, "timestamp": recent["timestamp"].isoformat()}
    )
    assert stored.status_code == 202, stored.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"properties": {"n": 2**70}}, "properties"),
        ({"properties": {"n": -(2**64)}}, "properties"),
        ({"timestamp": "0742-01-01T00:00:00Z"}, "timestamp"),
        ({"timestamp": "8929-01-01T00:00:00Z"}, "timestamp"),
        ({"timestamp": "0001-01-01T00:00:00+05:00"}, "timestamp"),
        ({"timestamp": "9999-12-31T23:59:59-05:00"}, "timestamp"),
        ({"sent_at": "2893-01-01T00:00:00Z"}, "sent_at"),
        ({"sent_at": "0001-01-01T00:00:00Z", "timestamp": "2026-12-01T00:00:00Z"}, "sent_at"),
    ],
)
async def test_what_a_fuzzer_found_is_a_4xx_naming_the_field(
    client: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    """Huge integers and dates out of range answered 500; now 422 names the field."""
    body = {"session_id": "s1", "action": "view", "event_id": str(uuid.uuid4()), **changes}
    answer = await client.post(f"{API}/action", json=body)
    assert answer.status_code == 422, answer.text
    assert field in _fields(answer)


async def test_a_huge_dead_letter_offset_is_a_422(client: httpx.AsyncClient) -> None:
    """An offset beyond what the database can take names the parameter instead of a 500."""
    answer = await client.get("/api/v1/payments/dead-letters", params={"offset": 10**30})
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "query.offset"


@pytest.mark.parametrize("text", ["a\x00b", "\x00"])
async def test_text_a_database_cannot_store_is_refused(
    client: httpx.AsyncClient, text: str
) -> None:
    """A NUL character (PostgreSQL refuses it) is a 422 naming the field, on both databases."""
    answer = await client.post(f"{API}/session/start", json={"anonymous_id": text})
    assert _fields(answer) == {"anonymous_id": "value_error"}
    silence = await client.post(
        "/api/v1/monitoring/alerts/silences",
        json={
            "matchers": [{"name": "alertname", "value": text}],
            "duration_s": 60,
            "created_by": "ana",
            "comment": "x",
        },
    )
    assert silence.status_code == 422
    assert silence.json()["fields"][0]["field"] == "matchers.0.value"
