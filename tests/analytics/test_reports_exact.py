"""Every figure of both analytics reports equals a plain-Python recomputation (reference.py).

A seeded launch-week stream (generate.py) goes through the HTTP API out of order, with
duplicates and late events; both reports are read for several ranges and compared, figure by
figure, with docs/ANALYTICS.md transcribed in reference.py. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barberpro.analytics import funnel_definition
from barberpro.simulator.run import ROUTES  # the clients' routes, one home
from tests.analytics import reference
from tests.analytics.generate import chunks, generate
from tests.analytics.reference import Reference, Span, parse_range

API = "/api/v1/analytics"
RANGES = [
    ("2026-10-12", "2026-10-12"),  # one whole ART day
    ("2026-10-08", "2026-10-14"),  # seven days, across a week boundary
    ("2026-10-09T10:37:00", "2026-10-16T21:13:00-03:00"),  # ART datetimes, minutes off the hour
    ("2026-10-13T02:07:30Z", "2026-10-13T23:41:00Z"),  # UTC datetimes: ART days overlap
    ("2026-10-01", "2026-10-31"),  # the whole stream
]


def _key(kind: str, body: dict[str, Any]) -> str:
    return body["session_id"] if kind == "session_start" else body["event_id"]


async def ingest(client: httpx.AsyncClient, sends: list[tuple[str, dict[str, Any]]]) -> None:
    """Send events in order (batches and single routes); each is stored once, then duplicate."""
    seen: set[str] = set()
    for how, items in chunks(sends, seed=len(sends)):
        if how == "single":
            ((kind, body),) = items
            answer = await client.post(ROUTES[kind], json=body)
            results = [answer.json() | {"status": answer.status_code}]
            if kind == "session_start" and answer.status_code == 201:
                typed = body.get("location", {}).get("province")
                # docs/API.md: a province not recognised is answered "unknown".
                known = reference.province_code(typed)
                assert answer.json()["province"] == (known or (typed and reference.UNKNOWN))
                assert answer.json()["referral_channel"] == reference.classify_referral(
                    body.get("referral", {})
                )
        else:
            events = [{"type": kind, **body} for kind, body in items]
            answer = await client.post(f"{API}/batch", json={"events": events})
            assert answer.status_code == 207, answer.text
            results = answer.json()["results"]
        for (kind, body), result in zip(items, results, strict=True):
            key = _key(kind, body)
            created = 201 if kind == "session_start" else 202
            expected = 200 if key in seen else created
            assert result["status"] == expected, (kind, body, result)
            assert result["duplicate"] is (key in seen), (kind, body, result)
            seen.add(key)


def _close(a: object, b: object) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Return every difference between the reference and the report, by path."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        found = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                found.append(f"{where}: missing")
            else:
                found += diff(value, actual[key], where)
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        order = _unordered_key(path)
        if order is not None:
            actual = sorted(actual, key=lambda row: tuple(str(row.get(k)) for k in order))
        found = []
        ids = [_ident(e) for e in expected], [_ident(a) for a in actual]
        if len(expected) != len(actual) and all(ids[0]) and all(ids[1]):
            # Rows with an identity (step, province, week...): pair them by it.
            missing = [i for i in ids[0] if i not in ids[1]]
            extra = [i for i in ids[1] if i not in ids[0]]
            found.append(f"{path}: missing {missing}, unexpected {extra}")
            where = {i: a for i, a in zip(ids[1], actual, strict=True)}
            pairs = [(e, where[i]) for e, i in zip(expected, ids[0], strict=True) if i in where]
        else:
            if len(expected) != len(actual):
                found.append(f"{path}: {len(actual)} items, expected {len(expected)}")
            pairs = list(zip(expected, actual, strict=False))
        for i, (e, a) in enumerate(pairs):
            found += diff(e, a, f"{path}[{_ident(e) or i}]")
        return found
    return [] if _close(expected, actual) else [f"{path}: expected {expected!r}, got {actual!r}"]


def _ident(row: Any) -> str:
    if not isinstance(row, dict):
        return ""
    for key in ("step", "value", "channel", "province", "provider_id", "cohort_week", "week"):
        if key in row:
            extra = f"/{row['city']}" if "city" in row else ""
            return f"{key}={row[key]}{extra}"
    return ""


def _unordered_key(path: str) -> tuple[str, ...] | None:
    plain = "".join(part.split("[")[0] + "." for part in path.split(".")).strip(".")
    for pattern, key in reference.UNORDERED.items():
        if pattern.endswith(".*") and plain.startswith(pattern[:-2] + "."):
            return key
        if plain.endswith(pattern):
            return key
    return None


def check_recommendations(expected: dict[str, Any], got: list[dict[str, Any]]) -> list[str]:
    """Return how the BI recommendations differ from what the reference says they must state."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for rec in got:
        by_kind.setdefault(rec["kind"], []).append(rec["evidence"])
    found: list[str] = []

    def only(kind: str) -> dict[str, Any] | None:
        recs = by_kind.get(kind, [])
        if len(recs) > 1:
            found.append(f"recommendations.{kind}: {len(recs)} of them, expected at most one")
        return recs[0] if recs else None

    leaks = {(e.get("breakdown"), e.get("value")): e for e in by_kind.get("funnel_leak", [])}
    if set(leaks) != set(expected["funnel_leak"]):
        found.append(
            f"recommendations.funnel_leak: scopes {sorted(map(str, expected['funnel_leak']))},"
            f" got {sorted(map(str, leaks))}"
        )
    for scope, leak in expected["funnel_leak"].items():
        found += diff(leak, leaks.get(scope, {}), f"recommendations.funnel_leak{scope}")
    under = {e.get("province"): e for e in by_kind.get("underserved_province", [])}
    found += diff(expected["underserved_province"], under, "recommendations.underserved")
    if set(under) != set(expected["underserved_province"]):
        found.append(
            f"recommendations.underserved: expected {sorted(expected['underserved_province'])},"
            f" got {sorted(map(str, under))}"
        )
    low = by_kind.get("installments_low_approval", [])
    if {e.get("installments") for e in low} != expected["installments_low_approval"]:
        wanted = sorted(expected["installments_low_approval"])
        found.append(
            f"recommendations.installments_low_approval: expected plans {wanted}, got {low}"
        )
    channels, evidence = expected["referral_channels"], only("referral_channels")
    if (channels is None) != (evidence is None):
        found.append(f"recommendations.referral_channels: expected {channels}, got {evidence}")
    elif channels is not None and evidence is not None:
        seen = {
            "best": (evidence.get("best") or {}).get("channel"),
            "worst": (evidence.get("worst") or {}).get("channel"),
            "significance": evidence.get("significance"),
        }
        found += diff(channels, seen, "recommendations.referral_channels")
    peaks, evidence = expected["peak_hours"], only("peak_hours")
    if (peaks is None) != (evidence is None):
        found.append(f"recommendations.peak_hours: expected {peaks}, got {evidence}")
    elif peaks is not None and evidence is not None:
        hours = [(h["hour"], h["payments"]) for h in evidence.get("hours", [])]
        if hours != peaks["hours"] or evidence.get("tied") is not peaks["tied"]:
            found.append(f"recommendations.peak_hours: expected {peaks}, got {evidence}")
    return found


