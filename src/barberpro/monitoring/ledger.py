"""The day's operations: each process's series kept by the hour in `ops_hours`, for reports.

The windows hold 15 minutes. The ledger takes every slot as it leaves the ring (from then on
nothing changes it) and adds it to its UTC hour; a flush writes, for each hour still open, those
hours plus the slots the ring still holds, as one cumulative row per process and hour that
replaces the previous one. A notification's retracted attempt is therefore counted once, as in
the windows. A flush also keeps a sample of the process's gauges (memory, CPU, loop lag,
WebSocket connections, pool use), one a flush and one when the ledger starts (the report reads
the first as the time the service came up).

:func:`read_day` merges the rows of every process for a range of hours back into series.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro import background
from barberpro.db.tables import ops_hours
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.windows import SLOT_S, Key, Ring, edges_for

log = structlog.get_logger(__name__)

HOUR_S = 3600

#: The fields of a gauge sample, in the order a row's ``samples`` lists them.
SAMPLE_FIELDS = (
    "at",
    "memory_percent",
    "rss_bytes",
    "cpu_percent",
    "loop_lag_ms",
    "loop_lag_max_ms",
    "ws_active",
    "pool_checked_out",
    "pool_capacity",
)


def _hour_of(slot: int) -> int:
    return slot * SLOT_S // HOUR_S


def _merge_into(into: dict[Key, Stat], series: Mapping[Key, Stat]) -> None:
    for key, stat in series.items():
        found = into.get(key)
        if found is None:
            found = into[key] = Stat(edges_for(key[0]))
        found.merge(stat)


def sample_of(live: Mapping[str, Any], at: float) -> list[float]:
    """Return one gauge sample (SAMPLE_FIELDS) from a process's live state."""
    system = live.get("system", {})
    pool = live.get("pool") or {}
    return [
        round(at, 3),
        float(system.get("memory_percent", 0.0)),
        float(system.get("rss_bytes", 0)),
        float(system.get("cpu_percent", 0.0)),
        float(system.get("loop_lag_ms", 0.0)),
        float(system.get("loop_lag_max_ms", 0.0)),
        float(live.get("websocket", {}).get("active", 0)),
        float(pool.get("checked_out", 0)),
        float(pool.get("capacity", 0)),
    ]


