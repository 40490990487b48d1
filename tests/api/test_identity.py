"""POST /api/v1/argentina/identity/validate: DNI, CUIT and CUIL, their kind, tokens, 422s."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog

from barberpro.app import create_app
from barberpro.config import Settings

ROUTE = "/api/v1/argentina/identity/validate"
ADMIN = {"Authorization": "Bearer identity-admin-token"}
INGEST = {"Authorization": "Bearer identity-ingest-token"}


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app with both tokens and the access log on (the route touches no database)."""
    settings = Settings(
        database_url=sqlite_url,
        redis_url=None,
        env="development",
        admin_token="identity-admin-token",
        ingest_token="identity-ingest-token",
        identity_hash_key="identity-test-key",
        access_log=True,
        alert_enabled=False,
        mp_worker_enabled=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as found:
            yield found


async def _check(client: httpx.AsyncClient, kind: str, number: Any) -> dict[str, Any]:
    answer = await client.post(ROUTE, json={"type": kind, "number": number}, headers=INGEST)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _valid(kind: str, normalized: str, formatted: str, whose: str) -> dict[str, Any]:
    return {
        "type": kind,
        "valid": True,
        "normalized": normalized,
        "formatted": formatted,
        "kind": whose,
        "reason": None,
    }


@pytest.mark.parametrize(
    ("kind", "written", "normalized", "formatted", "whose"),
    [
        ("DNI", "12.345.678", "12345678", "12.345.678", "person"),
        ("DNI", "12345678", "12345678", "12.345.678", "person"),
        ("dni", "1 234 567", "1234567", "1.234.567", "person"),
        ("CUIT", "20-12345678-6", "20123456786", "20-12345678-6", "person"),
        ("CUIT", "20123456786", "20123456786", "20-12345678-6", "person"),
        ("cuit", "30-50001091-2", "30500010912", "30-50001091-2", "company"),
        ("CUIT", "30.50001091.2", "30500010912", "30-50001091-2", "company"),
        ("CUIL", "20-12345678-6", "20123456786", "20-12345678-6", "person"),
        ("Cuil", "27 12345678 0", "27123456780", "27-12345678-0", "person"),
    ],
)
async def test_a_valid_number_answers_its_digits_form_and_kind(
    client: httpx.AsyncClient, kind: str, written: str, normalized: str, formatted: str, whose: str
) -> None:
    """With or without dashes, dots or spaces; the type in any case; the kind from the prefix."""
    found = await _check(client, kind, written)
    assert found == _valid(kind.upper(), normalized, formatted, whose)


@pytest.mark.parametrize(
    ("kind", "written", "reason"),
    [
        ("DNI", "12.345", "7 or 8 digits"),
        ("DNI", "12.345.67X", "only digits"),
        ("CUIT", "20-12345678-0", "check digit"),
        ("CUIT", "2012345678", "11 digits"),
        ("CUIT", "99-12345678-3", "not a CUIT/CUIL type prefix"),
        ("CUIL", "30-50001091-2", "company's CUIT prefix"),
        ("CUIL", "20-12345678-0", "check digit"),
    ],
)
async def test_an_invalid_number_says_why_without_repeating_it(
    client: httpx.AsyncClient, kind: str, written: str, reason: str
) -> None:
    """200 with valid false, no digits back, and the reason (never the number)."""
    found = await _check(client, kind, written)
    assert {k: v for k, v in found.items() if k != "reason"} == {
        "type": kind,
        "valid": False,
        "normalized": None,
        "formatted": None,
        "kind": None,
    }
    assert reason in found["reason"]
    assert "12345678" not in found["reason"]
    assert "50001091" not in found["reason"]


async def test_the_route_takes_the_ingest_or_the_admin_token(client: httpx.AsyncClient) -> None:
    """401 without a token or with an unknown one; both known tokens are accepted."""
    body = {"type": "DNI", "number": "12345678"}
    missing = await client.post(ROUTE, json=body)
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await client.post(ROUTE, json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    for headers in (ADMIN, INGEST):
        assert (await client.post(ROUTE, json=body, headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({"number": "12345678"}, "type", "missing"),
        ({"type": "DNI"}, "number", "missing"),
        ({"type": "PASSPORT", "number": "12345678"}, "type", "literal_error"),
        ({"type": "DNI", "number": 12345678}, "number", "string_type"),
        ({"type": "DNI", "number": None}, "number", "string_type"),
        ({"type": "CUIT", "number": "2" * 33}, "number", "string_too_long"),
        ({"type": "DNI", "number": "12345678", "numero": "1"}, "numero", "extra_forbidden"),
    ],
)
async def test_a_malformed_body_is_a_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str, kind: str
) -> None:
    """The project's error shape: {error, message, fields: [{field, reason, type}]}."""
    answer = await client.post(ROUTE, json=body, headers=INGEST)
    assert answer.status_code == 422, answer.text
    found = answer.json()
    assert found["error"] == "invalid_request"
    assert found["message"] == f"invalid fields: {field}"
    (problem,) = found["fields"]
    assert (problem["field"], problem["type"]) == (field, kind)
    assert problem["reason"]
    assert "12345678" not in answer.text
    assert "2" * 33 not in answer.text


async def test_the_number_reaches_no_log_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The access log names the route; neither it nor any other line carries the number."""
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        await _check(client, "CUIT", "20-12345678-6")
        await _check(client, "CUIL", "30-50001091-2")
        await client.post(
            ROUTE, json={"type": "DNI", "number": 12345678, "x": "20123456786"}, headers=INGEST
        )
    routes = [e["route"] for e in logs if e["event"] == "request"]
    assert routes == [ROUTE] * 3
    text = repr(logs) + caplog.text
    for digits in ("12345678", "50001091"):
        assert digits not in text
