"""The live optimization engine: every few seconds, read the signals, decide, act, audit, judge.

One instance leads (a lease in the shared-state store, as the alert engine's); its toggles reach
every instance through :class:`~barberpro.optimization.state.Toggles`. Each round it

1. judges the actions whose settling period is over: the same signal over an equal window, with
   a minimum sample; an action that did not help is undone and not retried before a cooldown;
2. turns the cache of each cacheable route on or off (:func:`decisions.cache_move`);
3. steps emergency mode from the pressure (:func:`decisions.emergency_step`), unless forced;
4. heals (:mod:`barberpro.optimization.healing`).

With ``dry_run`` every decision is recorded and nothing is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro import background
from barberpro.argentina.timezone import iso_utc
from barberpro.kv import KeyValueStore
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.windows import Key
from barberpro.optimization import advisor, audit
from barberpro.optimization.cache import CACHEABLE, RouteCache
from barberpro.optimization.decisions import (
    CacheLimits,
    EmergencyState,
    Measure,
    Move,
    PressureLimits,
    StageLimits,
    Verdict,
    cache_move,
    emergency_step,
    judge,
    pressure,
)
from barberpro.optimization.measures import (
    audit_trigger,
    fingerprint_measure,
    overall_p95,
    route_window,
)
from barberpro.optimization.shedding import Limiter
from barberpro.optimization.state import Emergency, Toggles

log = structlog.get_logger(__name__)

LOCK = "barberpro:optimization:leader"

#: (window seconds) -> every series of every process over that trailing window.
SeriesSource = Callable[[float], Awaitable[Mapping[Key, Stat]]]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How the engine runs (values from Settings)."""

    enabled: bool = True
    dry_run: bool = False
    interval_s: float = 5.0
    window_s: float = 60.0
    settle_s: float = 30.0
    min_samples: int = 20
    cooldown_s: float = 600.0
    cache_gain: float = 0.10  # a cache must lower its route's p95 by this much to stay
    auto_index: bool = False
    index_every_s: float = 600.0  # the advisor runs ANALYZE: not every round
    index_gain: float = 0.05  # an index must lower its queries' p95 by this much to stay
    judge_within_s: float = 600.0  # an action still short of its sample then is inconclusive
    cache: CacheLimits = field(default_factory=CacheLimits)
    pressure: PressureLimits = field(default_factory=PressureLimits)
    stages: StageLimits = field(default_factory=StageLimits)


