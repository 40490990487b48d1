"""Auto-healing, on every instance: each process heals itself and audits what it did.

- Database connection errors: dispose the pool and check the database again, with jittered
  exponential backoff between tries, until it answers.
- Memory over its threshold (80%): the garbage collector, ``malloc_trim`` and the route cache
  emptied, at most every 10 s, timed (the loop is blocked meanwhile: that time is recorded).
- The pool's overflow sized from the measured checkout waits, within bounds (PostgreSQL).
- The MercadoPago worker's concurrency following the API's latency and 429s (AIMD).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.argentina.timezone import iso_utc
from barberpro.optimization import audit
from barberpro.optimization.decisions import aimd, pool_size, should_trim

log = structlog.get_logger(__name__)

Record = Callable[[audit.Action], Awaitable[str]]


def _malloc_trim() -> bool:
    """Give freed heap memory back to the system (glibc only); True when it could."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


class Healer:
    """This process's healing state and rules."""

    def __init__(
        self,
        *,
        db: AsyncEngine,
        owner: str,
        record: Record,
        memory_percent: Callable[[], Awaitable[float]],
        db_failures: Callable[[float], Awaitable[int]],
        pool_waits: Callable[[], Awaitable[int]],
        shrink: Callable[[], Awaitable[None]],
        worker: Any = None,
        client: Any = None,
        dry_run: bool = False,
        memory_threshold: float = 80.0,
        mp_target_ms: float = 1000.0,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.owner = owner
        self.record = record
        self.memory_percent = memory_percent
        self.db_failures = db_failures
        self.pool_waits = pool_waits
        self.shrink = shrink
        self.worker = worker
        self.client = client
        self.dry_run = dry_run
        self.memory_threshold = memory_threshold
        self.mp_target_ms = mp_target_ms
        self.clock = clock
        self.rand = rand
        self.last_trim_at: float | None = None
        self._healed_at = float("-inf")
        self.last_trim: dict[str, Any] | None = None
        self.database: dict[str, Any] = {
            "state": "ok",
            "attempts": 0,
            "next_try_at": None,
            "reconnects": 0,
        }
        self._mp_seen = (0, 0, 0.0)  # calls, throttled, seconds at the previous round
        self._mp_max = worker.concurrency if worker is not None else 0
        # Only a database server's pool can run short (SQLite opens a connection per use).
        pool = getattr(db, "pool", None) if db.dialect.name == "postgresql" else None
        self._overflow = getattr(pool, "_max_overflow", None)
        self._overflow_bounds = (
            (self._overflow, max(self._overflow * 4, self._overflow + 8))
            if isinstance(self._overflow, int)
            else None
        )

    async def round(self, now: float) -> None:
        """Run every rule once; one failing (its audit row, say, with the database away) does
        not keep the others from running."""
        for rule in (self._memory(now), self._database(now), self._pool(), self._mercadopago()):
            try:
                await rule
            except Exception as exc:
                log.warning("healing rule failed", error=repr(exc))

    async def _memory(self, now: float) -> None:
        used = await self.memory_percent()
        if not should_trim(
            used, last_at=self.last_trim_at, now=now, threshold=self.memory_threshold
        ):
            return
        self.last_trim_at = now
        trigger = {"memory_percent": used, "threshold": self.memory_threshold}
        if not self.dry_run:
            began = time.perf_counter()
            collected = gc.collect()
            trimmed = _malloc_trim()
            blocked_ms = (time.perf_counter() - began) * 1000
            await self.shrink()
            self.last_trim = {
                "at": now,
                "collected": collected,
                "malloc_trim": trimmed,
                "blocked_ms": round(blocked_ms, 3),
                "before": used,
                "after": self.memory_percent(),
            }
            trigger |= {"blocked_ms": round(blocked_ms, 3)}
        await self.record(
            audit.Action(
                kind="memory_trim",
                target="process",
                move="collect_and_trim",
                reason=f"memory {used:.1f}% over {self.memory_threshold:g}%",
                trigger=trigger,
                decided_by=self.owner,
                dry_run=self.dry_run,
            )
        )

    async def _database(self, now: float) -> None:
        state = self.database
        if state["state"] == "ok":
            # Failures of this process since the last reconnection (not the ones it healed).
            if await self.db_failures(self._healed_at) == 0:
                return
            state.update(state="reconnecting", attempts=0, next_try_at=now)
        if state["next_try_at"] is not None and now < float(state["next_try_at"]):
            return
        attempts = int(state["attempts"]) + 1
        try:
            if not self.dry_run:
                await self.db.dispose()
            async with self.db.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            # Full jitter: anywhere up to min(30 s, 0.5 s x 2^attempts).
            delay = self.rand() * min(30.0, 0.5 * 2**attempts)
            state.update(attempts=attempts, next_try_at=now + delay, last_error=repr(exc)[:200])
            return
        state.update(state="ok", attempts=0, next_try_at=None)
        self._healed_at = now
        state["reconnects"] = int(state["reconnects"]) + 1
        await self.record(
            audit.Action(
                kind="db_reconnect",
                target="database",
                move="dispose_pool",
                reason=f"connection errors: pool disposed, database answered after "
                f"{attempts} attempt(s)",
                trigger={"attempts": attempts},
                decided_by=self.owner,
                dry_run=self.dry_run,
            )
        )

    async def _pool(self) -> None:
        if self._overflow_bounds is None or self._overflow is None:
            return  # no server pool (SQLite)
        pool = self.db.pool
        waits = await self.pool_waits()
        in_use = int(getattr(pool, "checkedout", lambda: 0)())
        current = self._overflow
        wanted = pool_size(
            current,
            wait_p95_ms=10.0 if waits else 0.0,
            peak_in_use=in_use,
            lo=self._overflow_bounds[0],
            hi=self._overflow_bounds[1],
        )
        if wanted == current:
            return
        if not self.dry_run:
            pool._max_overflow = wanted  # type: ignore[attr-defined]
            self._overflow = wanted
        await self.record(
            audit.Action(
                kind="pool_size",
                target="database",
                move=f"overflow_{wanted}",
                reason=f"{waits} saturated checkouts, {in_use} in use: overflow "
                f"{current} -> {wanted}",
                trigger={"saturated_checkouts": waits, "in_use": in_use, "overflow": current},
                decided_by=self.owner,
                dry_run=self.dry_run,
            )
        )

    async def _mercadopago(self) -> None:
        if self.worker is None or self.client is None:
            return
        calls, throttled, seconds = self.client.calls, self.client.throttled, self.client.seconds
        seen_calls, seen_throttled, seen_seconds = self._mp_seen
        self._mp_seen = (calls, throttled, seconds)
        new_calls = calls - seen_calls
        if new_calls <= 0:
            return
        latency_ms = (seconds - seen_seconds) / new_calls * 1000
        current = int(self.worker.concurrency)
        wanted = aimd(
            current,
            latency_ms=latency_ms,
            throttled=throttled > seen_throttled,
            target_ms=self.mp_target_ms,
            lo=1,
            hi=self._mp_max,
        )
        if wanted == current:
            return
        if not self.dry_run:
            self.worker.concurrency = wanted
        if wanted < current:  # decreases are the events worth a line in the audit log
            await self.record(
                audit.Action(
                    kind="mp_concurrency",
                    target="mercadopago",
                    move=f"to_{wanted}",
                    reason=f"{throttled - seen_throttled} 429s, mean latency "
                    f"{latency_ms:.0f} ms: concurrency {current} -> {wanted}",
                    trigger={
                        "calls": new_calls,
                        "throttled": throttled - seen_throttled,
                        "latency_ms": round(latency_ms, 3),
                    },
                    decided_by=self.owner,
                    dry_run=self.dry_run,
                )
            )

    def status(self) -> dict[str, Any]:
        """Return the healing state as JSON."""
        database = dict(self.database)
        database["next_try_at"] = iso_utc(database["next_try_at"])
        trim = dict(self.last_trim) if self.last_trim is not None else None
        if trim is not None:
            trim["at"] = iso_utc(trim["at"])
        return {
            "database": database,
            "memory": {"threshold": self.memory_threshold, "last_trim": trim},
            "pool_overflow": self._overflow,
            "mercadopago_concurrency": getattr(self.worker, "concurrency", None),
        }
