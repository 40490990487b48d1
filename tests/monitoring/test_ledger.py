"""The operations ledger: each process's series kept by UTC hour in `ops_hours`, on a set clock.

Slots leaving the 15-minute ring are added to their hour; a flush writes one cumulative row per
(hour, process) that replaces the last one; :func:`read_day` adds the processes' rows up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.argentina.timezone import art_day_bounds
from barberpro.db import migrate
from barberpro.db.engine import create_engine
from barberpro.db.tables import ops_hours
from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat
from barberpro.monitoring.ledger import HOUR_S, SAMPLE_FIELDS, Day, OpsLedger, read_day
from barberpro.monitoring.windows import KEEP_S, SLOT_S, Key, Ring
from barberpro.report.operations import Thresholds, operations

GET: Key = ("http", "/api/v1/analytics/dashboard", "GET", "2xx")
FAILED: Key = ("http", "/api/v1/analytics/dashboard", "GET", "5xx")
OUTCOME: Key = ("webhook_outcome", "mercadopago", "payment")


def at(hour: int, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a UTC time on 2026-12-04."""
    return datetime(2026, 12, 4, hour, minute, second, tzinfo=UTC).timestamp()


H10, H11 = int(at(10) // HOUR_S), int(at(11) // HOUR_S)


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def gauges(memory: float = 12.5, cpu: float = 30.0, ws: int = 3) -> dict[str, Any]:
    """A process's live state as Monitor.live() gives it (the parts a sample reads)."""
    return {
        "system": {
            "memory_percent": memory,
            "rss_bytes": 150_000_000,
            "cpu_percent": cpu,
            "loop_lag_ms": 1.5,
            "loop_lag_max_ms": 4.0,
        },
        "websocket": {"active": ws},
        "pool": {"checked_out": 2, "capacity": 20},
    }


def make(
    engine: AsyncEngine,
    clock: Clock,
    process: str = "api-1:1796400000",
    live: Mapping[str, Any] | None = None,
) -> tuple[Ring, OpsLedger]:
    ring = Ring(clock)
    state = gauges() if live is None else live
    ledger = OpsLedger(
        ring=ring, engine=engine, process=process, live=lambda: state, interval_s=3600, clock=clock
    )
    return ring, ledger


def counts(series: Mapping[Key, Stat]) -> dict[Key, tuple[int, int]]:
    """Each key's (count, errors)."""
    return {key: (stat.count, stat.errors) for key, stat in series.items()}


async def rows(engine: AsyncEngine) -> list[Row[Any]]:
    query = select(ops_hours).order_by(ops_hours.c.hour, ops_hours.c.process)
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


def row_counts(row: Row[Any]) -> dict[Key, tuple[int, int]]:
    return {tuple(key): (data[0], data[1]) for key, data in orjson.loads(row.series)}


async def hours(engine: AsyncEngine, first: int, last: int) -> Day:
    """The merged series of hours first..last (inclusive)."""
    return await read_day(engine, first * HOUR_S, (last + 1) * HOUR_S)


async def _migrated(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine, once on SQLite and once on PostgreSQL (for the tests of what a flush
    writes and read_day reads; the rest run on SQLite alone)."""
    async for found in _migrated(database_url):
        yield found


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on SQLite, for what does not depend on the database."""
    async for found in _migrated(sqlite_url):
        yield found


async def test_slots_leaving_the_ring_land_in_their_hour(sqlite_engine: AsyncEngine) -> None:
    """Once both slots are older than the ring keeps, each is held in its own hour."""
    clock = Clock(at(10, 59, 50))
    ring, ledger = make(sqlite_engine, clock)
    ring.record(GET, 12.0)
    clock.now = at(11)
    ring.record(GET, 30.0)
    ring.record(GET, 40.0)
    clock.now += KEEP_S + SLOT_S
    assert all(not series for _, series in ring.slots())  # both evicted
    held = ledger.snapshot()
    assert {hour: counts(series) for hour, series in held.items()} == {
        H10: {GET: (1, 0)},
        H11: {GET: (2, 0)},
    }
    assert (held[H10][GET].total, held[H11][GET].max) == (12.0, 40.0)


async def test_a_slot_at_10_59_50_and_one_at_11_00_00_fall_in_two_hours(
    sqlite_engine: AsyncEngine,
) -> None:
    """The last slot of 10:00 goes to that hour's row, the first of 11:00 to the next one."""
    clock = Clock(at(10, 59, 50))
    ring, ledger = make(sqlite_engine, clock)
    ring.record(GET, 5.0)
    clock.now = at(10, 59, 59)
    ring.record(GET, 6.0)  # the same slot as 10:59:50
    clock.now = at(11)
    ring.record(GET, 7.0)
    assert await ledger.flush() == 2
    written = await rows(sqlite_engine)
    assert [(r.hour, row_counts(r)) for r in written] == [
        (H10, {GET: (2, 0)}),
        (H11, {GET: (1, 0)}),
    ]
    ten, eleven, both = (
        await hours(sqlite_engine, H10, H10),
        await hours(sqlite_engine, H11, H11),
        await hours(sqlite_engine, H10, H11),
    )
    assert counts(ten.series) == {GET: (2, 0)}
    assert ten.series[GET].total == 11.0
    assert counts(eleven.series) == {GET: (1, 0)}
    assert counts(both.series) == {GET: (3, 0)}
    assert {h: s.count for h, s in both.http_by_hour.items()} == {H10: 2, H11: 1}
    # The flush's sample was taken at 11:00:00: it belongs to 11:00.
    assert (len(ten.samples), len(eleven.samples)) == (0, 1)


async def test_a_flush_replaces_its_row_with_the_running_total(engine: AsyncEngine) -> None:
    """Each flush rewrites the hour's row cumulatively: 3 then 5 requests, never 8; an hour the
    ring no longer reaches is written a last time and then left alone."""
    clock = Clock(at(10, 0, 5))
    ring, ledger = make(engine, clock)
    for value in (1.0, 2.0, 3.0):
        ring.record(GET, value)
    assert await ledger.flush() == 1
    first = await rows(engine)
    assert [(r.hour, row_counts(r)) for r in first] == [(H10, {GET: (3, 0)})]

    clock.now += 20
    ring.record(GET, 4.0)
    ring.record(GET, 5.0)
    assert await ledger.flush() == 1
    second = await rows(engine)
    assert [(r.hour, row_counts(r)) for r in second] == [(H10, {GET: (5, 0)})]
    assert second[0].updated_at > first[0].updated_at

    clock.now += KEEP_S  # the slots leave the ring: the ledger holds them now, counted once
    await ledger.flush()
    assert counts((await hours(engine, H10, H10)).series) == {GET: (5, 0)}

    clock.now = at(11, 20)  # no slot of 10:00 is kept any more
    await ledger.flush()
    final = await rows(engine)
    assert [(r.hour, row_counts(r)) for r in final] == [(H10, {GET: (5, 0)}), (H11, {})]
    assert len(orjson.loads(final[0].samples)) == 3  # the three flushes of 10:00
    assert final[1].series == "[]"  # 11:00 has a sample and nothing else yet

    clock.now += 60
    assert await ledger.flush() == 1  # 11:00 only
    later = await rows(engine)
    assert later[0] == final[0]  # 10:00 is complete: not written again
    assert len(orjson.loads(later[1].samples)) == 2
    day = await hours(engine, H10, H11)
    assert day.series[GET].count == 5
    assert day.series[GET].total == 15.0


async def test_slots_the_flush_itself_evicts_are_written(sqlite_engine: AsyncEngine) -> None:
    """Nothing happened after 10:59:55 until the flush at 11:15: reading the ring for that flush
    evicts the 10:59:50 slot and leaves no slot of 10:00 kept, so this flush is the hour's last
    write; the evicted slot is in it, not forgotten."""
    clock = Clock(at(10, 59, 55))
    ring, ledger = make(sqlite_engine, clock)
    ring.record(GET, 8.0)
    clock.now = at(11, 15)
    await ledger.flush()
    assert [(r.hour, row_counts(r)) for r in await rows(sqlite_engine)] == [
        (H10, {GET: (1, 0)}),
        (H11, {}),
    ]
    clock.now += 60
    await ledger.flush()
    assert counts((await hours(sqlite_engine, H10, H11)).series) == {GET: (1, 0)}


async def test_two_processes_rows_add_up_in_read_day(engine: AsyncEngine) -> None:
    """Two processes write a row each for the hour; read_day adds them, histograms included."""
    clock = Clock(at(10, 30))
    ring_a, a = make(engine, clock, "api-1:100", gauges(memory=10.0))
    ring_b, b = make(engine, clock, "api-2:100", gauges(memory=20.0))
    for value in (10.0, 20.0, 30.0):
        ring_a.record(GET, value)
    for value in (40.0, 40.0):
        ring_b.record(GET, value)
    ring_b.record(FAILED, 500.0, error=True)
    await a.flush()
    clock.now += 1
    await b.flush()
    clock.now += 1
    await a.flush()  # a second row of the same process replaces the first
    assert [(r.hour, r.process) for r in await rows(engine)] == [
        (H10, "api-1:100"),
        (H10, "api-2:100"),
    ]
    day = await hours(engine, H10, H10)
    assert counts(day.series) == {GET: (5, 0), FAILED: (1, 1)}
    expected = Stat(LATENCY_EDGES_MS)
    for value in (10.0, 20.0, 30.0, 40.0, 40.0):
        expected.record(value)
    merged = day.series[GET]
    assert (merged.total, merged.min, merged.max) == (140.0, 10.0, 40.0)
    assert merged.buckets == expected.buckets
    assert merged.quantile(0.95) == expected.quantile(0.95)
    hour = day.http_by_hour[H10]
    assert (hour.count, hour.errors) == (6, 1)
    assert day.processes == 2
    assert [(s["process"], s["memory_percent"]) for s in day.samples] == [
        ("api-1:100", 10.0),
        ("api-2:100", 20.0),
        ("api-1:100", 10.0),
    ]


async def test_a_retracted_attempt_counts_once(sqlite_engine: AsyncEngine) -> None:
    """A notification failed at 10:59:55 and succeeded on its retry at 11:00:05: the first
    attempt leaves 10:00's row at the next flush, so the day counts one notification, a success.
    """
    clock = Clock(at(10, 59, 55))
    ring, ledger = make(sqlite_engine, clock)
    ring.add(OUTCOME, 1, 1)
    first = ring.slot
    await ledger.flush()
    assert counts((await hours(sqlite_engine, H10, H10)).series) == {OUTCOME: (1, 1)}

    clock.now = at(11, 0, 5)
    assert ring.retract(first, OUTCOME, errors=1)
    ring.add(OUTCOME, 1, 0)
    second = ring.slot
    await ledger.flush()
    assert counts((await hours(sqlite_engine, H10, H10)).series) == {OUTCOME: (0, 0)}
    day = await hours(sqlite_engine, H10, H11)
    assert counts(day.series) == {OUTCOME: (1, 0)}
    start, end = (int(t.timestamp()) for t in art_day_bounds(date(2026, 12, 4)))
    webhooks = operations(day, start_s=start, end_s=end, limits=Thresholds())["webhooks"]
    assert (webhooks["count"], webhooks["failures"], webhooks["meets_target"]) == (1, 0, True)

    # Past the kept window the ring refuses a retraction: what was written stays as it was.
    clock.now += KEEP_S + SLOT_S
    assert not ring.retract(second, OUTCOME)
    await ledger.flush()
    assert counts((await hours(sqlite_engine, H10, H11)).series) == {OUTCOME: (1, 0)}


async def test_each_flush_keeps_a_sample_of_the_gauges(sqlite_engine: AsyncEngine) -> None:
    """A sample when the ledger starts, one a flush, one when it stops, in SAMPLE_FIELDS order;
    read_day gives them as dicts naming their process, and the first and last instants."""
    clock = Clock(at(10))
    live = gauges(memory=12.5, cpu=30.0, ws=3)
    _ring, ledger = make(sqlite_engine, clock, live=live)
    await ledger.start()
    clock.now = at(10, 0, 30)
    live["system"]["memory_percent"] = 14.0
    await ledger.flush()
    clock.now = at(10, 1)
    live["websocket"]["active"] = 7
    await ledger.stop()
    (row,) = await rows(sqlite_engine)
    assert row.series == "[]"  # no traffic: the samples alone
    assert orjson.loads(row.samples) == [
        [at(10), 12.5, 150_000_000.0, 30.0, 1.5, 4.0, 3.0, 2.0, 20.0],
        [at(10, 0, 30), 14.0, 150_000_000.0, 30.0, 1.5, 4.0, 3.0, 2.0, 20.0],
        [at(10, 1), 14.0, 150_000_000.0, 30.0, 1.5, 4.0, 7.0, 2.0, 20.0],
    ]
    day = await hours(sqlite_engine, H10, H10)
    assert [set(s) for s in day.samples] == [{*SAMPLE_FIELDS, "process"}] * 3
    assert [s["ws_active"] for s in day.samples] == [3.0, 3.0, 7.0]
    assert (day.first_at, day.last_at) == (at(10), at(10, 1))


async def test_the_first_hour_is_rated_from_the_process_start(
    sqlite_engine: AsyncEngine,
) -> None:
    """A process up at 10:59:30 answers 30 requests before 11:00 and first flushes at 11:00:30:
    10:00 served 30 requests in 30 s (1/s), not in 1 s. The ledger samples when it starts, so
    the report knows when the process came up."""
    clock = Clock(at(10, 59, 30))
    ring, ledger = make(sqlite_engine, clock)
    await ledger.start()
    for second in range(30):
        clock.now = at(10, 59, 30 + second)
        ring.record(GET, 5.0)
    clock.now = at(11, 0, 30)
    await ledger.stop()
    start, end = (int(t.timestamp()) for t in art_day_bounds(date(2026, 12, 4)))
    day = await read_day(sqlite_engine, start, end)
    assert day.first_at == at(10, 59, 30)
    ops = operations(day, start_s=start, end_s=end, limits=Thresholds())
    ten = ops["hourly"][10 - 3]  # 10:00 UTC is 07:00 ART
    assert (ten["starts_at"], ten["requests"], ten["rps"]) == ("2026-12-04T10:00:00.000Z", 30, 1.0)
    assert ops["served_s"] == 60.0
