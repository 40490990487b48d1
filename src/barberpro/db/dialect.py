"""Where SQLite and PostgreSQL differ, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Table, literal_column
from sqlalchemy.dialects import postgresql, sqlite


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


def bucket(column: ColumnElement[int], width: int) -> ColumnElement[int]:
    """Return ``column`` floor-divided by ``width`` as an integer on both dialects.

    The width is inlined rather than bound so that the same expression in SELECT and GROUP BY
    renders identically (PostgreSQL matches them textually), and ``//`` keeps it integral.
    """
    return column // literal_column(str(int(width)), BigInteger)


def constant(text: str) -> ColumnElement[str]:
    """Return a string literal inlined into the SQL (same reason as :func:`bucket`)."""
    return literal_column("'" + text.replace("'", "''") + "'")
