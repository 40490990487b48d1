"""Index advice checked by the planner, as Dexter does.

From the slowest query shapes: parse each with sqlglot, collect per table the columns compared
for equality, by range and in ORDER BY, propose single and two-column indexes (equality, then
range, then order), drop those an existing index already covers (its leading columns), ANALYZE,
and keep a proposal only when the planner says it helps:

- PostgreSQL: a hypothetical index (hypopg) on one pinned connection, plain EXPLAIN of the
  statement's generic plan (never ANALYZE), kept at 50% lower total cost or better;
  ``hypopg_reset()`` after.
- SQLite: EXPLAIN QUERY PLAN before and after a real CREATE INDEX inside a transaction that is
  rolled back; SQLite has no costs, so the plan must change from a scan of the table to a
  search with the index.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlglot
import structlog
from sqlalchemy import inspect
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlglot import exp

log = structlog.get_logger(__name__)

MIN_COST_GAIN = 0.5


@dataclass(slots=True)
class Usage:
    """How one statement uses one table's columns."""

    equality: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)


def _add(into: list[str], name: str) -> None:
    if name not in into:
        into.append(name)


def usage(sql: str) -> dict[str, Usage]:
    """Return, per table, the columns ``sql`` compares (single-table statements and joins)."""
    try:
        tree = sqlglot.parse_one(sql)
    except sqlglot.errors.SqlglotError:  # a shape cut short, or SQL sqlglot does not read
        return {}
    if not isinstance(tree, exp.Select):
        return {}
    aliases: dict[str, str] = {}
    for found_table in tree.find_all(exp.Table):
        aliases[found_table.alias_or_name] = found_table.name
    only = next(iter(aliases.values())) if len(set(aliases.values())) == 1 else None
    found: dict[str, Usage] = {}

    def owner(column: exp.Column) -> str | None:
        return aliases.get(column.table) if column.table else only

    where = tree.args.get("where")
    for node in (
        where.find_all(exp.EQ, exp.In, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)
        if where
        else ()
    ):
        column = node.this if isinstance(node.this, exp.Column) else None
        if column is None or any(isinstance(v, exp.Column) for v in node.expressions):
            continue
        if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Column):
            continue  # a join condition, not a filter
        table = owner(column)
        if table is None:
            continue
        into = found.setdefault(table, Usage())
        if isinstance(node, (exp.EQ, exp.In)):
            _add(into.equality, column.name)
        else:
            _add(into.range, column.name)
    order = tree.args.get("order")
    for ordered in order.expressions if order else ():
        column = ordered.this
        if isinstance(column, exp.Column) and (table := owner(column)) is not None:
            _add(found.setdefault(table, Usage()).order, column.name)
    return found


def candidates(use: Usage) -> list[tuple[str, ...]]:
    """Return single and two-column proposals: equality, then range, then order."""
    ordered = [
        *use.equality,
        *[c for c in use.range if c not in use.equality],
        *[c for c in use.order if c not in use.equality and c not in use.range],
    ]
    found: list[tuple[str, ...]] = [(c,) for c in ordered]
    for first in use.equality:
        for second in ordered:
            if second != first and (first, second) not in found:
                found.append((first, second))
    return found


def covered(columns: Sequence[str], existing: Sequence[Sequence[str]]) -> bool:
    """True when an existing index starts with ``columns``."""
    return any(list(index[: len(columns)]) == list(columns) for index in existing)


def placeholders_to_numbered(sql: str) -> tuple[str, int]:
    """Return ``sql`` with each ``?`` outside quotes as ``$1``, ``$2``... and their count."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    count = 0
    for i in range(0, len(parts), 2):

        def number(_match: re.Match[str]) -> str:
            nonlocal count
            count += 1
            return f"${count}"

        parts[i] = re.sub(r"\?", number, parts[i])
    return "".join(parts), count


async def _indexes(conn: AsyncConnection, table: str) -> list[list[str]]:
    def read(sync: Any) -> list[list[str]]:
        inspector = inspect(sync)
        found = [[c for c in ix["column_names"] if c] for ix in inspector.get_indexes(table)]
        primary = inspector.get_pk_constraint(table).get("constrained_columns") or []
        return [*found, list(primary)] if primary else found

    return await conn.run_sync(read)


async def _sqlite_plan(conn: AsyncConnection, sql: str) -> list[str]:
    params = [None] * sql.count("?")
    rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", tuple(params))
    return [str(row[-1]) for row in rows]


_prepared = itertools.count()


async def _pg_cost(conn: AsyncConnection, sql: str, count: int) -> tuple[float, str]:
    # A new name each time: the connection is discarded afterwards, its statements with it
    # (DEALLOCATE ALL would also drop the driver's own prepared statements).
    name = f"barberpro_advice_{next(_prepared)}"
    await conn.exec_driver_sql(f"PREPARE {name} AS {sql}")
    args = ", ".join(["NULL"] * count)
    execute = f"EXECUTE {name}({args})" if count else f"EXECUTE {name}"
    plan = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {execute}")).scalar_one()
    top = (orjson.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return float(top["Total Cost"]), str(top["Node Type"])


def index_name(table: str, columns: Sequence[str]) -> str:
    """Return the name an advised index gets."""
    return _name(table, columns)


def _name(table: str, columns: Sequence[str]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"[:63]


async def advise(engine: AsyncEngine, statements: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the planner-checked proposals for ``statements`` (the slowest fingerprints)."""
    dialect = engine.dialect.name
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    async with engine.connect() as conn:
        if dialect == "postgresql":
            await conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS hypopg")
            await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        try:
            for statement in statements:
                sql = statement["fingerprint"]
                for table, use in usage(sql).items():
                    try:
                        existing = await _indexes(conn, table)
                    except NoSuchTableError:  # a catalog table, a CTE's name, one dropped
                        continue
                    await conn.exec_driver_sql(f'ANALYZE "{table}"')
                    for columns in candidates(use):
                        if (table, columns) in seen or covered(columns, existing):
                            continue
                        seen.add((table, columns))
                        try:
                            checked = await _checked(conn, dialect, sql, table, columns)
                        except Exception as exc:  # a shape the planner cannot take as it is
                            log.info("index advice: candidate skipped", error=repr(exc)[:200])
                            continue
                        if checked is not None:
                            found.append(
                                {
                                    "table": table,
                                    "columns": list(columns),
                                    "fingerprint": sql,
                                    "p95_ms": statement.get("p95_ms"),
                                    "count": statement.get("count"),
                                    "existing_indexes": len(existing),
                                    "write_cost": f"{len(existing) + 1} index writes per "
                                    f"insert into {table} (now {len(existing)})",
                                    **checked,
                                }
                            )
        finally:
            if dialect == "postgresql":
                with contextlib.suppress(Exception):  # an aborted transaction refuses it
                    await conn.exec_driver_sql("SELECT hypopg_reset()")
                # Its settings, prepared statements and hypothetical indexes go with it: the
                # pinned connection never goes back to the pool.
                await conn.invalidate()
            else:
                await conn.rollback()
    return _best_per_statement(found)