class OpsLedger:
    """Writes this process's hours to `ops_hours` every ``interval_s`` and when stopped."""

    def __init__(
        self,
        *,
        ring: Ring,
        engine: AsyncEngine,
        process: str,
        live: Callable[[], Mapping[str, Any]],
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        collect: bool = True,
    ) -> None:
        self._ring = ring
        self._engine = engine
        self._process = process
        self._live = live
        self._interval = interval_s
        self._clock = clock
        self._hours: dict[int, dict[Key, Stat]] = {}
        self._samples: dict[int, list[list[float]]] = {}
        self._task: asyncio.Task[None] | None = None
        if collect:  # False when monitoring is off: nothing would ever flush what it holds
            ring.on_evict(self._evicted)

    def _evicted(self, slot: int, series: Mapping[Key, Stat]) -> None:
        _merge_into(self._hours.setdefault(_hour_of(slot), {}), series)

    def snapshot(self) -> dict[int, dict[Key, Stat]]:
        """Return every hour this process still holds: evicted slots plus the kept ones."""
        # The ring first: reading it rotates it, and the slots a rotation evicts move into
        # self._hours, so they must be read from there afterwards, not missed in between.
        kept = list(self._ring.slots())
        hours: dict[int, dict[Key, Stat]] = {}
        for hour, series in self._hours.items():
            _merge_into(hours.setdefault(hour, {}), series)
        for slot, held in kept:
            if held:
                _merge_into(hours.setdefault(_hour_of(slot), {}), held)
        return hours

    def _sample(self, now: float) -> None:
        self._samples.setdefault(int(now // HOUR_S), []).append(sample_of(self._live(), now))

    async def flush(self) -> int:
        """Write the hours this process holds; return how many rows were written."""
        now = self._clock()
        hour_now = int(now // HOUR_S)
        self._sample(now)
        hours = self.snapshot()
        rows = [
            {
                "hour": hour,
                "process": self._process,
                "series": orjson.dumps(
                    [[list(key), stat.to_list()] for key, stat in series.items()]
                ).decode(),
                "samples": orjson.dumps(self._samples.get(hour, [])).decode(),
                "updated_at": int(now * 1_000_000),
            }
            for hour, series in sorted(hours.items())
        ]
        for hour in sorted(self._samples.keys() - hours.keys()):
            rows.append(
                {
                    "hour": hour,
                    "process": self._process,
                    "series": "[]",
                    "samples": orjson.dumps(self._samples[hour]).decode(),
                    "updated_at": int(now * 1_000_000),
                }
            )
        if not rows:
            return 0
        async with self._engine.begin() as conn:
            for row in rows:
                await conn.execute(
                    delete(ops_hours).where(
                        ops_hours.c.hour == row["hour"], ops_hours.c.process == self._process
                    )
                )
            await conn.execute(ops_hours.insert(), rows)
        # An hour the ring no longer reaches is complete once written: forget it.
        # Never past the hour this flush began in: the ring may have moved on meanwhile, and an
        # hour's series and samples are forgotten together or not at all.
        oldest_kept = min(
            min((_hour_of(slot) for slot, _ in self._ring.slots()), default=hour_now), hour_now
        )
        for hour in [h for h in self._hours if h < oldest_kept]:
            del self._hours[hour]
        for hour in [h for h in self._samples if h < oldest_kept]:
            del self._samples[hour]
        return len(rows)

    async def start(self) -> None:
        """Sample once (the report reads the first sample as the time the process came up),
        then flush every ``interval_s`` until stopped."""
        if self._task is None:
            self._sample(self._clock())
            self._task = asyncio.create_task(self._run(), name="barberpro-ops-ledger")

    async def stop(self) -> None:
        """Stop the loop and write a last time."""
        await background.cancel(self._task)
        self._task = None
        try:
            await self.flush()
        except Exception as exc:
            log.warning("operations ledger: last flush failed", error=repr(exc))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception as exc:  # the database may be away for a while: try again later
                log.warning("operations ledger flush failed", error=repr(exc))


@dataclass(frozen=True, slots=True)
class Day:
    """Every process's series over a range of hours, merged, and their gauge samples."""

    series: dict[Key, Stat]
    http_by_hour: dict[int, Stat]  # every request of each hour
    samples: list[dict[str, Any]]  # SAMPLE_FIELDS, and "process": the process that took it
    processes: int
    first_at: float | None  # the earliest sample: when the service was first seen up
    last_at: float | None


async def read_day(engine: AsyncEngine, start_s: int, end_s: int) -> Day:
    """Return the merged series and samples of the hours in [start_s, end_s)."""
    query = select(
        ops_hours.c.hour, ops_hours.c.process, ops_hours.c.series, ops_hours.c.samples
    ).where(ops_hours.c.hour >= start_s // HOUR_S, ops_hours.c.hour < -(-end_s // HOUR_S))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    series: dict[Key, Stat] = {}
    by_hour: dict[int, Stat] = {}
    samples: list[dict[str, Any]] = []
    for row in rows:
        for parts, data in orjson.loads(row.series):
            key = tuple(parts)
            found = series.get(key)
            stat = Stat.from_list(edges_for(key[0]), data)
            if key[0] == "http":
                by_hour.setdefault(int(row.hour), Stat(edges_for("http"))).merge(stat)
            if found is None:
                series[key] = stat
            else:
                found.merge(stat)
        samples.extend(
            {**dict(zip(SAMPLE_FIELDS, s, strict=True)), "process": row.process}
            for s in orjson.loads(row.samples)
        )
    samples.sort(key=lambda s: s["at"])
    return Day(
        series=series,
        http_by_hour=by_hour,
        samples=samples,
        processes=len({row.process for row in rows}),
        first_at=samples[0]["at"] if samples else None,
        last_at=samples[-1]["at"] if samples else None,
    )
