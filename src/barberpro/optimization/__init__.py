"""The live optimization engine: route caching, index advice, emergency mode, auto-healing,
every action audited. :func:`build` makes its parts from the settings and what the app passes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.config import Settings
from barberpro.kv import KeyValueStore
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.windows import Key
from barberpro.optimization import advisor
from barberpro.optimization.cache import RouteCache
from barberpro.optimization.decisions import CacheLimits, PressureLimits
from barberpro.optimization.engine import EngineConfig, Optimizer
from barberpro.optimization.errors import ErrorGroups
from barberpro.optimization.healing import Healer
from barberpro.optimization.shedding import Limiter
from barberpro.optimization.state import Toggles

__all__ = ["Optimization", "build"]


@dataclass(frozen=True, slots=True)
class Optimization:
    """The engine's parts, as the app wires them."""

    optimizer: Optimizer
    toggles: Toggles
    cache: RouteCache
    limiter: Limiter
    errors: ErrorGroups

    async def start(self) -> None:
        """Read the shared toggles, then start the loop."""
        await self.toggles.start()
        await self.optimizer.start()

    async def stop(self) -> None:
        """Stop the loop (giving up the lead), the toggles and the cache's connections."""
        await self.optimizer.stop()
        await self.toggles.stop()
        await self.cache.close()


def _cache_url(settings: Settings) -> str:
    if settings.optimization_cache_url:
        return settings.optimization_cache_url
    state = settings.state_url
    return state if state.startswith(("redis://", "rediss://")) else "mem://"


def build(
    settings: Settings,
    *,
    db: AsyncEngine,
    kv: KeyValueStore,
    owner: str,
    series: Callable[[float], Awaitable[Mapping[Key, Stat]]],
    gauges: Callable[[], Awaitable[dict[str, float]]],
    memory_percent: Callable[[], Awaitable[float]],
    local_series: Callable[[float], Mapping[Key, Stat]],
    thresholds: Mapping[str, float],
    worker: Any = None,
    client: Any = None,
    slowest: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
) -> Optimization:
    """Return the engine's parts for ``settings``.

    ``series(window_s)`` gives every process's merged series, ``gauges()`` the fleet's memory
    and loop lag, ``memory_percent()`` this instance's memory share (its workers added up),
    ``local_series(since)`` this process's own series since a time; ``thresholds`` the alert
    rules' (p95 warning and critical, memory).
    """
    toggles = Toggles(kv)
    cache = RouteCache(_cache_url(settings))
    limiter = Limiter()
    errors = ErrorGroups()
    config = EngineConfig(
        enabled=settings.optimization_enabled,
        dry_run=settings.optimization_dry_run,
        interval_s=settings.optimization_interval_s,
        window_s=settings.optimization_window_s,
        settle_s=settings.optimization_settle_s,
        cooldown_s=settings.optimization_cooldown_s,
        auto_index=settings.auto_index,
        cache=CacheLimits(slow_p95_ms=thresholds.get("p95_warning_ms", 150.0)),
        pressure=PressureLimits(
            memory_percent=thresholds.get("memory_percent", 80.0),
            p95_critical_ms=thresholds.get("p95_critical_ms", 200.0),
        ),
    )
    holder: dict[str, Optimizer] = {}

    async def record(action: Any) -> str:
        return await holder["engine"].act(action, now=time.time(), judged=False)

    async def window_count(kind: str) -> int:
        found = await series(config.window_s)
        return sum(stat.count for key, stat in found.items() if key[0] == kind)

    async def db_failures(since: float) -> int:
        """This process's connection failures in the window, after ``since``."""
        start = max(since, time.time() - config.window_s)
        found = local_series(start)
        return sum(stat.count for key, stat in found.items() if key[0] == "db_conn_fail")

    async def shrink() -> None:
        # Only an in-process store frees this process's memory; Redis is every instance's.
        if cache.in_process:
            await cache.clear()

    async def pool_waits() -> int:
        return await window_count("db_pool_saturated")

    healer = Healer(
        db=db,
        owner=owner,
        record=record,
        memory_percent=memory_percent,
        db_failures=db_failures,
        pool_waits=pool_waits,
        shrink=shrink,
        worker=worker,
        client=client,
        dry_run=config.dry_run,
        memory_threshold=thresholds.get("memory_percent", 80.0),
    )

    async def advise() -> list[dict[str, Any]]:
        return await advisor.advise(db, await slowest()) if slowest is not None else []

    optimizer = Optimizer(
        advise=advise,
        config=config,
        db=db,
        kv=kv,
        toggles=toggles,
        cache=cache,
        limiter=limiter,
        series=series,
        gauges=gauges,
        healer=healer,
        owner=owner,
    )
    holder["engine"] = optimizer
    return Optimization(optimizer, toggles, cache, limiter, errors)
