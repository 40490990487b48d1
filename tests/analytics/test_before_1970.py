"""Events before 1970 (BARBERPRO_MAX_PAST_DAYS raised) land in their own buckets, both databases.

Stored times are microseconds since the epoch, so such an event's time is negative; every rollup
buckets it by floor division (the writer in Python, the triggers in SQL), never towards zero.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from barberpro.db import tables

API = "/api/v1/analytics"
# 20:30 ART on 31 December 1969: UTC hour -1 (23:00-24:00 UTC), ART day -1, ART week 0.
AT = "1969-12-31T23:30:00Z"
HOUR, DAY, WEEK = -1, -1, 0


def _at(minutes: int) -> str:
    """The time ``minutes`` (at most 29) after AT, still in the same hour and day."""
    return f"1969-12-31T23:{30 + minutes:02d}:00Z"


async def _send(client: httpx.AsyncClient) -> None:
    """Send a session, an action, activity, a provider event, the funnel and a payment at AT."""
    sends: list[tuple[str, dict[str, Any]]] = [
        (
            "/session/start",
            {
                "session_id": "s-1",
                "user_id": "c-1",
                "device": {"type": "mobile"},
                "location": {"province": "Córdoba"},
                "timestamp": AT,
            },
        ),
        ("/action", {"session_id": "s-1", "action": "open_map", "timestamp": AT}),
        ("/argentina/activity", {"province": "AR-X", "activity": "search", "timestamp": AT}),
        (
            "/provider/metrics",
            {
                "provider_id": "p-1",
                "event": "booking_completed",
                "province": "AR-X",
                "timestamp": AT,
            },
        ),
        *(
            ("/funnel", {"session_id": "s-1", "user_id": "c-1", "step": k, "timestamp": _at(k)})
            for k in range(1, 6)
        ),
        (
            "/revenue",
            {
                "payment_id": "mp-1",
                "user_id": "c-1",
                "provider_id": "p-1",
                "amount": "1000.00",
                "status": "approved",
                "payment_method": "visa",
                "payment_type": "credit_card",
                "province": "AR-X",
                "timestamp": _at(6),
            },
        ),
    ]
    for route, body in sends:
        answer = await client.post(API + route, json=body)
        assert answer.status_code in (201, 202), answer.text


@pytest.fixture
async def client(app_factory: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """An app that takes events up to 100 years old (the default refuses 400 days back)."""
    async with app_factory(max_past_days=36_500) as found:
        yield found


async def _column(client: httpx.AsyncClient, column: Any) -> set[Any]:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        return set((await conn.execute(select(column).distinct())).scalars().all())


async def test_events_before_1970_land_in_their_own_buckets(client: httpx.AsyncClient) -> None:
    """Every rollup files an event of 23:30 UTC on 31 December 1969 under hour -1, ART day -1
    and ART week 0, as the writer's floor division gives, on both databases."""
    await _send(client)
    t = tables
    for column in (
        t.action_hourly.c.hour,
        t.activity_hourly.c.hour,
        t.provider_hourly.c.hour,
        t.payment_hours.c.hour,
    ):
        assert await _column(client, column) == {HOUR}, column
    for column in (
        t.session_days.c.day,
        t.client_days.c.day,
        t.client_days.c.first_day,
        t.funnel_days.c.day,
        t.provider_days.c.day,
    ):
        assert await _column(client, column) == {DAY}, column
    assert await _column(client, t.client_weeks.c.week) == {WEEK}
    assert await _column(client, t.client_cohorts.c.cohort_week) == {WEEK}


async def test_reports_before_1970_read_those_buckets(client: httpx.AsyncClient) -> None:
    """A whole hour and a whole ART day before 1970, read from the rollups, hold the events."""
    await _send(client)
    hour = await client.get(
        f"{API}/dashboard", params={"from": "1969-12-31T23:00:00Z", "to": "1970-01-01T00:00:00Z"}
    )
    assert hour.status_code == 200, hour.text
    revenue = hour.json()["revenue"]
    assert (revenue["gross_ars"], revenue["payments_approved"]) == (1000.0, 1)
    assert revenue["hourly_art"][20]["payments"] == 1  # 23:00 UTC is 20:00 in ART
    day = await client.get(
        f"{API}/business-intelligence", params={"from": "1969-12-31", "to": "1969-12-31"}
    )
    assert day.status_code == 200, day.text
    report = day.json()
    assert report["engagement"]["sessions"] == 1
    assert report["engagement"]["actions"] == 1
    assert [s["units"] for s in report["funnel"]["steps"]] == [1, 1, 1, 1, 1]
    assert report["providers"][0]["peak_hours_art"] == [20]
    assert report["retention"]["cohorts"][0]["clients"] == 1
    # Within one hour: read from the raw rows, bucketed by the query itself.
    minutes = await client.get(
        f"{API}/business-intelligence",
        params={"from": "1969-12-31T23:10:00Z", "to": "1969-12-31T23:50:00Z"},
    )
    assert minutes.status_code == 200, minutes.text
    partial = minutes.json()
    assert partial["providers"][0]["peak_hours_art"] == [20]
    assert partial["revenue"]["hourly_art"][20]["payments"] == 1
