"""Query timing on SQLite and PostgreSQL: fingerprints, slow log, route time, failures."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text

from barberpro.db.engine import create_engine
from barberpro.monitoring.metrics import Metrics
from barberpro.monitoring.queries import QueryTimer, fingerprint, operation_of
from barberpro.monitoring.service import Monitor
from barberpro.monitoring.windows import Ring, window


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        (
            "SELECT * FROM t WHERE id = 5 AND name = 'O''Brien' AND x IN (1, 2, 3)",
            "SELECT * FROM t WHERE id = ? AND name = ? AND x IN (?+)",
        ),
        (
            "SELECT a FROM t WHERE id IN ($1, $2,\n $3) AND b = $4",
            "SELECT a FROM t WHERE id IN (?+) AND b = ?",
        ),
        (
            "select x from t where y > 3.5e3 and z = :name -- note",
            "select x from t where y > ? and z = ?",
        ),
        (
            "INSERT INTO e (a, b) VALUES (?, ?), (?, ?), (?, ?)",
            "INSERT INTO e (a, b) VALUES (?, ?)+",
        ),
        ("UPDATE t1 SET c2 = %(c2)s WHERE /* hint */ id = %s", "UPDATE t1 SET c2 = ? WHERE id = ?"),
    ],
)
def test_fingerprint_normalises_values(sql: str, shape: str) -> None:
    """Literals, parameters, IN-lists, VALUES rows and whitespace are normalised."""
    assert fingerprint(sql) == shape


def test_same_query_with_other_values_has_one_fingerprint() -> None:
    """Different IN-list lengths and literals give the same fingerprint; identifiers stay."""
    a = fingerprint("SELECT * FROM t2 WHERE id IN (1,2) AND s = 'x'")
    b = fingerprint("SELECT  *  FROM t2 WHERE id IN (7, 8, 9, 10) AND s = 'yy'")
    assert a == b
    assert "t2" in a


@pytest.mark.parametrize(
    ("sql", "op"),
    [
        ("SELECT ?", "select"),
        ("insert into x values (?)", "insert"),
        ("WITH c AS (SELECT ?) DELETE FROM t", "delete"),
        ("PRAGMA journal_mode=WAL", "other"),
    ],
)
def test_operation_of(sql: str, op: str) -> None:
    """The operation label is the statement's verb, other when it has none of the four."""
    assert operation_of(sql) == op


def _monitor(client: httpx.AsyncClient) -> Monitor:
    monitor: Monitor = client.app.state.services.monitor  # type: ignore[attr-defined]
    return monitor


def _inserts_events(fingerprint: str) -> bool:
    """Whether the statement is the writer's events insert (on PostgreSQL a CTE of a larger
    statement, which also takes the writer lock and upserts the sessions)."""
    return fingerprint.startswith("INSERT OR IGNORE INTO events") or (
        fingerprint.startswith("WITH ") and "INSERT INTO events" in fingerprint
    )


async def test_queries_are_timed_by_fingerprint_and_attributed_to_routes(
    app_factory: Callable[..., Any],
) -> None:
    """Ingestion and health queries appear by fingerprint, counted, on both databases."""
    async with app_factory(mp_worker_enabled=False, alert_enabled=False) as client:
        for n in range(3):
            answer = await client.post(
                "/api/v1/analytics/action",
                json={"session_id": f"s-{n}", "action": "barber.viewed", "properties": {"n": n}},
            )
            assert answer.status_code == 202
        assert (await client.get("/api/v1/monitoring/health")).status_code == 200
        dashboard = (await client.get("/api/v1/monitoring/dashboard?window=1m")).json()
    db = dashboard["db"]
    inserts = [
        f
        for f in db["slowest"] + []
        if _inserts_events(f["fingerprint"]) and "?" in f["fingerprint"]
    ]
    monitor_rows = [
        r for r in dashboard["http"]["routes"] if r["route"] == "/api/v1/monitoring/health"
    ]
    assert db["queries"] > 0
    assert db["p95_ms"] is not None
    assert monitor_rows
    assert monitor_rows[0]["db_queries_per_request"] >= 1
    all_shapes = window([_monitor(client).ring.slots()], now=_monitor(client).clock(), window_s=60)
    event_inserts = [
        stat.count for key, stat in all_shapes.items() if key[0] == "db" and _inserts_events(key[1])
    ]
    assert sum(event_inserts) == 3  # one statement per request: the values never split it
    assert inserts or db["fingerprints"] > 10
    assert db["connection_failures"] == 0


