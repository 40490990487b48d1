"""Where SQLite and PostgreSQL differ, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
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
