"""The plan is the seed's: same seed, same events; and it looks like an Argentine launch."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from barberpro.simulator import census
from barberpro.simulator.plan import live_plan
from barberpro.simulator.run import body_of
from barberpro.simulator.truth import Truth

START = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)


def _figures(seed: int, start: datetime, **options: object) -> dict[str, object]:
    plan = live_plan(seed, duration=60, rate=40, **options)  # type: ignore[arg-type]
    events = plan.placed(start)
    sent = [events[i] for i in plan.sent()]
    end = max(e.at for e in sent) + timedelta(milliseconds=1)
    return Truth(sent, plan.stream.channels, start, end).figures()


@pytest.mark.parametrize("mercadopago", [False, True])
def test_the_same_seed_sends_the_same_events(mercadopago: bool) -> None:
    """Ids, order, contents and instants (relative to the start) are the seed's."""
    one = live_plan(11, duration=30, rate=40, mercadopago=mercadopago)
    two = live_plan(11, duration=30, rate=40, mercadopago=mercadopago)
    assert one.sends == two.sends
    assert one.stream.events == two.stream.events
    other = live_plan(12, duration=30, rate=40, mercadopago=mercadopago)
    assert other.stream.events != one.stream.events
    later = START + timedelta(hours=5)
    first, second = one.placed(START), two.placed(later)
    assert [e.at - START for e in first] == [e.at - later for e in second]
    assert [body_of(e, i)["timestamp"][:10] for i, e in enumerate(first)][:3]


def test_the_same_seed_writes_the_same_figures_times_aside() -> None:
    """Placed three hours apart, only the hours of day of the revenue move."""
    early = _figures(5, START)
    late = _figures(5, START + timedelta(hours=3))
    keep = [f for f in early if not f.startswith("revenue.hourly_art.")]
    assert keep
    assert all(early[f] == late[f] for f in keep)
    assert early != _figures(6, START)


def test_the_plan_sends_rate_times_duration_events_on_an_even_schedule() -> None:
    plan = live_plan(3, duration=20, rate=50)
    assert len(plan.sends) == 1000
    assert [p.send for p in plan.sends[:3]] == [0.0, 0.02, 0.04]
    assert plan.sends[-1].send == pytest.approx(19.98)
    resent = [p for p in plan.sends if p.resend]
    assert 0.02 < len(resent) / len(plan.sends) < 0.12  # about 6% are sent twice
    firsts = {p.event: p.send for p in reversed(plan.sends)}
    assert all(firsts[p.event] < p.send for p in resent)  # a resend follows its first send


def test_the_traffic_looks_like_an_argentine_launch() -> None:
    """Provinces by the census, as typed; mostly Android mobiles; referrals as apps send them."""
    plan = live_plan(8, duration=120, rate=60)
    events = [plan.stream.events[i] for i in plan.sent()]
    starts = [
        e.body for e in events if e.kind == "session_start" and e.body["user_type"] == "client"
    ]
    typed = Counter((s["location"] or {}).get("province") for s in starts)
    by_code: Counter[str] = Counter()
    for text, n in typed.items():
        code = next((p.code for p in census.PROVINCES if text in p.typed), None)
        by_code[code or ("unknown" if text else "none")] += n
    assert by_code["AR-B"] > by_code["AR-X"] > by_code["AR-M"] > by_code["AR-V"]
    assert any(text in census.UNRECOGNISABLE for text in typed)
    assert {"Cba", "Bs As", "Capital Federal", "CABA"} & set(typed)
    devices = Counter((s["device"] or {}).get("type") for s in starts)
    assert 0.80 < devices["mobile"] / len(starts) < 0.95
    agents = [str(s["device"].get("user_agent")) for s in starts]
    assert any("Instagram" in a for a in agents)
    referrals = [s["referral"] for s in starts]
    assert any(
        "utm_source=whatsapp" in r.get("landing_url", "") and "referrer_url" not in r
        for r in referrals
    )
    assert any("l.wl.co" in r.get("referrer_url", "") for r in referrals)
    assert any(
        "l.instagram.com" in r.get("referrer_url", "") and "fbclid" in r.get("landing_url", "")
        for r in referrals
    )
    kinds = Counter(e.kind for e in events)
    assert set(kinds) == {
        "session_start",
        "action",
        "funnel",
        "provider_metrics",
        "revenue",
        "activity",
    }
    payments = [e.body for e in events if e.kind == "revenue"]
    assert {p["status"] for p in payments} >= {"approved", "rejected", "refunded"}
    assert all(p["installments"] == 1 for p in payments if p["payment_type"] != "credit_card")
    provider_events = Counter(e.body["event"] for e in events if e.kind == "provider_metrics")
    assert set(provider_events) == {"booking_completed", "booking_cancelled", "no_show", "rating"}


def test_mercadopago_payments_carry_numeric_ids_and_their_session() -> None:
    plan = live_plan(4, duration=60, rate=40, mercadopago=True)
    payments = [e.body for e in plan.stream.events if e.kind == "revenue"]
    assert payments
    assert all(p["payment_id"].isdigit() for p in payments)
    assert all(p.get("commission") is not None for p in payments)


def test_a_plan_needs_a_positive_duration_and_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        live_plan(1, duration=0, rate=10)
