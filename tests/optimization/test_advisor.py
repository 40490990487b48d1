"""Index advice checked by the planner: SQLite's query plan, PostgreSQL's costs under hypopg."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.db.engine import create_engine
from barberpro.monitoring.service import Monitor
from barberpro.optimization import advisor
from tests.optimization.conftest import OPT, serve, settings_for

STATEMENT = "SELECT * FROM t WHERE a = ? AND b > ? ORDER BY c"

by_dialect = pytest.mark.parametrize(
    "database_url",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
    indirect=True,
)


async def _fill(engine: AsyncEngine) -> None:
    """Create t: 2000 rows, 100 values of a, no index but its primary key."""
    sqlite = engine.dialect.name == "sqlite"
    key = "INTEGER PRIMARY KEY" if sqlite else "SERIAL PRIMARY KEY"
    rows = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "SELECT i % 100, i, i % 37 FROM n"
        if sqlite
        else "SELECT i % 100, i, i % 37 FROM generate_series(1, 2000) AS i"
    )
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE TABLE t (id {key}, a INTEGER, b INTEGER, c INTEGER)")
        await conn.exec_driver_sql(f"INSERT INTO t (a, b, c) {rows}")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A table of 2000 rows without any index but its primary key."""
    engine = create_engine(database_url)
    await _fill(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def test_usage_reads_equality_range_and_order_columns() -> None:
    """The statement's columns by role, per table (aliases and joins resolved)."""
    found = advisor.usage(STATEMENT)
    assert found.keys() == {"t"}
    assert (found["t"].equality, found["t"].range, found["t"].order) == (["a"], ["b"], ["c"])
    joined = advisor.usage("SELECT * FROM t AS x JOIN u ON x.id = u.t_id WHERE u.k = ? AND x.a > ?")
    assert (joined["u"].equality, joined["x" if "x" in joined else "t"].range) == (["k"], ["a"])
    assert advisor.usage("INSERT INTO t (a) VALUES (?)") == {}
    assert advisor.usage("SELECT * FROM t WHERE a IN (?+)") == {}  # a fingerprint sqlglot refuses
    candidates = advisor.candidates(found["t"])
    assert candidates[:3] == [("a",), ("b",), ("c",)]
    assert ("a", "b") in candidates
    assert ("a", "c") in candidates
    assert all(len(c) <= 2 for c in candidates)
    assert advisor.covered(("a",), [["a", "b"]])
    assert not advisor.covered(("b",), [["a", "b"]])


def test_usage_of_a_statement_sqlglot_cannot_tokenize_is_empty() -> None:
    """A fingerprint cut at 2000 characters inside a quoted name is advice for nothing."""
    assert advisor.usage('SELECT * FROM t WHERE "a = ?') == {}


def test_placeholders_are_numbered_outside_quotes() -> None:
    """``?`` becomes $1, $2... for PREPARE; a ``?`` inside a string literal stays."""
    assert advisor.placeholders_to_numbered("SELECT '?', a FROM t WHERE a = ? AND b = ?") == (
        "SELECT '?', a FROM t WHERE a = $1 AND b = $2",
        2,
    )


@by_dialect
async def test_advise_proposes_the_two_column_index_starting_with_equality(
    db: AsyncEngine,
) -> None:
    """No index: one proposal for t, (a, b): the equality column first, then the range.

    SQLite: (a, b) and (a, c) both make the plan use two terms ((a=? AND b>?), or a=? and no
    temporary B-tree for ORDER BY c); the tie goes to the earlier candidate, (a, b).
    PostgreSQL: the lowest hypothetical cost, (a, b), at least 50% under the sequential scan.
    """
    found = await advisor.advise(db, [{"fingerprint": STATEMENT, "p95_ms": 80.0, "count": 40}])
    assert len(found) == 1, found
    [item] = found
    assert (item["table"], item["columns"]) == ("t", ["a", "b"])
    assert (item["fingerprint"], item["p95_ms"], item["count"]) == (STATEMENT, 80.0, 40)
    assert item["existing_indexes"] == 1  # the primary key
    assert "2 index writes per insert into t" in item["write_cost"]
    assert '("a", "b")' in item["create"]
    if db.dialect.name == "sqlite":
        assert any(line.startswith("SCAN t") for line in item["plan_before"])
        assert any("USING INDEX ix_t_a_b (a=? AND b>?)" in line for line in item["plan_after"])
    else:
        assert item["create"].startswith("CREATE INDEX CONCURRENTLY")
        assert item["cost_after"] <= item["cost_before"] * 0.5
        assert item["plan_before"] == ["Sort"] or "Seq Scan" in str(item["plan_before"])
    async with db.connect() as conn:  # the check left nothing behind
        assert len(await advisor._indexes(conn, "t")) == 1
    # ... and the pool is sound: the same advice again (a connection whose driver-side
    # prepared statements were dropped under it would fail here).
    again = await advisor.advise(db, [{"fingerprint": STATEMENT}])
    assert [(i["table"], i["columns"]) for i in again] == [("t", ["a", "b"])]


@by_dialect
async def test_advise_proposes_nothing_when_the_index_exists(db: AsyncEngine) -> None:
    """With an index on (a, b) there is nothing left worth proposing."""
    async with db.begin() as conn:
        await conn.exec_driver_sql("CREATE INDEX t_a_b ON t (a, b)")
    assert await advisor.advise(db, [{"fingerprint": STATEMENT}]) == []


@by_dialect
async def test_a_statement_on_an_unknown_table_does_not_spoil_the_others(db: AsyncEngine) -> None:
    """A slow statement on a table the inspector cannot see (another schema such as
    pg_catalog, a CTE name, a table dropped since) is skipped; the others are still advised."""
    unseen = ["SELECT * FROM gone WHERE a = ?"]
    if db.dialect.name == "postgresql":
        unseen.append("SELECT * FROM pg_catalog.pg_class WHERE relname = ?")
    found = await advisor.advise(
        db, [*({"fingerprint": sql} for sql in unseen), {"fingerprint": STATEMENT}]
    )
    assert [(i["table"], i["columns"]) for i in found] == [("t", ["a", "b"])]


@by_dialect
async def test_index_suggestions_route_advises_on_the_slowest_statements(
    database_url: str,
) -> None:
    """GET /optimization/index-suggestions: 200 JSON with the dialect, how many statements it
    read and the proposals; a slow statement the monitoring measured on t yields (a, b)."""
    async with serve(settings_for(database_url)) as client:
        app: Any = client.app  # type: ignore[attr-defined]
        engine: AsyncEngine = app.state.services.engine
        await _fill(engine)
        monitor: Monitor = app.state.services.monitor
        monitor.ring.record(("db", STATEMENT, "select"), 900.0)  # the slowest shape by far
        answer = await client.get(f"{OPT}/index-suggestions")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["dialect"] == engine.dialect.name
        assert 1 <= body["statements"] <= 10
        assert [(s["table"], s["columns"]) for s in body["suggestions"] if s["table"] == "t"] == [
            ("t", ["a", "b"])
        ]


async def test_index_suggestions_needs_the_admin_token(opt_app: Callable[..., Any]) -> None:
    """Without a token: 401."""
    async with opt_app() as client:
        anonymous = await client.get(f"{OPT}/index-suggestions", headers={"Authorization": ""})
        assert anonymous.status_code == 401
        answer = await client.get(f"{OPT}/index-suggestions")
        assert answer.status_code == 200
        assert answer.json().keys() == {"dialect", "statements", "suggestions"}
