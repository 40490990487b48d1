"""Two instances share the toggles and the emergency state; one engine leads (kv lease)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.db import migrate
from barberpro.db.engine import create_engine
from barberpro.kv import KeyValueStore, SharedState
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.windows import Key
from barberpro.optimization.cache import RouteCache
from barberpro.optimization.engine import LOCK, EngineConfig, Optimizer
from barberpro.optimization.shedding import Limiter
from barberpro.optimization.state import KEY, Emergency, Toggles
from tests.conftest import REDIS_URL
from tests.optimization.conftest import BI, DASHBOARD, OPT


@pytest.fixture(
    params=[
        pytest.param("directory", id="directory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[KeyValueStore, KeyValueStore]]:
    """Two instances' stores over one directory (file:///) or one Redis database."""
    url = tmp_path.as_uri() if request.param == "directory" else REDIS_URL
    first, second = SharedState(url), SharedState(url)
    try:
        yield first.store, second.store
    finally:
        # The Redis database is shared by the suite: leave no toggle or lease behind.
        fields = await first.store.hgetall(KEY)
        if fields:
            await first.store.hdel(KEY, *fields)
        for owner in ("engine-a", "engine-b"):
            await first.store.release(LOCK, owner)
        await first.close()
        await second.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database for the engines' audit log."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_toggle_set_on_one_instance_is_seen_by_the_other(
    stores: tuple[KeyValueStore, KeyValueStore],
) -> None:
    """set_emergency and set_cache on either side reach the other at its next refresh."""
    a, b = Toggles(stores[0]), Toggles(stores[1])
    await a.refresh()
    await b.refresh()
    assert b.emergency == Emergency()
    forced = Emergency(stage=2, forced=True, reason="drill", since=1_800_000_000.0, by="api")
    await a.set_emergency(forced)
    assert b.emergency.stage == 0  # a local snapshot: no request waits on the store
    await b.refresh()
    assert b.emergency == forced
    assert b.cache_on(BI)  # emergency mode caches every cacheable route

    toggle = await b.set_cache(DASHBOARD, enabled=True, by="api", reason="slow")
    await b.set_emergency(Emergency())
    await a.refresh()
    assert a.caches == {DASHBOARD: toggle}
    assert a.emergency == Emergency()
    assert a.cache_on(DASHBOARD)
    assert not a.cache_on(BI)
    await a.set_cache(DASHBOARD, enabled=False, by="engine-a", reason="rolled back")
    await b.refresh()
    assert not b.cache_on(DASHBOARD)
    assert b.caches[DASHBOARD].by == "engine-a"


def _engine(kv: KeyValueStore, db: AsyncEngine, owner: str) -> Optimizer:
    async def series(_window_s: float) -> dict[Key, Stat]:
        return {}

    async def gauges() -> dict[str, float]:
        return {}

    return Optimizer(
        config=EngineConfig(interval_s=0.2),  # a lease of max(3 x 0.2, 1) = 1 s
        db=db,
        kv=kv,
        toggles=Toggles(kv),
        cache=RouteCache(),
        limiter=Limiter(),
        series=series,
        gauges=gauges,
        owner=owner,
    )


async def test_only_one_engine_leads_and_the_other_takes_over(
    stores: tuple[KeyValueStore, KeyValueStore], db: AsyncEngine
) -> None:
    """Both run rounds: exactly one leads. When it stops it gives the lease back and the
    other leads at its next round; a leader that stops renewing loses it once it expires."""
    a, b = _engine(stores[0], db, "engine-a"), _engine(stores[1], db, "engine-b")
    try:
        for _ in range(3):
            await a.round()
            await b.round()
            assert (a.leading, b.leading) == (True, False)
        await a.stop()
        assert not a.leading
        await b.round()
        assert b.leading
        await a.round()
        assert not a.leading
        await asyncio.sleep(1.2)  # b stopped renewing (as if it crashed): its lease expires
        await a.round()
        assert a.leading
        await b.round()
        assert not b.leading
        assert a.status()["leading"]
        assert not b.status()["leading"]
    finally:
        await a.stop()
        await b.stop()
        await a.cache.close()
        await b.cache.close()


async def test_two_apps_on_one_directory_share_the_forced_emergency(
    opt_app: Callable[..., Any], tmp_path: Path
) -> None:
    """Emergency forced through instance A: instance B sheds its reports once its toggles
    refresh (every second), and serves them again once A releases it."""
    shared = (tmp_path / "state").as_uri()
    async with opt_app(shared_state_url=shared) as a, opt_app(shared_state_url=shared) as b:
        assert (await b.get(BI)).status_code == 200
        on = await a.post(f"{OPT}/emergency", json={"enabled": True, "reason": "fleet drill"})
        assert on.status_code == 200

        async def b_status() -> dict[str, Any]:
            found: dict[str, Any] = (await b.get(f"{OPT}/status")).json()["emergency"]
            return found

        await _until(lambda: b_status(), lambda s: s["stage"] == 2)
        shed = await b.get(BI)
        assert shed.status_code == 503
        assert "x-barberpro-shed" in shed.headers
        assert (await b_status())["reason"] == "fleet drill"
        await a.post(f"{OPT}/emergency", json={"enabled": False, "reason": "done"})
        await _until(lambda: b_status(), lambda s: s["stage"] == 0)
        assert (await b.get(BI)).status_code == 200


async def _until(get: Callable[[], Any], done: Callable[[Any], bool], within_s: float = 5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not done(await get()):
        if loop.time() > deadline:
            pytest.fail("the other instance never saw the change")
        await asyncio.sleep(0.1)
