"""The async engine, chosen by URL: SQLite (WAL) for one process, PostgreSQL in production."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

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


def create_writer_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine | None:
    """Return the synchronous engine the group-commit writer uses in its thread, for SQLite.

    Through aiosqlite every statement of a transaction is a round trip to aiosqlite's thread
    (cursor, execute, fetch, close, commit: about 38 hand-offs for one small write, each a thread
    wake-up and a GIL switch). The writer instead runs its whole transaction in one call on a
    thread of its own, on this plain ``sqlite3`` connection with the same pragmas. None for
    PostgreSQL (asyncpg has no thread to hop to) and for an in-memory database (a second
    connection would open a second, empty database).
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    engine = create_sync_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        # One connection, used by the writer's single thread only; closed from the event
        # loop's thread at shutdown, hence check_same_thread off.
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )
    _configure_sqlite(engine, synchronous=sqlite_synchronous)
    return engine


def _configure_sqlite(engine: AsyncEngine | Engine, *, synchronous: str) -> None:
    """Set WAL and the sync level on every new connection.

    WAL lets readers run beside the single writer; ``synchronous=FULL`` makes each commit
    reach the disk before the call returns, which is what lets the service acknowledge an
    event only once it is durable. Group commit amortises that fsync over many requests.
    """

    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor: Any = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
