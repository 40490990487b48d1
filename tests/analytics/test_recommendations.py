"""The BI recommendations on hand-built launch days, through the HTTP API (SQLite, PostgreSQL).

Each test rebuilds one thing seen on the trial launch: a channel recommended on one conversion
of difference, peak hours that hid hours tied with them, one underserved province named when
several were, and a province's funnel leak lost in the overall one.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from pydantic import TypeAdapter

from barberpro.analytics.answers import BusinessIntelligence
from tests.analytics.test_reports_exact import API, ingest

ART = timezone(timedelta(hours=-3))
MONDAY = datetime(2026, 3, 2, tzinfo=ART)
Send = tuple[str, dict[str, Any]]


class Day:
    """Events of one ART day, built by hand, each at its own instant."""

    def __init__(self, offset: int) -> None:
        self.start = MONDAY + timedelta(days=offset)
        self.sends: list[Send] = []
        self.ids = itertools.count(1)
        self.second = itertools.count()

    @property
    def date(self) -> str:
        """Return the day as the reports' ``from``/``to``."""
        return self.start.date().isoformat()

    def _at(self, hour: int | None = None) -> str:
        base = self.start + timedelta(hours=hour) if hour is not None else self.start
        return (base + timedelta(seconds=next(self.second))).isoformat()

    def _event(self, kind: str, body: dict[str, Any], hour: int | None = None) -> None:
        stamped = {"event_id": str(uuid.uuid4()), "timestamp": self._at(hour), **body}
        self.sends.append((kind, stamped))

    def units(
        self, n: int, *, steps: int, province: str = "AR-B", source: str | None = None
    ) -> None:
        """Add ``n`` units (a session each) going through the funnel's first ``steps`` steps."""
        for _ in range(n):
            sid = f"s-{self.date}-{next(self.ids)}"
            start: dict[str, Any] = {
                "session_id": sid,
                "device": {"type": "mobile"},
                "location": {"province": province},
                "referral": {"source": source} if source else {},
                "timestamp": self._at(9),
            }
            self.sends.append(("session_start", start))
            for step in range(1, steps + 1):
                self._event("funnel", {"session_id": sid, "step": step}, hour=9)

    def payments(self, hour: int, n: int) -> None:
        """Add ``n`` payments approved at the ART hour ``hour``."""
        for _ in range(n):
            body = {
                "payment_id": f"mp-{self.date}-{next(self.ids)}",
                "amount": "1000.00",
                "status": "approved",
                "payment_method": "visa",
                "payment_type": "credit_card",
            }
            self._event("revenue", body, hour=hour)

    def demand(self, province: str, *, searches: int, bookings: int = 0) -> None:
        """Add searches and bookings in a province."""
        for kind, count in (("search", searches), ("booking", bookings)):
            if count:
                body = {"province": province, "activity": kind, "count": count}
                self._event("activity", body, hour=12)

    def barbers(self, province: str, n: int) -> None:
        """Add ``n`` barbers active in a province (a completed booking each)."""
        for _ in range(n):
            body = {"provider_id": f"pr-{province}-{next(self.ids)}", "province": province}
            self._event("provider_metrics", body | {"event": "booking_completed"}, hour=15)


async def recommendations(client: httpx.AsyncClient, *days: Day) -> list[list[dict[str, Any]]]:
    """Send the days' events, then return each day's recommendations (answers fit the model)."""
    await ingest(client, [send for day in days for send in day.sends])
    found = []
    for day in days:
        query = {"from": day.date, "to": day.date}
        answer = await client.get(f"{API}/business-intelligence", params=query)
        assert answer.status_code == 200, answer.text
        TypeAdapter(BusinessIntelligence).validate_json(answer.content)
        found.append(answer.json()["recommendations"])
    return found