async def test_slow_queries_are_logged_without_parameters(
    app_factory: Callable[..., Any],
) -> None:
    """Over BARBERPRO_SLOW_QUERY_MS a statement is logged with its fingerprint, not its values."""
    async with app_factory(slow_query_ms=0, mp_worker_enabled=False, alert_enabled=False) as client:
        engine = client.app.state.services.engine
        with structlog.testing.capture_logs() as logs:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 'secret-dni-30111222' AS x"))
    slow = [e for e in logs if e["event"] == "slow query"]
    assert any(e["fingerprint"] == "SELECT ? AS x" for e in slow)
    assert not any("30111222" in str(e) for e in logs)


async def test_statement_errors_are_counted_as_query_errors(
    app_factory: Callable[..., Any],
) -> None:
    """A failing statement is timed as an error of its fingerprint, not a connection failure."""
    async with app_factory(mp_worker_enabled=False, alert_enabled=False) as client:
        engine = client.app.state.services.engine
        with pytest.raises(Exception, match="no_such_table"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT * FROM no_such_table WHERE id = 1"))
        monitor = _monitor(client)
        series = window([monitor.ring.slots()], now=monitor.clock(), window_s=60)
    stat = series[("db", "SELECT * FROM no_such_table WHERE id = ?", "select")]
    assert (stat.count, stat.errors) == (1, 1)
    assert ("db_conn_fail",) not in series


def _unreachable(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    return "postgresql+asyncpg://postgres@127.0.0.1:1/none"


async def test_connection_failures_are_counted(database_url: str, tmp_path: Path) -> None:
    """A database that cannot be reached counts barberpro_db_connection_failures_total."""
    ring = Ring(lambda: 1_800_000_000.0)
    metrics = Metrics()
    timer = QueryTimer(ring=ring, metrics=metrics, slow_query_ms=50)
    engine = create_engine(_unreachable(database_url, tmp_path))
    timer.attach(engine)
    try:
        for _ in range(2):
            with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's own error class
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
    finally:
        timer.detach()
        await engine.dispose()
        # aiosqlite leaves the worker thread of a connection that failed to open; collect it now
        # and let its last callback land while this test's event loop still runs.
        gc.collect()
        await asyncio.sleep(0.1)
    assert metrics.registry.get_sample_value("barberpro_db_connection_failures_total") == 2
    series = window([ring.slots()], now=1_800_000_000.0, window_s=60)
    assert series[("db_conn_fail",)].count == 2


async def test_executemany_is_one_timed_statement(database_url: str) -> None:
    """An executemany with many parameter sets is one statement in the counts."""
    ring = Ring(lambda: 1_800_000_000.0)
    metrics = Metrics()
    timer = QueryTimer(ring=ring, metrics=metrics, slow_query_ms=10_000)
    engine = create_engine(database_url)
    timer.attach(engine)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE bp_many (id INTEGER, name VARCHAR(20))"))
            await conn.execute(
                text("INSERT INTO bp_many (id, name) VALUES (:id, :name)"),
                [{"id": i, "name": f"n{i}"} for i in range(50)],
            )
    finally:
        timer.detach()
        await engine.dispose()
    series = window([ring.slots()], now=1_800_000_000.0, window_s=60)
    inserts = {k[1]: s.count for k, s in series.items() if k[0] == "db" and k[2] == "insert"}
    assert inserts == {"INSERT INTO bp_many (id, name) VALUES (?, ?)": 1}
    assert (
        metrics.registry.get_sample_value("barberpro_db_queries_total", {"operation": "insert"})
        == 1
    )
