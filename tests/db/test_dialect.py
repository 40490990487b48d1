"""The writer's compiled statements: new-row inserts and upserts, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.db.dialect import CompiledUpsert, InsertNew, upsert
from barberpro.db.engine import create_engine

_META = MetaData()
_ITEMS = Table(
    "dialect_items",
    _META,
    Column("key", String(36), primary_key=True),
    Column("value", Integer, nullable=False),
)
_COUNTS = Table(
    "dialect_counts",
    _META,
    Column("key", String(36), primary_key=True),
    Column("count", Integer, nullable=False),
)


def _add_counts(dialect: str) -> object:
    stmt = upsert(dialect, _COUNTS)
    return stmt.on_conflict_do_update(
        index_elements=["key"], set_={"count": _COUNTS.c.count + stmt.excluded.count}
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_META.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_insert_new_tells_new_rows_from_existing_ones(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All new, all known, and mixed chunks (over several statements) each answer exactly."""
    monkeypatch.setattr(InsertNew, "SQLITE_ROWS", 3)
    insert = InsertNew(_ITEMS, "key")
    async with engine.begin() as conn:
        first = await insert.execute(conn, [{"key": f"k{i}", "value": i} for i in range(5)])
    assert first == {f"k{i}" for i in range(5)}
    rows = [{"key": f"k{i}", "value": 100 + i} for i in range(3, 10)]
    async with engine.begin() as conn:
        assert await insert.execute(conn, rows) == {f"k{i}" for i in range(5, 10)}
        assert await insert.execute(conn, rows) == set()
    async with engine.connect() as conn:
        stored = dict((await conn.execute(select(_ITEMS.c.key, _ITEMS.c.value))).tuples().all())
    assert stored == {f"k{i}": i if i < 5 else 100 + i for i in range(10)}


def test_insert_new_refuses_an_integer_key() -> None:
    """An integer primary key is SQLite's rowid: new rows could not be told by rowid."""
    with pytest.raises(ValueError, match="integer primary key"):
        InsertNew(Table("numbered", MetaData(), Column("n", Integer, primary_key=True)), "n")


async def test_compiled_upsert_adds_up_across_statements(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows split over several SQLite statements, then conflicting ones, add up exactly."""
    monkeypatch.setattr(CompiledUpsert, "SQLITE_PARAMS", 4)  # two rows per statement
    add = CompiledUpsert(_add_counts, ("key", "count"), conflict=("key",))
    async with engine.begin() as conn:
        await add.execute(conn, [{"key": f"c{i}", "count": i} for i in range(5)])
        await add.execute(conn, [{"key": f"c{i}", "count": 10} for i in range(2, 7)])
        # A key twice in one call: PostgreSQL cannot update a row twice in one statement, so
        # these go row by row, in order, as SQLite's multi-row statement applies them.
        await add.execute(conn, [{"key": "c0", "count": 1}, {"key": "c0", "count": 2}])
        await add.execute(conn, [])
    async with engine.connect() as conn:
        stored = dict((await conn.execute(select(_COUNTS.c.key, _COUNTS.c.count))).tuples().all())
        total = (await conn.execute(select(func.count()).select_from(_COUNTS))).scalar_one()
    assert stored == {"c0": 3, "c1": 1, "c2": 12, "c3": 13, "c4": 14, "c5": 10, "c6": 10}
    assert total == 7


@pytest.mark.postgres
async def test_compiled_upsert_set_based_adds_up_the_same(postgres_url: str) -> None:
    """PostgreSQL: the set-based form (rows as JSON), inside a larger statement, adds up as
    executemany does."""
    engine = create_engine(postgres_url)
    add = CompiledUpsert(_add_counts, ("key", "count"), conflict=("key",))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_META.create_all)
            await add.execute(conn, [{"key": "a", "count": 1}, {"key": "b", "count": 2}])
            sql, rows = add.set_based(
                conn.dialect,
                [{"key": "b", "count": 5}, {"key": "c", "count": 7}],
                parameter=2,
            )
            await conn.exec_driver_sql(
                f"WITH one_ AS (SELECT $1::int AS n), add_ AS ({sql}) SELECT n FROM one_",
                (1, rows),
            )
        async with engine.connect() as conn:
            rows = await conn.execute(select(_COUNTS.c.key, _COUNTS.c.count))
            stored = dict(rows.tuples().all())
    finally:
        await engine.dispose()
    assert stored == {"a": 1, "b": 7, "c": 7}