def of_kind(recs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Return the recommendations of one kind, in the report's order."""
    return [r for r in recs if r["kind"] == kind]


async def test_channels_one_conversion_apart_are_not_ranked(client: httpx.AsyncClient) -> None:
    """7/26 against 6/25 recommends no channel; 6/20 against 0/20 does, with Fisher's p."""
    close, apart = Day(0), Day(1)
    close.units(7, steps=5, source="instagram")
    close.units(19, steps=1, source="instagram")
    close.units(6, steps=5, source="facebook")
    close.units(19, steps=1, source="facebook")
    apart.units(6, steps=5, source="instagram")
    apart.units(14, steps=2, source="instagram")
    apart.units(20, steps=3, source="google")
    close_recs, apart_recs = await recommendations(client, close, apart)
    assert of_kind(close_recs, "referral_channels") == []
    (rec,) = of_kind(apart_recs, "referral_channels")
    evidence = rec["evidence"]
    assert (evidence["best"]["channel"], evidence["best"]["units_converted"]) == ("instagram", 6)
    assert (evidence["best"]["units"], evidence["worst"]["units"]) == (20, 20)
    assert (evidence["worst"]["channel"], evidence["worst"]["units_converted"]) == ("google", 0)
    assert evidence["significance"] == {"test": "fisher_exact", "p_value": 0.0202, "alpha": 0.05}
    assert evidence["min_units"] == 20
    assert "6 of 20 units (30.0%) against 0 of 20 (0.0%)" in rec["message"]
    assert "Fisher's exact test, p = 0.0202" in rec["message"]


async def test_peak_hours_name_every_tied_hour(client: httpx.AsyncClient) -> None:
    """Eight hours tied at 3 payments are all named as tied; a tie at the third is kept whole."""
    flat, cut = Day(2), Day(3)
    tied = [10, 13, 16, 18, 19, 20, 21, 22]
    for hour in tied:
        flat.payments(hour, 3)
    flat.payments(9, 1)
    flat.payments(12, 2)
    cut.payments(18, 5)
    cut.payments(19, 4)
    for hour in (11, 20, 22):
        cut.payments(hour, 2)
    cut.payments(8, 1)
    flat_recs, cut_recs = await recommendations(client, flat, cut)
    (flat_peak,) = of_kind(flat_recs, "peak_hours")
    assert [(h["hour"], h["payments"]) for h in flat_peak["evidence"]["hours"]] == [
        (hour, 3) for hour in tied
    ]
    assert flat_peak["evidence"]["tied"] is True
    assert "8 hours tied at 3 payments each" in flat_peak["message"]
    assert all(f"{hour:02d}:00" in flat_peak["message"] for hour in tied)
    (cut_peak,) = of_kind(cut_recs, "peak_hours")
    listed = [(h["hour"], h["payments"]) for h in cut_peak["evidence"]["hours"]]
    assert listed == [(18, 5), (19, 4), (11, 2), (20, 2), (22, 2)]
    assert "3 hours tied at 2 payments each: 11:00, 20:00 and 22:00" in cut_peak["message"]


async def test_every_underserved_province_is_ranked(client: httpx.AsyncClient) -> None:
    """Neuquén (no barber) first, then CABA at 155 for 2 barbers; the well-served are left out."""
    day = Day(4)
    day.demand("AR-C", searches=120, bookings=35)
    day.barbers("AR-C", 2)
    day.demand("AR-Q", searches=40)
    day.demand("AR-B", searches=50, bookings=10)
    day.barbers("AR-B", 6)
    day.demand("AR-X", searches=30)
    day.barbers("AR-X", 3)
    day.demand("AR-A", searches=10)  # under BARBERPRO_MARKET_MIN_DEMAND (20)
    (recs,) = await recommendations(client, day)
    under = of_kind(recs, "underserved_province")
    assert [r["evidence"]["province"] for r in under] == ["AR-Q", "AR-C"]
    assert [r["evidence"]["rank"] for r in under] == [1, 2]
    caba = under[1]["evidence"]
    assert (caba["demand"], caba["active_providers"], caba["demand_per_provider"]) == (155, 2, 77.5)
    # (155 + 60 + 30) searches and bookings for (2 + 6 + 3) barbers.
    assert caba["benchmark_demand_per_provider"] == round(245 / 11, 4)
    assert caba["provinces_ranked"] == 2
    assert "155 searches and bookings for 2 active barbers, 77.5 per barber" in under[1]["message"]
    assert "no active barber" in under[0]["message"]


async def test_funnel_leaks_are_found_per_province(client: httpx.AsyncClient) -> None:
    """CABA's 15 units that searched and never booked get their own leak, with its counts."""
    day = Day(5)
    day.units(15, steps=3, province="AR-C")
    day.units(30, steps=1, province="AR-B")
    day.units(10, steps=5, province="AR-B")
    day.units(5, steps=1, province="AR-M")  # under MIN_LEAK_UNITS: no leak of its own
    (recs,) = await recommendations(client, day)
    leaks = {
        (r["evidence"].get("breakdown"), r["evidence"].get("value")): r
        for r in of_kind(recs, "funnel_leak")
    }
    assert set(leaks) == {(None, None), ("province", "AR-B"), ("province", "AR-C")}
    overall = leaks[None, None]["evidence"]
    assert (overall["to_step"], overall["units_before"], overall["drop_off"]) == (
        "provider_view",
        60,
        35,
    )
    caba = leaks["province", "AR-C"]
    assert {k: v for k, v in caba["evidence"].items() if k != "name"} == {
        "breakdown": "province",
        "value": "AR-C",
        "units": 15,
        "min_units": 10,
        "from_step": "slot_selected",
        "to_step": "booking_created",
        "units_before": 15,
        "units_after": 0,
        "drop_off": 15,
        "drop_off_rate": 1.0,
    }
    assert (
        "of 15 units that searched, 15 reached slot_selected and 0 booking_created"
        in (caba["message"])
    )
