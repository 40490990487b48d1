"""The group-commit writer: shared transactions, and on SQLite one thread call per transaction."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from barberpro.db.engine import create_engine, create_writer_engine
from barberpro.db.groupcommit import GroupCommit
from barberpro.monitoring.metrics import Metrics
from barberpro.monitoring.queries import QueryTimer
from barberpro.monitoring.windows import Ring, window


def test_writer_engine_only_for_a_sqlite_file(tmp_path: Path) -> None:
    """PostgreSQL and in-memory SQLite keep the async path; a SQLite file gets a thread engine."""
    assert create_writer_engine("postgresql+asyncpg://u@127.0.0.1/db") is None
    assert create_writer_engine("sqlite+aiosqlite://") is None
    assert create_writer_engine("sqlite+aiosqlite:///:memory:") is None
    engine = create_writer_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    assert isinstance(engine, Engine)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        engine.dispose()


@pytest.fixture
async def url(tmp_path: Path) -> str:
    """A SQLite file holding an empty table ``t``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    await engine.dispose()
    return url


@contextlib.asynccontextmanager
async def _writer(
    url: str, *, thread: bool = True
) -> AsyncIterator[tuple[AsyncEngine, Engine | None, GroupCommit]]:
    """The service's engine, the writer's thread engine (or none) and a GroupCommit on them."""
    engine = create_engine(url)
    thread_engine = create_writer_engine(url) if thread else None
    commits = GroupCommit(engine, thread_engine=thread_engine)
    try:
        yield engine, thread_engine, commits
    finally:
        await commits.close()
        if thread_engine is not None:
            thread_engine.dispose()
        await engine.dispose()


async def _insert(conn: AsyncConnection, values: list[int]) -> list[None]:
    await conn.execute(text("INSERT INTO t (id, v) VALUES (:id, 'x')"), [{"id": v} for v in values])
    return [None] * len(values)


async def _stored(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())


async def test_concurrent_writes_share_transactions_in_the_writer_thread(url: str) -> None:
    """Many callers, few commits, every row stored, all of it on the writer's own thread."""
    threads: set[str] = set()

    async def insert(conn: AsyncConnection, values: list[int]) -> list[int]:
        threads.add(threading.current_thread().name)
        await _insert(conn, values)
        result = await conn.execute(text("SELECT count(*) FROM t"))
        return [int(result.scalar_one())] * len(values)

    async with _writer(url) as (engine, _, commits):
        answers = await asyncio.gather(*(commits.run(insert, i) for i in range(200)))
        assert await _stored(engine) == 200
    assert commits.commits < 200
    assert max(answers) == 200
    assert {name.split("_")[0] for name in threads} == {"barberpro-writer"}


async def test_a_batcher_awaiting_other_io_in_the_thread_is_refused(url: str) -> None:
    """Only the connection's own calls may be awaited in the writer thread; it says so."""

    async def sleeps(conn: AsyncConnection, values: list[int]) -> list[int]:
        await conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'x')"))
        await asyncio.sleep(0)
        return values

    async with _writer(url) as (engine, _, commits):
        with pytest.raises(RuntimeError, match="awaited something other than its connection"):
            await commits.run(sleeps, 1)
        assert await _stored(engine) == 0  # the failed transaction left nothing behind


async def test_statements_of_the_writer_thread_are_timed_on_the_loop(url: str) -> None:
    """Query timing sees the writer thread's statements, recorded on the event loop's thread."""
    ring = Ring(lambda: 1_800_000_000.0)
    metrics = Metrics()
    timer = QueryTimer(ring=ring, metrics=metrics, slow_query_ms=10_000)
    recorded_on: set[int] = set()
    original = ring.record

    def record(*args: object, **kwargs: object) -> None:
        recorded_on.add(threading.get_ident())
        original(*args, **kwargs)  # type: ignore[arg-type]

    ring.record = record  # type: ignore[method-assign]
    async with _writer(url) as (engine, thread_engine, commits):
        assert thread_engine is not None
        timer.attach(engine)
        timer.attach(thread_engine)
        timer.bind(asyncio.get_running_loop())
        try:
            await asyncio.gather(*(commits.run(_insert, i) for i in range(20)))
            await asyncio.sleep(0.05)  # the hand-off to the loop is a call_soon_threadsafe away
        finally:
            timer.detach()
    series = window([ring.slots()], now=1_800_000_000.0, window_s=60)
    inserts = {k[1]: s.count for k, s in series.items() if k[0] == "db" and k[2] == "insert"}
    assert inserts == {"INSERT INTO t (id, v) VALUES (?, 'x')".replace("'x'", "?"): commits.commits}
    assert recorded_on == {threading.get_ident()}
    labels = {"operation": "insert"}
    assert (
        metrics.registry.get_sample_value("barberpro_db_queries_total", labels) == commits.commits
    )


