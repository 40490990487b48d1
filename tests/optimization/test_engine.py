"""The engine end to end, in process: a cache that helps is kept, one that does not is rolled
back and cools down; dry run records and touches nothing; status and the audit log's shapes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from tests.optimization.conftest import BI, DASHBOARD, OPT, Slowed, actions, wait_for

# The engine at test speed: a round every 0.5 s over the 10 s window (one monitoring slot),
# actions judged 2 s after a full window; no emergency from the slowed routes' p95.
FAST = {
    "optimization_enabled": True,
    "optimization_interval_s": 0.5,
    "optimization_window_s": 10,
    "optimization_settle_s": 2,
    "alert_rules": '{"api_p95_critical": {"threshold": 60000}}',
}
SLOW_S = 0.2  # over the 150 ms p95 warning: the engine caches such a route


@contextlib.asynccontextmanager
async def traffic(
    client: httpx.AsyncClient, path: str, *, senders: int = 4, distinct: bool = False
) -> AsyncIterator[list[int]]:
    """GET ``path`` back to back from ``senders`` callers (each query new when ``distinct``,
    so no lookup can hit) until the block ends; yields the status codes seen."""
    stop = asyncio.Event()
    seen: list[int] = []
    nonce = itertools.count()

    async def send() -> None:
        while not stop.is_set():
            params = {"nonce": str(next(nonce))} if distinct else None
            seen.append((await client.get(path, params=params)).status_code)
            await asyncio.sleep(0.02)

    tasks = [asyncio.create_task(send()) for _ in range(senders)]
    try:
        yield seen
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def _judged(client: httpx.AsyncClient, route: str) -> dict[str, Any] | None:
    for action in await actions(client, kind="route_cache"):
        if action["target"] == route and action["state"] in ("kept", "rolled_back"):
            return action
    return None


async def test_a_cache_that_helps_is_kept_and_one_that_does_not_is_rolled_back(
    opt_app: Callable[..., Any], slowed: Slowed
) -> None:
    """Both analytics reports slowed to 200 ms (of sleep: so that the cache coming on for one
    does not speed the other up by freeing the event loop). The dashboard is asked the same
    thing each time: the engine turns its cache on, its p95 falls far under the one measured
    before, and the action is judged kept. Business intelligence is asked with a new query
    each time: its cache is turned on too, but every lookup misses, the p95 does not move, and
    the action is rolled back (cache off again) with a cooldown during which the engine leaves
    it off."""
    async with opt_app(**FAST) as client:
        for path in (DASHBOARD, BI):  # warm up at full speed: first answers are the slowest
            for _ in range(3):
                assert (await client.get(path)).status_code == 200
        slowed.reuse = True  # each answer costs its 200 ms sleep, whatever else runs
        slowed.delay_s.update(dashboard=SLOW_S, business_intelligence=SLOW_S)
        async with (
            traffic(client, DASHBOARD) as dashboard_codes,
            traffic(client, BI, distinct=True) as bi_codes,
        ):
            kept = await wait_for(
                lambda: _judged(client, DASHBOARD), within_s=40, what="the dashboard's verdict"
            )
            rolled = await wait_for(
                lambda: _judged(client, BI), within_s=20, what="business intelligence's verdict"
            )
            await asyncio.sleep(1.5)  # three more rounds inside the cooldown
            status = (await client.get(f"{OPT}/status")).json()
            logged = await actions(client, kind="route_cache")
        assert set(dashboard_codes) == set(bi_codes) == {200}

    # The dashboard: on for its p95, kept on a p95 far under the one before.
    assert (kept["move"], kept["state"], kept["dry_run"]) == ("enable", "kept", False)
    before, after = kept["trigger"]["p95_ms"], kept["after"]["p95_ms"]
    assert before > 150
    assert after < before * 0.7, (before, after)
    assert kept["trigger"]["requests"] >= 20
    assert kept["after"]["requests"] >= 20
    assert kept["after"]["hits"] > 0
    assert kept["change"] < -0.3
    assert "better" in kept["verdict_reason"]
    assert kept["cooldown_until"] is None
    assert status["caches"][DASHBOARD]["enabled"] is True

    # Business intelligence: on, no hit, the p95 as before: rolled back, cooling down.
    assert (rolled["move"], rolled["state"]) == ("enable", "rolled_back"), (
        rolled["trigger"],
        rolled["after"],
        rolled["verdict_reason"],
    )
    assert rolled["trigger"]["p95_ms"] > 150
    assert rolled["after"]["hits"] == 0
    assert rolled["change"] > -0.1
    assert rolled["cooldown_until"] is not None
    assert rolled["cooldown_until"] > rolled["judged_at"]
    assert status["caches"][BI]["enabled"] is False
    assert status["caches"][BI]["reason"].startswith("rolled back")
    bi_moves = [a["move"] for a in logged if a["target"] == BI]
    assert bi_moves == ["enable"]  # not retried within the cooldown
    assert status["leading"] is True
    assert status["rounds"] > 10
    assert status["last_error"] is None


async def test_dry_run_records_the_decision_and_changes_nothing(
    opt_app: Callable[..., Any], slowed: Slowed
) -> None:
    """BARBERPRO_OPTIMIZATION_DRY_RUN=true: a slow route's enable is recorded (dry_run true,
    state "recorded", nothing to judge later) and its cache stays off."""
    async with opt_app(**FAST, optimization_dry_run=True) as client:
        slowed.delay_s["dashboard"] = SLOW_S
        async with traffic(client, DASHBOARD):

            async def recorded() -> list[dict[str, Any]]:
                return [a for a in await actions(client, kind="route_cache") if a["dry_run"]]

            found = await wait_for(recorded, within_s=30, what="a dry-run decision")
            status = (await client.get(f"{OPT}/status")).json()
            answer = await client.get(DASHBOARD)
        assert "x-cache" not in answer.headers
    action = found[-1]
    assert (action["target"], action["move"], action["state"]) == (DASHBOARD, "enable", "recorded")
    assert action["settle_at"] is None
    assert action["judged_at"] is None
    assert action["trigger"]["p95_ms"] > 150
    assert status["dry_run"] is True
    assert status["caches"][DASHBOARD] == {"enabled": False, "since": None, "on": False}


async def test_status_and_actions_shapes(opt_app: Callable[..., Any]) -> None:
    """GET /status: the engine's state; GET /actions: the audit rows, newest first, filtered by
    kind and limited; both for the admin token only."""
    async with opt_app() as client:
        status = await client.get(f"{OPT}/status")
        assert status.status_code == 200
        body = status.json()
        assert body.keys() >= {
            "enabled",
            "dry_run",
            "leading",
            "owner",
            "rounds",
            "last_round_at",
            "last_error",
            "interval_s",
            "window_s",
            "settle_s",
            "emergency",
            "pressure",
            "limiter",
            "caches",
            "cache_ttl_s",
            "healing",
        }
        assert (body["enabled"], body["dry_run"], body["leading"]) == (False, False, False)
        assert body["emergency"].keys() >= {"stage", "forced", "reason", "since", "pending_windows"}
        assert body["emergency"]["stage"] == 0
        assert body["limiter"].keys() == {"limit", "in_flight", "shed"}
        assert body["limiter"]["limit"] > 0
        for route, cache in body["caches"].items():
            assert route.startswith("/api/v1/")
            assert cache["on"] is False
        assert body["cache_ttl_s"] > 0
        assert body["healing"]["database"]["state"] == "ok"

        assert await actions(client) == []
        await client.put(f"{OPT}/cache{BI}", json={"reason": "first"})
        await client.post(f"{OPT}/emergency", json={"enabled": True, "reason": "second"})
        await client.delete(f"{OPT}/cache{BI}")
        logged = await actions(client)
        assert [(a["kind"], a["move"]) for a in logged] == [
            ("route_cache", "disable"),
            ("emergency", "forced_stage_2"),
            ("route_cache", "enable"),
        ]
        row = logged[-1]
        assert row.keys() == {
            "action_id",
            "kind",
            "target",
            "move",
            "decided_at",
            "decided_by",
            "reason",
            "trigger",
            "dry_run",
            "state",
            "settle_at",
            "after",
            "verdict_reason",
            "change",
            "cooldown_until",
            "judged_at",
        }
        assert (row["target"], row["reason"], row["state"], row["dry_run"]) == (
            BI,
            "first",
            "done",
            False,
        )
        assert row["decided_at"].endswith(("Z", "+00:00"))
        assert [a["kind"] for a in await actions(client, kind="emergency")] == ["emergency"]
        assert len(await actions(client, limit=1)) == 1
        for bad in ({"limit": 0}, {"limit": 1001}, {"kind": "Not-A-Kind"}):
            assert (await client.get(f"{OPT}/actions", params=bad)).status_code == 422
        for path in ("status", "actions", "errors"):
            denied = await client.get(f"{OPT}/{path}", headers={"Authorization": ""})
            assert denied.status_code == 401
