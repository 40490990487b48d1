"""Route caching through the API: X-Cache and Age, on and off, auth first, stale on failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from barberpro.analytics import reports
from barberpro.optimization import middleware
from barberpro.optimization.cache import CACHEABLE, RouteCache, key_of, normalized_query
from tests.optimization.conftest import (
    BI,
    DASHBOARD,
    INGEST,
    LAUNCH,
    OPT,
    Slowed,
    actions,
)


def test_the_key_normalises_the_query_and_separates_roles() -> None:
    """Parameter order does not matter; the route, the values and the role do."""
    assert normalized_query(b"b=2&a=1") == normalized_query(b"a=1&b=2") == "a=1&b=2"
    same = key_of(BI, b"start=2001-01-01&end=2001-01-02", "admin")
    assert same == key_of(BI, b"end=2001-01-02&start=2001-01-01", "admin")
    assert same != key_of(BI, b"start=2001-01-01&end=2001-01-03", "admin")
    assert same != key_of(DASHBOARD, b"start=2001-01-01&end=2001-01-02", "admin")
    assert same != key_of(BI, b"start=2001-01-01&end=2001-01-02", "ingest")


async def test_put_turns_a_route_cache_on_miss_then_hit_and_delete_turns_it_off(
    opt_app: Callable[..., Any], slowed: Slowed
) -> None:
    """PUT: the first GET is a MISS (Age 0), the next a HIT with an Age and the same body,
    without computing again; the same query in another order is a HIT too. DELETE: no X-Cache
    header, computed each time. Both changes are in the audit log."""
    async with opt_app() as client:
        before = await client.get(DASHBOARD)
        assert before.status_code == 200
        assert "x-cache" not in before.headers

        on = await client.put(f"{OPT}/cache{DASHBOARD}", json={"reason": "launch day"})
        assert on.status_code == 200, on.text
        assert on.json() | {"since": None} == {
            "route": DASHBOARD,
            "enabled": True,
            "since": None,
            "by": "api",
            "reason": "launch day",
        }
        params = {"start": "2001-01-01", "end": "2001-01-08"}
        calls = slowed.calls["dashboard"]
        miss = await client.get(DASHBOARD, params=params)
        assert (miss.status_code, miss.headers["x-cache"], miss.headers["age"]) == (
            200,
            "MISS",
            "0",
        )
        hit = await client.get(DASHBOARD, params=params)
        assert hit.status_code == 200
        assert hit.headers["x-cache"] == "HIT"
        assert int(hit.headers["age"]) >= 0
        assert hit.content == miss.content
        assert hit.headers["content-type"] == miss.headers["content-type"]
        assert int(hit.headers["content-length"]) == len(hit.content)
        reordered = await client.get(f"{DASHBOARD}?end=2001-01-08&start=2001-01-01")
        assert reordered.headers["x-cache"] == "HIT"
        assert slowed.calls["dashboard"] == calls + 1  # computed once for the three
        other = await client.get(DASHBOARD, params={**params, "end": "2001-01-09"})
        assert other.headers["x-cache"] == "MISS"

        status = (await client.get(f"{OPT}/status")).json()
        assert status["caches"][DASHBOARD]["on"] is True
        assert status["caches"][BI]["on"] is False

        off = await client.delete(f"{OPT}/cache{DASHBOARD}")
        assert off.status_code == 200
        assert off.json()["enabled"] is False
        calls = slowed.calls["dashboard"]
        for _ in range(2):
            plain = await client.get(DASHBOARD, params=params)
            assert plain.status_code == 200
            assert "x-cache" not in plain.headers
            assert "age" not in plain.headers
        assert slowed.calls["dashboard"] == calls + 2

        logged = await actions(client, kind="route_cache")
        assert [(a["move"], a["decided_by"], a["state"]) for a in logged] == [
            ("disable", "api", "done"),
            ("enable", "api", "done"),
        ]


async def test_a_cached_route_still_answers_401_and_403_without_the_admin_token(
    opt_app: Callable[..., Any],
) -> None:
    """With a stored answer, a request without a token is 401 and one with the ingest token
    403: never the cached body, never an X-Cache header."""
    async with opt_app() as client:
        assert (await client.put(f"{OPT}/cache{BI}")).status_code == 200
        first = await client.get(BI)
        assert first.headers["x-cache"] == "MISS"
        assert (await client.get(BI)).headers["x-cache"] == "HIT"
        anonymous = await client.get(BI, headers={"Authorization": ""})
        assert anonymous.status_code == 401
        assert anonymous.json()["error"] == "unauthorized"
        assert "x-cache" not in anonymous.headers
        wrong = await client.get(BI, headers={"Authorization": f"Bearer {INGEST}"})
        assert wrong.status_code == 403
        assert "x-cache" not in wrong.headers
        assert first.content not in (anonymous.content, wrong.content)


async def test_a_route_that_is_not_cacheable_is_404_naming_route(
    opt_app: Callable[..., Any],
) -> None:
    """PUT and DELETE on any other path: 404 with the field ``route`` and the cacheable list."""
    async with opt_app() as client:
        for method in ("PUT", "DELETE"):
            answer = await client.request(method, f"{OPT}/cache/api/v1/monitoring/health")
            assert answer.status_code == 404, answer.text
            body = answer.json()
            assert body["error"] == "not_cacheable"
            assert [f["field"] for f in body["fields"]] == ["route"]
            for route in CACHEABLE:
                assert route in body["message"]
        assert (await client.get(f"{OPT}/status")).json()["caches"].keys() == CACHEABLE


async def test_the_stale_answer_is_served_when_recomputing_fails(
    opt_app: Callable[..., Any], slowed: Slowed
) -> None:
    """An expired answer is recomputed; when that raises, the last answer goes out as STALE
    (the failure counted in the error groups); once it works again, a MISS."""
    async with opt_app() as client:
        cache: RouteCache = client.app.state.services.optimization.cache  # type: ignore[attr-defined]
        cache.min_ttl_s = cache.max_ttl_s = 0.05  # answers expire after 50 ms, kept 300 s more
        assert (await client.put(f"{OPT}/cache{DASHBOARD}")).status_code == 200
        miss = await client.get(DASHBOARD)
        assert miss.headers["x-cache"] == "MISS"
        await asyncio.sleep(0.1)
        slowed.failing.add("dashboard")
        for _ in range(2):
            stale = await client.get(DASHBOARD)
            assert (stale.status_code, stale.headers["x-cache"]) == (200, "STALE")
            assert stale.content == miss.content
        groups = (await client.get(f"{OPT}/errors")).json()["groups"]
        assert [(g["route"], g["exception"], g["count"]) for g in groups] == [
            (DASHBOARD, "RuntimeError", 2)
        ]
        slowed.failing.clear()
        again = await client.get(DASHBOARD)
        assert (again.status_code, again.headers["x-cache"]) == (200, "MISS")


async def test_without_a_stored_answer_a_failure_is_a_500_not_a_stale(
    opt_app: Callable[..., Any], slowed: Slowed
) -> None:
    """Nothing to fall back on: the failure is the answer (500), and nothing is stored."""
    async with opt_app() as client:
        assert (await client.put(f"{OPT}/cache{LAUNCH}")).status_code == 200
        slowed.failing.add("business_intelligence")
        transport = httpx.ASGITransport(app=client.app, raise_app_exceptions=False)  # type: ignore[attr-defined]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=dict(client.headers)
        ) as lenient:
            failed = await lenient.get(LAUNCH)
        assert failed.status_code == 500
        assert failed.headers.get("x-cache") != "STALE"
        slowed.failing.clear()
        assert (await client.get(LAUNCH)).headers["x-cache"] == "MISS"


async def test_concurrent_misses_compute_once(opt_app: Callable[..., Any], slowed: Slowed) -> None:
    """Ten simultaneous first requests: one computes under the lock, the others wait for its
    answer (HIT) instead of stampeding."""
    async with opt_app() as client:
        assert (await client.put(f"{OPT}/cache{DASHBOARD}")).status_code == 200
        slowed.delay_s["dashboard"] = 0.2
        calls = slowed.calls["dashboard"]
        answers = await asyncio.gather(*(client.get(DASHBOARD) for _ in range(10)))
        assert {a.status_code for a in answers} == {200}
        assert sorted(a.headers["x-cache"] for a in answers) == ["HIT"] * 9 + ["MISS"]
        assert slowed.calls["dashboard"] == calls + 1
        assert len({a.content for a in answers}) == 1


async def test_a_caller_that_gave_up_waiting_leaves_the_computing_callers_lock(
    opt_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A computes slowly under the lock; B gives up waiting for it and computes itself. B
    must not release A's lock (the memory store's unlock ignores the owner): later callers
    still wait for A instead of stampeding."""
    monkeypatch.setattr(middleware, "WAIT_FOR_PEER_S", 0.05)
    original = reports.dashboard
    delays = iter([1.0])
    computing = asyncio.Event()

    async def dashboard(*args: Any, **kwargs: Any) -> Any:
        computing.set()  # under the lock by now
        await asyncio.sleep(next(delays, 0.0))  # the first call is slow, the others not
        return await original(*args, **kwargs)

    monkeypatch.setattr(reports, "dashboard", dashboard)
    async with opt_app() as client:
        cache: RouteCache = client.app.state.services.optimization.cache  # type: ignore[attr-defined]
        lock = f"{key_of(DASHBOARD, b'', 'admin')}:lock"
        assert (await client.put(f"{OPT}/cache{DASHBOARD}")).status_code == 200
        first = asyncio.create_task(client.get(DASHBOARD))
        await asyncio.wait_for(computing.wait(), 10)
        assert await cache.store.is_locked(lock)
        second = await client.get(DASHBOARD)
        assert (second.status_code, second.headers["x-cache"]) == (200, "MISS")
        assert await cache.store.is_locked(lock)  # still the first caller's
        assert (await first).headers["x-cache"] == "MISS"
        assert not await cache.store.is_locked(lock)
