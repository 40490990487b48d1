"""A provider signup's CUIT: validated, stored only as its HMAC, on SQLite and PostgreSQL.

The number must appear in no answer, no log line and nowhere in the database: the test scans
the SQLite files byte by byte, and every PostgreSQL row as text.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.config import DEVELOPMENT_IDENTITY_HASH_KEY
from barberpro.db import tables

API = "/api/v1/analytics"
KEY = "provider-cuit-test-key"
# A person's CUIT and a company's, written as people do; their 8-digit bodies are looked for.
PERSON, PERSON_DIGITS = "20-31415926-9", "20314159269"
COMPANY, COMPANY_DIGITS = "30.71828182.9", "30718281829"
BODIES = ("31415926", "71828182")


def _hmac(digits: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), digits.encode(), hashlib.sha256).hexdigest()


def _signup(cuit: Any = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "province": "Córdoba",
        "activity": "provider_signup",
        **fields,
    }
    if cuit is not None:
        body["cuit"] = cuit
    return body


def _engine(client: httpx.AsyncClient) -> AsyncEngine:
    engine: AsyncEngine = client.app.state.services.engine  # type: ignore[attr-defined]
    return engine


async def _hashes(client: httpx.AsyncClient) -> dict[str, str | None]:
    events = tables.events
    async with _engine(client).connect() as conn:
        rows = await conn.execute(select(events.c.event_id, events.c.cuit_hash))
        return dict(rows.tuples().all())


async def _stored_text(client: httpx.AsyncClient, database_url: str) -> str:
    """Everything the database holds, as text: the SQLite files' bytes, or every row on PG."""
    engine = _engine(client)
    if engine.dialect.name == "sqlite":
        path = Path(database_url.split(":///", 1)[1])
        return "".join(p.read_bytes().decode("latin-1") for p in path.parent.glob(f"{path.name}*"))
    found = []
    async with engine.connect() as conn:
        for name in tables.metadata.tables:
            rows = await conn.execute(text(f'SELECT t::text FROM "{name}" AS t'))
            found.extend(rows.scalars().all())
    return "\n".join(found)


def _no_digits(where: str) -> None:
    for body in BODIES:
        assert body not in where


async def test_a_signup_stores_the_hmac_of_its_cuit_never_the_number(
    app_factory: Callable[..., Any], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The single route and the batch: the HMAC of the 11 digits under the key, the number
    in no answer, log line or stored byte; a signup without a CUIT stores none."""
    caplog.set_level(logging.DEBUG)
    person, company, bare = _signup(PERSON), _signup(COMPANY), _signup()
    async with app_factory(identity_hash_key=KEY, access_log=True) as client:
        with structlog.testing.capture_logs() as logs:
            answers = [await client.post(f"{API}/argentina/activity", json=person)]
            batch = {"events": [{"type": "activity", **company}, {"type": "activity", **bare}]}
            answers.append(await client.post(f"{API}/batch", json=batch))
        assert [a.status_code for a in answers] == [202, 207]
        assert [r["outcome"] for r in answers[1].json()["results"]] == ["stored", "stored"]
        assert await _hashes(client) == {
            person["event_id"]: _hmac(PERSON_DIGITS),
            company["event_id"]: _hmac(COMPANY_DIGITS),
            bare["event_id"]: None,
        }
        stored = await _stored_text(client, database_url)
    _no_digits(stored)
    assert _hmac(PERSON_DIGITS) in stored
    _no_digits("".join(a.text for a in answers))
    _no_digits(repr(logs) + caplog.text)
    assert [e["route"] for e in logs if e["event"] == "request"] == [
        f"{API}/argentina/activity",
        f"{API}/batch",
    ]


async def test_a_resent_signup_is_a_duplicate_and_another_cuit_a_conflict(
    app_factory: Callable[..., Any],
) -> None:
    """The body hash holds the CUIT's HMAC: the same number again is a duplicate, written
    otherwise too; another number under the same event_id is a 409."""
    signup = _signup(PERSON)
    async with app_factory(identity_hash_key=KEY) as client:
        first = await client.post(f"{API}/argentina/activity", json=signup)
        again = await client.post(
            f"{API}/argentina/activity", json={**signup, "cuit": PERSON_DIGITS}
        )
        other = await client.post(f"{API}/argentina/activity", json={**signup, "cuit": COMPANY})
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 409)
    assert again.json()["duplicate"] is True
    _no_digits(other.text)


@pytest.mark.parametrize(
    ("cuit", "reason", "kind"),
    [
        ("20-31415926-0", "check digit", "value_error"),
        ("20-3141592-1", "11 digits", "value_error"),
        ("99-31415926-1", "not a CUIT/CUIL type prefix", "value_error"),
        ("20-31415926-X", "only digits", "value_error"),
        (20314159269, "valid string", "string_type"),
        ("2031415926" * 4, "at most 32", "string_too_long"),
    ],
)
async def test_an_invalid_cuit_is_a_422_naming_the_field_not_the_number(
    app_factory: Callable[..., Any], cuit: Any, reason: str, kind: str
) -> None:
    """Single route and batch item alike: the field and why, never the digits; nothing stored."""
    async with app_factory(identity_hash_key=KEY) as client:
        single = await client.post(f"{API}/argentina/activity", json=_signup(cuit))
        batch = await client.post(
            f"{API}/batch", json={"events": [{"type": "activity", **_signup(cuit)}]}
        )
        assert await _hashes(client) == {}
    assert single.status_code == 422
    body = single.json()
    assert (body["error"], body["message"]) == ("invalid_request", "invalid fields: cuit")
    (problem,) = body["fields"]
    assert (problem["field"], problem["type"]) == ("cuit", kind)
    assert reason in problem["reason"]
    (item,) = batch.json()["results"]
    assert (item["status"], item["errors"][0]["field"]) == (422, "events.0.cuit")
    assert item["errors"][0]["reason"] == problem["reason"]
    _no_digits(single.text + batch.text)


@pytest.mark.parametrize("activity", ["search", "booking", "client_signup", "provider_active"])
async def test_a_cuit_on_another_activity_is_refused(
    app_factory: Callable[..., Any], activity: str
) -> None:
    """Only a provider_signup carries a CUIT: elsewhere it is a 422 naming it, the number not."""
    async with app_factory(identity_hash_key=KEY) as client:
        answer = await client.post(
            f"{API}/argentina/activity", json=_signup(PERSON, activity=activity)
        )
        assert await _hashes(client) == {}
    assert answer.status_code == 422
    (problem,) = answer.json()["fields"]
    assert problem["field"] == "cuit"
    assert f"only a provider_signup carries a CUIT, not a {activity}" == problem["reason"]
    _no_digits(answer.text)


async def test_without_a_key_development_hashes_under_the_development_key(
    app_factory: Callable[..., Any],
) -> None:
    """No BARBERPRO_IDENTITY_HASH_KEY in development: the named development key is used."""
    signup = _signup(PERSON)
    async with app_factory(identity_hash_key=None) as client:
        answer = await client.post(f"{API}/argentina/activity", json=signup)
        assert answer.status_code == 202, answer.text
        hashes = await _hashes(client)
    assert hashes == {signup["event_id"]: _hmac(PERSON_DIGITS, DEVELOPMENT_IDENTITY_HASH_KEY)}
