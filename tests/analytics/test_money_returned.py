"""Commission is not earned on money returned: revenue and providers on one basis, by hand."""

from __future__ import annotations

from typing import Any

import httpx

API = "/api/v1/analytics"
DAY = "2026-11-20"  # ART; 12:00 ART is 15:00 UTC


def _payment(pid: str, status: str, amount: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "payment_id": pid,
        "status": status,
        "amount": amount,
        "payment_method": "visa",
        "payment_type": "credit_card",
        "timestamp": f"{at}-03:00",
        **extra,
    }


async def _send(client: httpx.AsyncClient, *payments: dict[str, Any]) -> None:
    for body in payments:
        answer = await client.post(f"{API}/revenue", json=body)
        assert answer.status_code == 202, answer.text


async def _report(client: httpx.AsyncClient, day: str = DAY) -> dict[str, Any]:
    answer = await client.get(f"{API}/business-intelligence", params={"from": day, "to": day})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _provider(report: dict[str, Any], provider: str) -> dict[str, Any]:
    return next(p for p in report["providers"] if p["provider_id"] == provider)


async def test_a_fully_refunded_payment_earns_nothing(client: httpx.AsyncClient) -> None:
    """Approved 17,723.33 with commission 1,772.33, then refunded whole: net 0, commission 0."""
    await _send(
        client,
        _payment(
            "p1", "approved", "17723.33", f"{DAY}T11:00:00", provider_id="b1", commission="1772.33"
        ),
        _payment("p1", "refunded", "17723.33", f"{DAY}T15:00:00", provider_id="b1"),
    )
    report = await _report(client)
    revenue = report["revenue"]
    assert revenue["gross_ars"] == 17723.33
    assert revenue["refunds_ars"] == 17723.33
    assert revenue["net_ars"] == 0
    assert revenue["commission_ars"] == 0
    barber = _provider(report, "b1")
    assert (barber["gross_ars"], barber["commission_ars"], barber["net_ars"]) == (17723.33, 0, 0)


async def test_each_return_takes_back_its_commission_once_at_its_own_time(
    client: httpx.AsyncClient,
) -> None:
    """By hand, with the default 10% commission rate:

    - p1 (b1) 10,000 approved the day before, refunded 4,000 today: today gross 0, refunds
      4,000, commission -1,000 (taken back today), net 0 - 4,000 + 1,000 = -3,000.
    - p2 (b1) 5,000 approved today, charged back 5,000 then refunded 5,000 later today: the
      chargeback is the first return, it alone takes back the 500; refunds 5,000 too (each
      measure counts its own first event).
    - p3 (b2) 2,500.50 approved today, kept: commission 250.05 (half up from 250.05).
    """
    before = "2026-11-19"
    await _send(
        client,
        _payment("p1", "approved", "10000", f"{before}T10:00:00", provider_id="b1"),
        _payment("p1", "refunded", "4000", f"{DAY}T09:00:00", provider_id="b1"),
        _payment("p2", "approved", "5000", f"{DAY}T10:00:00", provider_id="b1"),
        _payment("p2", "charged_back", "5000", f"{DAY}T12:00:00", provider_id="b1"),
        _payment("p2", "refunded", "5000", f"{DAY}T13:00:00", provider_id="b1"),
        _payment("p3", "approved", "2500.50", f"{DAY}T14:00:00", provider_id="b2"),
    )
    yesterday = await _report(client, before)
    assert yesterday["revenue"]["commission_ars"] == 1000
    assert _provider(yesterday, "b1")["net_ars"] == 9000

    revenue = (await _report(client))["revenue"]
    assert revenue["gross_ars"] == 7500.50
    assert revenue["refunds_ars"] == 9000
    assert revenue["chargebacks_ars"] == 5000
    assert revenue["net_ars"] == -6499.50  # 7,500.50 - 9,000 - 5,000
    assert revenue["commission_ars"] == -749.95  # 500 + 250.05 - 1,000 - 500

    report = await _report(client)
    b1, b2 = _provider(report, "b1"), _provider(report, "b2")
    assert (b1["gross_ars"], b1["commission_ars"]) == (5000, -1000)  # 500 - 1,000 - 500
    assert b1["net_ars"] == -8000  # 5,000 - 9,000 - 5,000 + 1,000
    assert (b2["gross_ars"], b2["commission_ars"], b2["net_ars"]) == (2500.50, 250.05, 2250.45)