async def reports(
    client: httpx.AsyncClient, start: str, end: str, **params: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the dashboard and the BI report of a range (``from``/``to`` as the API names)."""
    query = {"from": start, "to": end, **params}
    dash = await client.get(f"{API}/dashboard", params=query)
    assert dash.status_code == 200, dash.text
    bi = await client.get(f"{API}/business-intelligence", params=query)
    assert bi.status_code == 200, bi.text
    return dash.json(), bi.json()


def _range_header(span: Span) -> dict[str, str]:
    def iso(at: int) -> str:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=at)
        return moment.astimezone(reference.ART).isoformat()

    return {"from": iso(span.lo), "to": iso(span.hi)}


async def test_both_reports_match_the_reference_on_every_range(
    client: httpx.AsyncClient,
) -> None:
    """Dashboard and BI figures equal the reference for day, week, datetime and full ranges."""
    stream = generate()
    await ingest(client, stream.sends())
    ref = Reference(stream.bodies)
    now = reference.micros(datetime.now(UTC))
    problems: list[str] = []
    for start, end in RANGES:
        span = parse_range(start, end)
        dash, bi = await reports(client, start, end)
        label = f"[{start} .. {end}]"
        expected_dash = {"range": _range_header(span), **ref.dashboard(span, now=now)}
        expected_bi = {"range": _range_header(span), **ref.business_intelligence(span, now=now)}
        problems += [f"{label} dashboard {p}" for p in diff(expected_dash, dash)]
        problems += [f"{label} bi {p}" for p in diff(expected_bi, bi)]
        advice = check_recommendations(ref.recommendations(span), bi["recommendations"])
        problems += [f"{label} bi {p}" for p in advice]
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:150])


async def test_bi_options_cut_the_leaderboard_and_keep_one_breakdown(
    client: httpx.AsyncClient,
) -> None:
    """providers=N keeps the first N rows of the leaderboard; breakdown= keeps that one only."""
    stream = generate(seed=7, users=40, anonymous=20)
    await ingest(client, stream.sends())
    ref = Reference(stream.bodies)
    span = parse_range("2026-10-05", "2026-10-18")
    _, bi = await reports(client, "2026-10-05", "2026-10-18", providers=5, breakdown="device")
    now = reference.micros(datetime.now(UTC))
    expected = ref.business_intelligence(span, now=now, providers=5)
    assert diff(expected["providers"], bi["providers"], "providers") == []
    assert list(bi["funnel"]["breakdowns"]) == ["device"]
    wanted = expected["funnel"]["breakdowns"]["device"]
    assert diff(wanted, bi["funnel"]["breakdowns"]["device"], "funnel.breakdowns.device") == []
    # The overall steps and the referral channels' units come from the one breakdown tallied.
    assert diff(expected["funnel"]["steps"], bi["funnel"]["steps"], "funnel.steps") == []
    assert diff(expected["referrals"], bi["referrals"], "referrals") == []


async def test_to_bounds_the_range_of_both_reports(client: httpx.AsyncClient) -> None:
    """``from``/``to`` (the API's names) set both ends of the range the reports cover."""
    for start, end in RANGES:
        expected = _range_header(parse_range(start, end))
        for path in ("dashboard", "business-intelligence"):
            got = await client.get(f"{API}/{path}", params={"from": start, "to": end})
            assert got.status_code == 200, got.text
            header = got.json()["range"]
            assert {"from": header["from"], "to": header["to"]} == expected, (path, start, end)


async def test_active_sessions_are_those_seen_in_the_last_30_minutes(
    client: httpx.AsyncClient,
) -> None:
    """active_sessions counts sessions whose latest event is under 30 minutes old, any range."""
    now = datetime.now(UTC)

    def ago(minutes: float) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    def action(sid: str, minutes: float) -> tuple[str, dict[str, Any]]:
        body = {"event_id": str(uuid.uuid4()), "session_id": sid, "action": "open_app"}
        return "action", {**body, "timestamp": ago(minutes)}

    sent: list[tuple[str, dict[str, Any]]] = [
        ("session_start", {"session_id": "live-start", "timestamp": ago(5)}),
        ("session_start", {"session_id": "live-event", "timestamp": ago(120)}),
        action("live-event", 10),
        ("session_start", {"session_id": "idle", "timestamp": ago(50)}),
        action("idle", 40),
        action("live-implicit", 1),
        action("idle-implicit", 31),
    ]
    events = [{"type": kind, **body} for kind, body in sent]
    assert (await client.post(f"{API}/batch", json={"events": events})).status_code == 207
    span = parse_range("2026-10-01", "2026-10-02")
    expected = Reference(sent).engagement(span, now=reference.micros(now))["active_sessions"]
    assert expected == 3
    dash, bi = await reports(client, "2026-10-01", "2026-10-02")
    assert dash["engagement"]["active_sessions"] == expected
    assert bi["engagement"]["active_sessions"] == expected


# --- the funnel's matching rule alone ----------------------------------------------------------

MINUTE = 60 * reference.SECOND


@st.composite
def unit_steps(draw: Callable[..., Any], window: int, span: int) -> list[tuple[int, int]]:
    """One unit's (step, minute) events: journeys with steps near the window's end, and noise.

    A journey starts at t1 and puts each next step anywhere from t1 to just past the window,
    exactly on its bound (window - 1, window, window + 1 minutes after t1) or at the same
    minute as the previous step; then a few random events of any step.
    """
    events: list[tuple[int, int]] = []
    for _ in range(draw(st.integers(0, 2))):
        t1 = draw(st.integers(0, span))
        events.append((1, t1))
        for k in range(2, draw(st.integers(1, 5)) + 1):
            bound = st.sampled_from([t1 + window - 1, t1 + window, t1 + window + 1])
            same = st.just(events[-1][1])
            events.append((k, draw(st.one_of(st.integers(t1, t1 + window + 5), bound, same))))
    noise = st.tuples(st.integers(1, 5), st.integers(0, span + window))
    events += draw(st.lists(noise, min_size=0 if events else 1, max_size=4))
    return events


@settings(max_examples=300, deadline=None)
@given(data=st.data(), window_hours=st.sampled_from([1, 6, 24]))
def test_funnel_chains_match_the_brute_force(data: st.DataObject, window_hours: int) -> None:
    """funnel_definition.chains gives, per step-1 event, the greedy chain reaching furthest."""
    events = data.draw(unit_steps(window_hours * 60, 2 * 24 * 60))
    window = window_hours * 60 * MINUTE
    evs = [(step, minute * MINUTE, f"e{i:02d}") for i, (step, minute) in enumerate(events)]
    got = funnel_definition.chains(
        [funnel_definition.StepEvent(eid, step, at) for step, at, eid in evs], window_us=window
    )
    expected = sorted((t, eid) for step, t, eid in evs if step == 1)
    assert [(c.times[0], c.event_id) for c in got] == expected
    for chain in got:
        assert chain.times == reference.funnel_chain(evs, chain.times[0], window)
        assert chain.reach == reference.funnel_reach(evs, chain.times[0], window)


_example = itertools.count()
EXAMPLE_BASE = datetime(2001, 1, 1, tzinfo=UTC)
WINDOW_HOURS = 6


@st.composite
def funnel_cases(draw: Callable[..., Any]) -> tuple[list[list[tuple[int, int]]], int, int]:
    """Units' step events (step, minute) over a day, and a range [lo, hi) in minutes."""
    units = draw(st.lists(unit_steps(WINDOW_HOURS * 60, 18 * 60), min_size=1, max_size=4))
    lo = draw(st.integers(0, 20 * 60))
    hi = draw(st.integers(lo + 1, 24 * 60 + 1))
    return units, lo, hi


@pytest.fixture
async def six_hour_client(app_factory: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose funnel window is BARBERPRO_FUNNEL_WINDOW_HOURS=6."""
    async with app_factory(funnel_window_hours=WINDOW_HOURS) as client:
        yield client


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=funnel_cases())
async def test_funnel_over_http_matches_the_reference(
    six_hour_client: httpx.AsyncClient, case: tuple[list[list[tuple[int, int]]], int, int]
) -> None:
    """Ordered steps, the window from step 1, furthest step, each unit once: as the reference."""
    client = six_hour_client
    units, lo, hi = case
    n = next(_example)
    # Each example lives ten days after the previous one, beyond any window or range.
    base = EXAMPLE_BASE + timedelta(days=10 * n)
    sent: list[tuple[str, dict[str, Any]]] = []
    for u, steps in enumerate(units):
        for i, (step, minute) in enumerate(steps):
            body: dict[str, Any] = {
                "event_id": f"00000000-0000-4000-8000-{n:06d}{u:02d}{i:04d}",
                "session_id": f"hs-{n}-{u}",
                "step": step,
                "timestamp": (base + timedelta(minutes=minute)).isoformat(),
            }
            if u % 2 == 0:
                body["user_id"] = f"hu-{n}-{u}"
            sent.append(("funnel", body))
    answer = await client.post(
        f"{API}/batch", json={"events": [{"type": k, **b} for k, b in sent[::-1]]}
    )
    assert answer.status_code == 207
    assert answer.json()["stored"] == len(sent)
    start = (base + timedelta(minutes=lo)).isoformat()
    end = (base + timedelta(minutes=hi)).isoformat()
    got = await client.get(f"{API}/business-intelligence", params={"from": start, "to": end})
    assert got.status_code == 200, got.text
    ref = Reference(sent, reference.Settings(window_hours=WINDOW_HOURS))
    expected = ref.funnel(parse_range(start, end), breakdowns=False)
    funnel = got.json()["funnel"]
    assert funnel["units"] == expected["units"]
    if expected["units"]:
        assert diff(expected["steps"], funnel["steps"], "funnel.steps") == []
