"""The async engine, chosen by URL: SQLite (WAL) for one process, PostgreSQL in production."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    pool_size: int = 10,
    max_overflow: int = 10,
) -> AsyncEngine:
    """Return an async engine for ``url`` with the pragmas or pool settings the service needs."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
        _configure_sqlite(engine, synchronous=sqlite_synchronous)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )


def _configure_sqlite(engine: AsyncEngine, *, synchronous: str) -> None:
    """Set WAL and the sync level on every new connection.

    WAL lets readers run beside the single writer; ``synchronous=FULL`` makes each commit
    reach the disk before the call returns, which is what lets the service acknowledge an
    event only once it is durable. Group commit amortises that fsync over many requests.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor: Any = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
