"""Provinces as people type them: known spellings normalise, the rest is stored unknown."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from barberpro.argentina import normalize_province
from barberpro.db import tables

API = "/api/v1/analytics"

SPELLINGS = {
    "Capital": "AR-C",
    "Capital Federal": "AR-C",
    "C.A.B.A.": "AR-C",
    "caba": "AR-C",
    "Cba": "AR-X",
    "cordoba": "AR-X",
    "Bs As": "AR-B",
    "Bs. As.": "AR-B",
    "Pcia de Bs As": "AR-B",
    "Prov. de Buenos Aires": "AR-B",
    "Mza": "AR-M",
    "Tucu": "AR-T",
    "Tucumán": "AR-T",
    "Stgo del Estero": "AR-G",
    "Sgo. del Estero": "AR-G",
    "Sta Fe": "AR-S",
    "Sta. Cruz": "AR-Z",
    "E. Ríos": "AR-E",
    "Ctes": "AR-W",
    "Nqn": "AR-Q",
    "Rio Negro": "AR-R",
    "TDF": "AR-V",
    "AR-C": "AR-C",
}


@pytest.mark.parametrize(("typed", "code"), sorted(SPELLINGS.items()))
def test_common_spellings_normalise(typed: str, code: str) -> None:
    """Each form people type names its province, whatever the case or the dots."""
    assert normalize_province(typed) == code
    assert normalize_province(f"  {typed.upper()} ") == code


async def test_a_typed_province_is_recognised(client: httpx.AsyncClient) -> None:
    """'Capital' is CABA: 201 with AR-C and no warning."""
    answer = await client.post(f"{API}/session/start", json={"location": {"province": "Capital"}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["province"] == "AR-C"
    assert "warnings" not in answer.json()


async def test_an_unknown_province_keeps_the_session_and_warns(
    client: httpx.AsyncClient,
) -> None:
    """'Capitl' is stored unknown with its text; the device and referral are kept."""
    answer = await client.post(
        f"{API}/session/start",
        json={
            "session_id": "s-typo",
            "location": {"province": "Capitl"},
            "device": {"type": "mobile"},
            "referral": {"source": "whatsapp"},
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["province"], body["referral_channel"]) == ("unknown", "whatsapp")
    (warning,) = body["warnings"]
    assert (warning["field"], warning["type"]) == ("location.province", "unknown_province")
    assert "Capitl" in warning["reason"]
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    s = tables.sessions
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(s.c.province, s.c.province_as_sent, s.c.device_type).where(
                    s.c.session_id == "s-typo"
                )
            )
        ).one()
    assert tuple(row) == (None, "Capitl", "mobile")


async def test_an_unknown_province_in_a_batch_warns_on_its_item(
    client: httpx.AsyncClient,
) -> None:
    """In a batch the warning is the item's own; the revenue event is stored."""
    revenue = {
        "type": "revenue",
        "payment_id": "p-typo",
        "amount": "100.00",
        "status": "approved",
        "payment_method": "visa",
        "payment_type": "credit_card",
        "province": "Narnia",
    }
    answer = await client.post(f"{API}/batch", json={"events": [revenue]})
    (item,) = answer.json()["results"]
    assert item["outcome"] == "stored"
    assert item["warnings"][0]["field"] == "province"
