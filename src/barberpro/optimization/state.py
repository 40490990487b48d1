"""The engine's toggles, shared by every instance through the shared-state store.

One hash holds them: ``cache:<route>`` (a route's cache on, since when, by whom) and
``emergency`` (the stage, whether a person forced it, why). Whoever changes a toggle (the
leading engine, or a person through the API on any instance) writes the hash; every instance
reads it back every ``refresh_s`` into a local snapshot, which is what requests consult: no
request waits on the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from barberpro import background
from barberpro.kv import KeyValueStore

log = structlog.get_logger(__name__)

KEY = "barberpro:optimization:toggles"


@dataclass(frozen=True, slots=True)
class CacheToggle:
    """A route's cache: on or off, since when, by whom and why."""

    enabled: bool
    since: float
    by: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Return the toggle as JSON."""
        return {"enabled": self.enabled, "since": self.since, "by": self.by, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Emergency:
    """Emergency mode: its stage (0 off, 1, 2), forced by a person or decided by the engine."""

    stage: int = 0
    forced: bool = False
    reason: str = ""
    since: float = 0.0
    by: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the state as JSON."""
        return {
            "stage": self.stage,
            "forced": self.forced,
            "reason": self.reason,
            "since": self.since,
            "by": self.by,
        }


class Toggles:
    """This instance's view of the shared toggles."""

    def __init__(
        self,
        kv: KeyValueStore,
        *,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kv = kv
        self._refresh_s = refresh_s
        self._clock = clock
        self.caches: dict[str, CacheToggle] = {}
        self.emergency = Emergency()
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """Read the shared hash into the local snapshot."""
        fields = await self._kv.hgetall(KEY)
        caches: dict[str, CacheToggle] = {}
        emergency = Emergency()
        for name, raw in fields.items():
            data = orjson.loads(raw)
            if name.startswith("cache:"):
                caches[name.removeprefix("cache:")] = CacheToggle(**data)
            elif name == "emergency":
                emergency = Emergency(**data)
        self.caches = caches
        self.emergency = emergency

    async def set_cache(self, route: str, *, enabled: bool, by: str, reason: str) -> CacheToggle:
        """Turn ``route``'s cache on or off for every instance."""
        toggle = CacheToggle(enabled=enabled, since=self._clock(), by=by, reason=reason)
        await self._kv.hset(KEY, f"cache:{route}", orjson.dumps(toggle.as_dict()))
        self.caches = {**self.caches, route: toggle}
        return toggle

    async def set_emergency(self, state: Emergency) -> None:
        """Set emergency mode for every instance."""
        await self._kv.hset(KEY, "emergency", orjson.dumps(state.as_dict()))
        self.emergency = state

    def cache_on(self, route: str) -> bool:
        """True when ``route``'s cache is on (a toggle, or emergency mode's stage 1 and up)."""
        toggle = self.caches.get(route)
        return (toggle is not None and toggle.enabled) or self.emergency.stage >= 1

    async def start(self) -> None:
        """Read the toggles now, then every ``refresh_s``."""
        try:
            await self.refresh()
        except Exception as exc:
            log.warning("optimization toggles: first read failed", error=repr(exc))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="barberpro-optimization-toggles")

    async def stop(self) -> None:
        """Stop refreshing."""
        await background.cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.refresh()
            except Exception as exc:  # the store may be away: keep the last snapshot
                log.warning("optimization toggles refresh failed", error=repr(exc))