async def test_work_queued_while_the_writer_goes_idle_is_still_written(url: str) -> None:
    """Each write right after the previous answer: the idle writer releasing its connection
    must not strand it (async path, as on PostgreSQL)."""
    async with _writer(url, thread=False) as (engine, _, commits):
        for i in range(30):
            await asyncio.wait_for(commits.run(_insert, i), timeout=10)
        assert await _stored(engine) == 30


@contextlib.asynccontextmanager
async def _pooled_writer(
    database_url: str, **options: Any
) -> AsyncIterator[tuple[AsyncEngine, GroupCommit]]:
    """An engine holding table ``t`` and a GroupCommit on its pool (the async path), closed
    and disposed of afterwards."""
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    commits = GroupCommit(engine, **options)
    try:
        yield engine, commits
    finally:
        await commits.close()
        await engine.dispose()


async def test_the_writer_keeps_its_connection_while_work_keeps_coming(database_url: str) -> None:
    """Back-to-back transactions share one checkout (no pool rollback and ping between them);
    once idle for ``keep_connection_s`` the connection goes back to the pool."""
    async with _pooled_writer(database_url, keep_connection_s=0.2) as (engine, commits):
        checkouts: list[object] = []
        checked_in = asyncio.Event()
        event.listen(engine.sync_engine.pool, "checkout", lambda *args: checkouts.append(args))
        event.listen(engine.sync_engine.pool, "checkin", lambda *args: checked_in.set())
        for i in range(20):
            await commits.run(_insert, i)
        assert (commits.commits, len(checkouts), checked_in.is_set()) == (20, 1, False)
        async with asyncio.timeout(30):  # a hang guard, not a timing
            await checked_in.wait()
        await commits.run(_insert, 20)
        assert len(checkouts) == 2
        assert await _stored(engine) == 21


async def test_closing_an_idle_writer_gives_its_connection_back_at_once(database_url: str) -> None:
    """close() does not wait out the keep-alive of an idle writer's connection."""
    async with _pooled_writer(database_url, keep_connection_s=3600) as (engine, commits):
        await commits.run(_insert, 1)
        assert engine.sync_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        async with asyncio.timeout(30):  # without the wake-up this would wait an hour
            await commits.close()
        assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def _insert_in_transaction(conn: AsyncConnection, values: list[int]) -> list[bool]:
    """Insert ``values``; answer, for each, whether the driver is inside a transaction."""
    await _insert(conn, values)
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return [driver.is_in_transaction()] * len(values)


async def test_one_statement_batches_run_in_autocommit_on_postgresql(postgres_url: str) -> None:
    """A batch of one-statement payloads alone sends no BEGIN (the statement is its own
    transaction); one with any other payload runs in a transaction; the writer keeps one
    connection of each kind."""
    async with _pooled_writer(postgres_url) as (engine, commits):
        checkouts: list[object] = []
        event.listen(engine.sync_engine.pool, "checkout", lambda *args: checkouts.append(args))
        assert await commits.run(_insert_in_transaction, 1, one_statement=True) is False
        assert await commits.run(_insert_in_transaction, 2) is True
        assert await commits.run(_insert_in_transaction, 3, one_statement=True) is False
        mixed = await asyncio.gather(
            commits.run(_insert_in_transaction, 4, one_statement=True),
            commits.run(_insert_in_transaction, 5),
        )
        assert mixed == [True, True]
        for value in range(6, 26):  # one kept connection of each kind, whatever the order
            await commits.run(_insert_in_transaction, value, one_statement=value % 2 == 0)
        assert len(checkouts) == 2
        assert await _stored(engine) == 25


async def test_a_kept_connection_lost_meanwhile_is_replaced(postgres_url: str) -> None:
    """The server ends the idle writer's kept connection; the next write still succeeds, on a
    new connection, instead of failing where the pool's ping would have caught it."""
    async with _pooled_writer(postgres_url, keep_connection_s=3600) as (engine, commits):
        await commits.run(_insert, 1)
        async with engine.connect() as conn:
            ended = await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            assert ended.scalars().all() == [True]
        await commits.run(_insert, 2)
        assert await _stored(engine) == 2