def _score(item: dict[str, Any]) -> tuple[float, int]:
    gain = item.get("cost_gain")
    return (float(gain if gain is not None else item.get("terms_used", 0)), -len(item["columns"]))


def _best_per_statement(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep, per statement and table, the largest gain (fewer columns on ties)."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for item in found:
        key = (item["fingerprint"], item["table"])
        held = best.get(key)
        if held is None or _score(item) > _score(held):
            best[key] = item
    return list(best.values())


async def _checked(
    conn: AsyncConnection, dialect: str, sql: str, table: str, columns: tuple[str, ...]
) -> dict[str, Any] | None:
    """:func:`_check` inside a savepoint on PostgreSQL, so that a failing statement does not
    abort the pinned connection's transaction for the next candidates."""
    if dialect != "postgresql":
        return await _check(conn, dialect, sql, table, columns)
    async with conn.begin_nested():
        return await _check(conn, dialect, sql, table, columns)


async def _check(
    conn: AsyncConnection, dialect: str, sql: str, table: str, columns: tuple[str, ...]
) -> dict[str, Any] | None:
    cols = ", ".join(f'"{c}"' for c in columns)
    create = f'CREATE INDEX "{_name(table, columns)}" ON "{table}" ({cols})'
    if dialect == "sqlite":
        before = await _sqlite_plan(conn, sql)
        await conn.exec_driver_sql("SAVEPOINT barberpro_advice")
        try:
            await conn.exec_driver_sql(create)
            after = await _sqlite_plan(conn, sql)
        finally:
            await conn.exec_driver_sql("ROLLBACK TO SAVEPOINT barberpro_advice")
            await conn.exec_driver_sql("RELEASE SAVEPOINT barberpro_advice")
        name = re.escape(_name(table, columns))
        scanned = any(re.match(rf"SCAN {re.escape(table)}\b", line) for line in before)
        searched = any(
            re.match(rf"SEARCH {re.escape(table)} USING (COVERING )?INDEX {name}\b", line)
            for line in after
        )
        if not (scanned and searched):
            return None
        # No costs on SQLite: the index the plan uses for more terms is the better one, and
        # one that spares a temporary B-tree for ORDER BY better still.
        used = max(
            (
                line.count("=") + line.count(">") + line.count("<")
                for line in after
                if line.startswith(f"SEARCH {table} ")
            ),
            default=0,
        )
        sorts = any("TEMP B-TREE" in line for line in before) and not any(
            "TEMP B-TREE" in line for line in after
        )
        return {
            "plan_before": before,
            "plan_after": after,
            "create": create,
            "terms_used": used + (1 if sorts else 0),
        }
    numbered, count = placeholders_to_numbered(sql)
    before_cost, before_node = await _pg_cost(conn, numbered, count)
    quoted = create.replace("'", "''")
    await conn.exec_driver_sql(f"SELECT hypopg_create_index('{quoted}')")
    try:
        after_cost, after_node = await _pg_cost(conn, numbered, count)
    finally:
        await conn.exec_driver_sql("SELECT hypopg_reset()")
    if before_cost <= 0 or after_cost > before_cost * (1 - MIN_COST_GAIN):
        return None
    return {
        "cost_before": round(before_cost, 2),
        "cost_after": round(after_cost, 2),
        "cost_gain": round(1 - after_cost / before_cost, 4),
        "plan_before": [before_node],
        "plan_after": [after_node],
        "create": create.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY"),
    }


def _concurrently(dialect: str) -> str:
    return " CONCURRENTLY" if dialect == "postgresql" else ""


async def create_index(engine: AsyncEngine, table: str, columns: Sequence[str]) -> str:
    """Create the index (CONCURRENTLY on PostgreSQL, outside a transaction); return its name."""
    name = _name(table, columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    how = _concurrently(engine.dialect.name)
    sql = f'CREATE INDEX{how} IF NOT EXISTS "{name}" ON "{table}" ({cols})'
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql(sql)
    return name


async def drop_index(engine: AsyncEngine, name: str) -> None:
    """Drop an index the engine created (CONCURRENTLY on PostgreSQL)."""
    how = _concurrently(engine.dialect.name)
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql(f'DROP INDEX{how} IF EXISTS "{name}"')
