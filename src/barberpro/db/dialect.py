"""Where SQLite and PostgreSQL differ, in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Executable,
    Integer,
    Select,
    Table,
    case,
    func,
    literal_column,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert(dialect_name: str, table: Table) -> Any:
    """Return an INSERT for ``table`` that supports ``on_conflict_do_*`` on this dialect.

    Both dialects spell ON CONFLICT the same way in SQLAlchemy; only the construct's class
    differs, so callers stay dialect-free.
    """
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect: {dialect_name!r}")


def first_per_group(
    dialect_name: str,
    query: Select[Any],
    *,
    group: ColumnElement[Any],
    rank: Sequence[ColumnElement[Any]],
    best: ColumnElement[Any],
) -> Select[Any]:
    """Return ``query`` narrowed to the first row of each ``group`` by ``rank``.

    PostgreSQL: ``DISTINCT ON``. SQLite: ``GROUP BY`` with ``MAX(best)``, whose bare columns
    come from the row holding the maximum (a documented SQLite rule), so ``best`` must be a
    number that orders rows as ``rank`` does. Both avoid a window function over every row.
    """
    if dialect_name == "postgresql":
        return query.distinct(group).order_by(group, *rank)
    return query.add_columns(func.max(best).label("best")).group_by(group)


async def driver_rows(conn: AsyncConnection, query: Executable) -> list[Any]:
    """Return the rows of ``query`` as the driver hands them over (tuples on SQLite).

    For large results of plain values (integers, strings: no result processing): building
    SQLAlchemy's row objects and fetching them one at a time cost more than the query itself
    on SQLite. The statement still goes through the engine, so its events (the monitoring's
    statement timings) see it.
    """
    result = await conn.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def floor_div(sql: str, width: int) -> str:
    """Return SQL text dividing the integer expression ``sql`` by ``width``, rounding down.

    Both databases' integer division rounds towards zero, which puts an instant before 1970 in
    the bucket after its own; Python's ``//`` (the writer's buckets, see
    ``barberpro.argentina.timezone``) rounds down. Plain integer arithmetic, the same on
    SQLite (whose ``floor()`` is an optional extension) and PostgreSQL.
    """
    w = int(width)
    if w <= 0:
        raise ValueError(f"a bucket width must be positive, not {width}")
    return f"CASE WHEN ({sql}) < 0 THEN (({sql}) + 1) / {w} - 1 ELSE ({sql}) / {w} END"


def bucket(column: ColumnElement[int], width: int) -> ColumnElement[int]:
    """Return ``column`` floor-divided by ``width`` as an integer on both dialects.

    The arithmetic of :func:`floor_div`, with every number inlined rather than bound so that the
    same expression in SELECT and GROUP BY renders identically (PostgreSQL matches them
    textually).
    """
    w = int(width)
    if w <= 0:
        raise ValueError(f"a bucket width must be positive, not {width}")
    zero, one = literal_column("0", BigInteger), literal_column("1", BigInteger)
    divisor = literal_column(str(w), BigInteger)
    return case(
        (column < zero, (column + one) // divisor - one),
        else_=column // divisor,
    )


#: Values per ``IN`` list: SQLite allows 32,766 bound parameters per statement.
IN_LIST_CHUNK = 500


async def select_in(
    conn: AsyncConnection,
    query: Select[Any],
    key: ColumnElement[Any],
    keys: Sequence[Any],
) -> list[Any]:
    """Return the rows of ``query`` whose ``key`` is among ``keys``, in ``IN`` lists of at most
    :data:`IN_LIST_CHUNK` values."""
    found: list[Any] = []
    for start in range(0, len(keys), IN_LIST_CHUNK):
        chunk = keys[start : start + IN_LIST_CHUNK]
        found.extend(await conn.execute(query.where(key.in_(chunk))))
    return found


def constant(text: str) -> ColumnElement[str]:
    """Return a string literal inlined into the SQL (same reason as :func:`bucket`)."""
    return literal_column("'" + text.replace("'", "''") + "'")


class CompiledUpsert:
    """An ``INSERT ... ON CONFLICT`` compiled once per dialect, its rows handed to the driver.

    SQLAlchemy 2.0 cannot cache the dialect-specific ON CONFLICT constructs, so building and
    compiling them on every transaction cost the writer more than the database did. This keeps
    the SQL text and the order of its parameters, and hands rows straight to the driver.

    PostgreSQL runs it as one ``INSERT ... SELECT`` of the rows sent as JSON when their conflict
    keys (``conflict``) are distinct: one execution on the server, so a statement-level trigger
    fires once, not once per row. Otherwise (a key twice, which one statement may not update
    twice) it runs with ``executemany``: one round trip, one execution per row. SQLite
    gets one multi-row ``VALUES`` statement per :attr:`SQLITE_PARAMS` values instead: ``sqlite3``
    steps each row of an ``executemany`` separately, releasing and taking back the GIL each
    time, and in the writer's thread every take-back can wait for the event loop's thread to
    let go of it. Rows of one statement are applied in order, as with ``executemany``, so a
    later row conflicting with an earlier one updates it the same way.
    """

    #: Rows per SQLite statement (its limit is 32,766 bound parameters).
    SQLITE_PARAMS = 30_000

    def __init__(
        self, build: Callable[[str], Any], keys: Sequence[str], *, conflict: Sequence[str]
    ) -> None:
        self._build = build
        self._keys = tuple(keys)
        self._conflict = tuple(conflict)
        if not set(self._conflict) <= set(self._keys):
            raise ValueError(f"conflict columns {self._conflict} must be among the keys")
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._multi: dict[int, str] = {}
        self._set_based: dict[tuple[str, int], str] = {}

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._build(dialect.name).compile(
                dialect=dialect, column_keys=list(self._keys)
            )
            names = tuple(str(name) for name in compiled.positiontup or ())
            unknown = set(names) - set(self._keys)
            if unknown:  # a bound literal would need its value; the builders use none
                raise ValueError(f"upsert binds parameters beyond its keys: {sorted(unknown)}")
            found = (compiled.string, names)
            self._compiled[dialect.name] = found
        return found

    def _sqlite_rows(self, sql: str, names: tuple[str, ...], count: int) -> str:
        found = self._multi.get(count)
        if found is None:
            row = "(" + ", ".join("?" * len(names)) + ")"
            head, values, tail = sql.partition(f"VALUES {row}")
            if not values or "?" in head or "?" in tail:
                raise ValueError(f"cannot make a multi-row upsert of: {sql}")
            found = f"{head}VALUES {', '.join([row] * count)}{tail}"
            if len(self._multi) < 64:  # the common batch sizes; others are made each time
                self._multi[count] = found
        return found

    def set_based(
        self, dialect: Dialect, rows: Sequence[Mapping[str, Any]], *, parameter: int
    ) -> tuple[str, str]:
        """PostgreSQL: the same upsert as one ``INSERT ... SELECT`` of the rows as a JSON array.

        Returns its SQL, whose only parameter is ``$<parameter>`` (so that it can sit in a
        larger statement, as a data-modifying CTE), and that parameter's value. The rows must
        have distinct conflict keys: one statement may not update a row twice.
        """
        names = self.names(dialect)
        text = self._set_based.get((dialect.name, parameter))
        if text is None:
            table = self._build(dialect.name).table
            text = self.from_select(dialect, json_select(table, names, parameter))
            self._set_based[(dialect.name, parameter)] = text
        return text, json_array([{name: row[name] for name in names} for row in rows])

    def names(self, dialect: Dialect) -> tuple[str, ...]:
        """The columns of the compiled statement, in the order its rows give them."""
        return self._sql(dialect)[1]

    def from_select(self, dialect: Dialect, select: str) -> str:
        """The same upsert of the rows of ``select`` (SQL giving :meth:`names`, in order)."""
        sql, names = self._sql(dialect)
        table = self._build(dialect.name).table
        conflict = sql[sql.index(" ON CONFLICT") :]
        return f"INSERT INTO {table.name} ({', '.join(names)}) {select}{conflict}"

    def _distinct(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Whether no two of ``rows`` share a conflict key."""
        key = self._conflict
        return len({tuple([row[name] for name in key]) for row in rows}) == len(rows)

    async def execute(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write ``rows`` (mappings holding every key): one round trip, or one statement."""
        if not rows:
            return
        if conn.dialect.name != "sqlite" and self._distinct(rows):
            text, value = self.set_based(conn.dialect, rows, parameter=1)
            await conn.exec_driver_sql(text, (value,))
            return
        sql, names = self._sql(conn.dialect)
        if conn.dialect.name != "sqlite":
            await conn.exec_driver_sql(sql, [tuple(row[name] for name in names) for row in rows])
            return
        per = max(1, self.SQLITE_PARAMS // len(names))
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            values = tuple([row[name] for row in chunk for name in names])
            await conn.exec_driver_sql(self._sqlite_rows(sql, names, len(chunk)), values)


class InsertNew:
    """``INSERT`` that skips rows whose key exists and returns the keys it did insert.

    SQLite: ``INSERT OR IGNORE ... VALUES (...), (...)``, its text made once per row count, the
    rows' values handed straight to the driver (SQLAlchemy's own multi-row insert builds the
    parameters row by row, which cost the writer more than SQLite did). Usually every row is
    new, which the statement's change count tells without reading anything back (a RETURNING
    row costs ``sqlite3`` a step, and in the writer's thread each step gives up the GIL). When
    some were already there, the rows inserted now are the last ``count`` rowids: the insert
    holds the write lock, and SQLite gives each new row the largest rowid so far plus one.
    PostgreSQL: one ``INSERT ... SELECT`` of the rows sent as JSON, ``ON CONFLICT DO NOTHING
    RETURNING``: a single statement and round trip for the whole batch, compiled once.
    Rows must hold driver-ready values, as for :class:`CompiledUpsert`.
    """

    #: Rows per SQLite statement: well inside its 32,766 bound parameters for a wide table.
    SQLITE_ROWS = 500

    def __init__(self, table: Table, key: str) -> None:
        column = table.c[key]
        if isinstance(column.type, Integer) and column.primary_key:
            # SQLite: an integer primary key is the rowid itself, which the new rows are read by.
            raise ValueError(f"{table.name}.{key}: the key must not be an integer primary key")
        self._table = table
        self._key = key
        self._columns = [c.name for c in table.columns]
        self._pg_sql: str | None = None
        self._sqlite_sql: dict[int, str] = {}

    def _sqlite(self, count: int) -> str:
        found = self._sqlite_sql.get(count)
        if found is None:
            row = "(" + ", ".join("?" * len(self._columns)) + ")"
            found = (
                f"INSERT OR IGNORE INTO {self._table.name} ({', '.join(self._columns)}) "
                f"VALUES {', '.join([row] * count)}"
            )
            if len(self._sqlite_sql) < 64:  # the common batch sizes; others are made each time
                self._sqlite_sql[count] = found
        return found

    def from_select(self, select: str) -> str:
        """PostgreSQL: the same insert of the rows of ``select`` (SQL giving every column in
        table order), returning the keys inserted."""
        return (
            f"INSERT INTO {self._table.name} ({', '.join(self._columns)}) {select} "
            f"ON CONFLICT ({self._key}) DO NOTHING RETURNING {self._key}"
        )

    def _postgres_sql(self) -> str:
        if self._pg_sql is None:
            self._pg_sql = self.from_select(json_select(self._table, self._columns, 1))
        return self._pg_sql

    async def execute(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> set[Any]:
        """Insert ``rows`` (each holding every column); return the keys inserted now."""
        if not rows:
            return set()
        if conn.dialect.name == "postgresql":
            result = await conn.exec_driver_sql(self._postgres_sql(), (json_array(rows),))
            return set(result.scalars().all())
        stored: set[Any] = set()
        names = self._columns
        for start in range(0, len(rows), self.SQLITE_ROWS):
            chunk = rows[start : start + self.SQLITE_ROWS]
            values = tuple([row[name] for row in chunk for name in names])
            result = await conn.exec_driver_sql(self._sqlite(len(chunk)), values)
            count, last = result.rowcount, result.lastrowid
            if count == len(chunk):
                stored.update(row[self._key] for row in chunk)
            elif count > 0:
                found = await conn.exec_driver_sql(
                    f"SELECT {self._key} FROM {self._table.name} WHERE rowid BETWEEN ? AND ?",
                    (last - count + 1, last),
                )
                inserted = set(found.scalars().all())
                if len(inserted) != count or not inserted <= {row[self._key] for row in chunk}:
                    raise RuntimeError(f"cannot tell which rows of {self._table.name} are new")
                stored |= inserted
        return stored


def json_select(table: Table, columns: Sequence[str], parameter: int) -> str:
    """PostgreSQL: ``SELECT <columns>`` from the JSON array of rows ``$<parameter>``.

    The rows travel as one text parameter, typed by the table's own row type on the server
    (``json_populate_recordset``): encoding it costs the client one ``orjson`` call, where
    column arrays cost asyncpg a type check per element (about 1 ms of a 32-event transaction).
    Keys the rows hold beyond ``columns`` are ignored.
    """
    return (
        f"SELECT {', '.join(columns)} "
        f"FROM json_populate_recordset(NULL::{table.name}, ${parameter}::json)"
    )


def json_array(rows: Sequence[Mapping[str, Any]]) -> str:
    """Return ``rows`` (of str, int, bool or None) as the JSON text :func:`json_select` reads."""
    return orjson.dumps(rows).decode()