class Optimizer:
    """The loop, its leadership and its state for the status route."""

    def __init__(
        self,
        *,
        config: EngineConfig,
        db: AsyncEngine,
        kv: KeyValueStore,
        toggles: Toggles,
        cache: RouteCache,
        limiter: Limiter,
        series: SeriesSource,
        gauges: Callable[[], Awaitable[dict[str, float]]],
        healer: Any = None,
        advise: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
        owner: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.db = db
        self.kv = kv
        self.toggles = toggles
        self.cache = cache
        self.limiter = limiter
        self.series = series
        self.gauges = gauges  # memory_percent, loop_lag_ms of the fleet
        self.healer = healer
        self.advise = advise  # the planner-checked index suggestions, for auto-indexing
        self.last_index_at: float | None = None
        self.owner = owner
        self.clock = clock
        self.leading = False
        self.rounds = 0
        self.last_round_at: float | None = None
        self.last_error: str | None = None
        self.last_pressure: dict[str, Any] = {}
        self.emergency = EmergencyState()
        self._dry: dict[tuple[str, str, str], float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop (nothing when disabled)."""
        if self.config.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="barberpro-optimization")

    async def stop(self) -> None:
        """Stop and give up the leadership."""
        await background.cancel(self._task)
        self._task = None
        if self.leading:
            try:
                await self.kv.release(LOCK, self.owner)
            except Exception as exc:
                log.warning("optimization: releasing the lease failed", error=repr(exc))
            self.leading = False

    async def _run(self) -> None:
        while True:
            try:
                await self.round()
                self.last_error = None
            except Exception as exc:  # one bad round must not stop the engine
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("optimization round failed", error=repr(exc))
            await asyncio.sleep(self.config.interval_s)

    async def round(self) -> None:
        """One round: heal this process, then lead or follow: judge, decide, act."""
        now = self.clock()
        if self.healer is not None:
            await self.healer.round(now)  # every process heals itself
        lease = max(3 * self.config.interval_s, 1.0)
        self.leading = await self.kv.acquire(LOCK, self.owner, lease)
        self.rounds += 1
        self.last_round_at = now
        if not self.leading:
            return
        series = await self.series(self.config.window_s)
        await self._judge(now, series)
        await self._caches(now, series)
        await self._emergency(now)
        if self.config.auto_index and await self.kv.acquire(LOCK, self.owner, lease):
            await self._auto_index(now, series)

    async def act(self, action: audit.Action, *, now: float, judged: bool) -> str:
        """Record ``action`` (to be judged after the settling period when ``judged``).

        In dry run nothing changes, so the same decision would come back every round: it is
        recorded once a window.
        """
        if action.dry_run:
            key = (action.kind, action.target, action.move)
            if now - self._dry.get(key, float("-inf")) < self.config.window_s:
                return ""
            self._dry[key] = now
        settle = now + self.config.settle_s + self.config.window_s if judged else None
        return await audit.record(self.db, action, now=now, settle_at=settle)

    # -- judging -------------------------------------------------------------------------------

    async def _judge(self, now: float, series: Mapping[Key, Stat]) -> None:
        for row in await audit.due(self.db, now=now):
            trigger = audit_trigger(row)
            before = Measure(trigger.get("p95_ms"), int(trigger.get("requests", 0)))
            if row["kind"] == "route_cache":
                window = route_window(series, row["target"])
                after = Measure(window.p95_ms, window.requests)
                measured: dict[str, Any] = {"hits": window.hits}
                gain = self.config.cache_gain
            elif row["kind"] == "index":
                after = fingerprint_measure(series, str(trigger.get("fingerprint", "")))
                measured, gain = {}, self.config.index_gain
            else:
                continue
            verdict, reason, change = judge(
                before, after, min_samples=self.config.min_samples, required_gain=gain
            )
            if verdict is Verdict.WAITING:
                if now - row["settle_at"] / 1_000_000 < self.config.judge_within_s:
                    continue
                await audit.judged(
                    self.db,
                    row["action_id"],
                    state="inconclusive",
                    after={"p95_ms": after.p95_ms, "requests": after.count},
                    reason=f"{reason} within {self.config.judge_within_s:g} s: kept, unjudged",
                    change=None,
                    cooldown_until=None,
                    now=now,
                )
                continue
            measured |= {"p95_ms": after.p95_ms, "requests": after.count}
            cooldown = None
            if verdict is Verdict.ROLLED_BACK:
                cooldown = now + self.config.cooldown_s
                await self._undo(row, trigger, reason)
            await audit.judged(
                self.db,
                row["action_id"],
                state=verdict.value,
                after=measured,
                reason=reason,
                change=change,
                cooldown_until=cooldown,
                now=now,
            )

    async def _undo(self, row: Mapping[str, Any], trigger: Mapping[str, Any], reason: str) -> None:
        if row["kind"] == "route_cache":
            await self.toggles.refresh()
            latest = self.toggles.caches.get(row["target"])
            if latest is not None and latest.by == "api":
                return  # a person set it since: theirs stands
            await self.toggles.set_cache(
                row["target"], enabled=False, by=self.owner, reason=f"rolled back: {reason}"
            )
            await self.cache.clear(row["target"])
        elif row["kind"] == "index" and trigger.get("index"):
            await advisor.drop_index(self.db, str(trigger["index"]))

    # -- indexes -------------------------------------------------------------------------------

    async def _auto_index(self, now: float, series: Mapping[Key, Stat]) -> None:
        if not self.config.auto_index or self.advise is None:
            return
        if self.last_index_at is not None and now - self.last_index_at < self.config.index_every_s:
            return
        self.last_index_at = now
        cooling = await audit.cooldowns(self.db, now=now)
        for item in await self.advise():
            target = f"{item['table']}({', '.join(item['columns'])})"
            if ("index", target) in cooling:
                continue
            # Before, over the window the after-measurement will use: like with like.
            before = fingerprint_measure(series, item["fingerprint"])
            trigger: dict[str, Any] = {
                "fingerprint": item["fingerprint"],
                "p95_ms": before.p95_ms,
                "requests": before.count,
                "index": advisor.index_name(item["table"], item["columns"]),
                **{
                    k: item[k]
                    for k in ("cost_before", "cost_after", "plan_before", "plan_after")
                    if k in item
                },
            }
            action = audit.Action(
                kind="index",
                target=target,
                move="create",
                reason=f"the planner: {item.get('cost_gain', 'scan to search')} on "
                f"{item['table']}; {item['write_cost']}",
                trigger=trigger,
                decided_by=self.owner,
                dry_run=self.config.dry_run,
            )
            await self.act(action, now=now, judged=True)
            if not self.config.dry_run:
                await advisor.create_index(self.db, item["table"], item["columns"])
            return  # one index a round: each is judged on its own

    # -- caching -------------------------------------------------------------------------------

    async def _caches(self, now: float, series: Mapping[Key, Stat]) -> None:
        cooling = await audit.cooldowns(self.db, now=now)
        for route in sorted(CACHEABLE):
            toggle = self.toggles.caches.get(route)
            window = route_window(series, route)
            move, reason = cache_move(
                window,
                enabled=bool(toggle and toggle.enabled),
                since=toggle.since if toggle else 0.0,
                cooldown_until=cooling.get(("route_cache", route), 0.0),
                now=now,
                limits=self.config.cache,
            )
            if move is Move.HOLD:
                continue
            if toggle is not None and toggle.by == "api":
                continue  # a person set this route's cache: the engine leaves it alone
            trigger = {
                "p95_ms": window.p95_ms,
                "requests": window.requests,
                "computed_p95_ms": window.computed_p95_ms,
                "hits": window.hits,
                "computed": window.computed,
            }
            action = audit.Action(
                kind="route_cache",
                target=route,
                move=move.value,
                reason=reason,
                trigger=trigger,
                decided_by=self.owner,
                dry_run=self.config.dry_run,
            )
            await self.act(action, now=now, judged=move is Move.ENABLE)
            if not self.config.dry_run:
                await self.toggles.refresh()
                latest = self.toggles.caches.get(route)
                if latest is not None and latest.by == "api":
                    continue  # a person set it meanwhile: theirs stands
                await self.toggles.set_cache(
                    route, enabled=move is Move.ENABLE, by=self.owner, reason=reason
                )
                if move is Move.DISABLE:
                    await self.cache.clear(route)

    # -- emergency mode ------------------------------------------------------------------------

    async def _emergency(self, now: float) -> None:
        current = self.toggles.emergency
        if current.forced:
            return
        window = max(self.config.interval_s, 20.0)  # at least one full 10-second slot
        p95, _count = overall_p95(await self.series(window))
        gauges = await self.gauges()
        load, signal = pressure(
            saturation=self.limiter.saturation,
            lag_ms=gauges.get("loop_lag_ms", 0.0),
            memory_percent=gauges.get("memory_percent", 0.0),
            p95_ms=p95,
            limits=self.config.pressure,
        )
        self.last_pressure = {
            "pressure": round(load, 4),
            "signal": signal,
            "p95_ms": p95,
            "saturation": round(self.limiter.saturation, 4),
            **gauges,
        }
        before = self.emergency
        if before.stage != current.stage:  # another leader changed it meanwhile
            before = EmergencyState(stage=current.stage, since=current.since)
        after = emergency_step(before, load, now=now, limits=self.config.stages)
        self.emergency = after
        if after.stage == before.stage:
            return
        await self.toggles.refresh()  # a person may have forced it meanwhile: theirs stands
        if self.toggles.emergency.forced:
            return
        reason = (
            f"pressure {load:.2f} from {signal} held for {self.config.stages.windows_to_enter} "
            "windows"
            if after.stage > before.stage
            else f"pressure under its exit for {self.config.stages.recovery_s:g} s"
        )
        await self.act(
            audit.Action(
                kind="emergency",
                target="service",
                move=f"stage_{after.stage}",
                reason=reason,
                trigger=self.last_pressure,
                decided_by=self.owner,
                dry_run=self.config.dry_run,
            ),
            now=now,
            judged=False,
        )
        if not self.config.dry_run:
            await self.toggles.set_emergency(
                Emergency(stage=after.stage, forced=False, reason=reason, since=now, by=self.owner)
            )

    def _cache_status(self, route: str) -> dict[str, Any]:
        toggle = self.toggles.caches.get(route)
        found: dict[str, Any] = (
            toggle.as_dict() if toggle is not None else {"enabled": False, "since": None}
        )
        if found.get("since"):
            found["since"] = iso_utc(found["since"])
        return {**found, "on": self.toggles.cache_on(route)}

    def status(self) -> dict[str, Any]:
        """Return the engine's state as JSON (its own process's view)."""
        emergency = self.toggles.emergency
        return {
            "enabled": self.config.enabled,
            "dry_run": self.config.dry_run,
            "leading": self.leading,
            "owner": self.owner,
            "rounds": self.rounds,
            "last_round_at": iso_utc(self.last_round_at),
            "last_error": self.last_error,
            "interval_s": self.config.interval_s,
            "window_s": self.config.window_s,
            "settle_s": self.config.settle_s,
            "emergency": {
                **emergency.as_dict(),
                "since": iso_utc(emergency.since) if emergency.since else None,
                "pending_windows": self.emergency.over,
            },
            "pressure": self.last_pressure,
            "limiter": {
                "limit": round(self.limiter.limit, 2),
                "in_flight": self.limiter.in_flight,
                "shed": self.limiter.shed,
            },
            "caches": {route: self._cache_status(route) for route in sorted(CACHEABLE)},
            "cache_ttl_s": round(self.cache.ttl(), 3),
            "healing": self.healer.status() if self.healer is not None else None,
        }
