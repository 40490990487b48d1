"""Health: each check with its value and verdict; the worst verdict is the service's status."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.config import Settings
from barberpro.kv import KeyValueStore


class Status(IntEnum):
    """A verdict, ordered so the worst is the largest."""

    OK = 0
    DEGRADED = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        """The verdict as the API spells it."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """Thresholds of the checks (degraded at the first, critical at the second)."""

    db_timeout_s: float = 2.0
    memory_degraded_percent: float = 70.0
    memory_critical_percent: float = 80.0
    disk_degraded_percent: float = 90.0
    disk_critical_percent: float = 98.0
    backlog_degraded_ratio: float = 0.5
    backlog_critical_ratio: float = 0.9

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthLimits:
        """Return the health thresholds of ``settings``."""
        return cls(
            db_timeout_s=settings.health_db_timeout_s,
            memory_degraded_percent=settings.health_memory_degraded_percent,
            memory_critical_percent=settings.health_memory_critical_percent,
            disk_degraded_percent=settings.health_disk_degraded_percent,
            disk_critical_percent=settings.health_disk_critical_percent,
        )


def by_threshold(value: float, degraded: float, critical: float) -> Status:
    """Return the verdict of ``value`` against two rising thresholds."""
    if value >= critical:
        return Status.CRITICAL
    if value >= degraded:
        return Status.DEGRADED
    return Status.OK


class HealthChecker:
    """Runs the checks of GET /monitoring/health."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        kv: KeyValueStore | None,
        memory_percent: Callable[[], Any],
        backlog: Callable[[], int],
        queue_limit: int,
        disk_path: str,
        limits: HealthLimits,
        version: str,
        started: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._kv = kv
        self._memory_percent = memory_percent
        self._backlog = backlog
        self._queue_limit = queue_limit
        self._disk_path = disk_path
        self._limits = limits
        self._version = version
        self._started = started
        self._clock = clock

    async def check(self) -> dict[str, Any]:
        """Return ``{status, checks: {name: {status, ...}}, uptime_s, version}``."""
        checks: dict[str, dict[str, Any]] = {}
        database, redis = await asyncio.gather(self._database(), self._redis())
        checks["database"] = database
        if redis is not None:
            checks["redis"] = redis
        checks["memory"] = await self._memory()
        checks["disk"] = await asyncio.to_thread(self._disk)
        checks["queue_backlog"] = self._queue()
        worst = max(Status[c["status"].upper()] for c in checks.values())
        return {
            "status": worst.label,
            "checks": checks,
            "uptime_s": round(self._clock() - self._started, 3),
            "version": self._version,
        }

    async def _database(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._limits.db_timeout_s):
                async with self._engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except TimeoutError:
            return {
                "status": Status.CRITICAL.label,
                "error": f"no answer within {self._limits.db_timeout_s:g} s",
            }
        except Exception as exc:
            return {"status": Status.CRITICAL.label, "error": f"{type(exc).__name__}: {exc}"[:300]}
        ms = (time.perf_counter() - started) * 1000
        return {"status": Status.OK.label, "latency_ms": round(ms, 2)}

    async def _redis(self) -> dict[str, Any] | None:
        if self._kv is None:
            return None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._limits.db_timeout_s):
                answered = await self._kv.ping()
        except TimeoutError:
            answered = False
        if not answered:
            # Without Redis the instances stop sharing live state; each still answers.
            return {"status": Status.DEGRADED.label, "error": "redis does not answer PING"}
        ms = (time.perf_counter() - started) * 1000
        return {"status": Status.OK.label, "latency_ms": round(ms, 2)}

    async def _memory(self) -> dict[str, Any]:
        found = self._memory_percent()
        percent = float(await found if asyncio.iscoroutine(found) else found)
        lim = self._limits
        status = by_threshold(percent, lim.memory_degraded_percent, lim.memory_critical_percent)
        return {
            "status": status.label,
            "percent": round(percent, 2),
            "degraded_at": lim.memory_degraded_percent,
            "critical_at": lim.memory_critical_percent,
        }

    def _disk(self) -> dict[str, Any]:
        path = Path(self._disk_path)
        while not path.exists() and path != path.parent:
            path = path.parent
        usage = shutil.disk_usage(path)
        percent = 100.0 * usage.used / usage.total if usage.total else 0.0
        lim = self._limits
        status = by_threshold(percent, lim.disk_degraded_percent, lim.disk_critical_percent)
        return {
            "status": status.label,
            "path": os.fspath(path),
            "used_percent": round(percent, 2),
            "free_bytes": usage.free,
        }

    def _queue(self) -> dict[str, Any]:
        backlog = self._backlog()
        ratio = backlog / self._queue_limit if self._queue_limit else 0.0
        lim = self._limits
        status = by_threshold(ratio, lim.backlog_degraded_ratio, lim.backlog_critical_ratio)
        return {"status": status.label, "backlog": backlog, "limit": self._queue_limit}


def database_disk_path(database_url: str) -> str:
    """Return the directory whose disk holds the data: the SQLite file's, else the current."""
    if database_url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(database_url).database
        if database and database != ":memory:":
            return os.path.dirname(os.path.abspath(database))
    return os.getcwd()
