"""The BI report's second connection (PostgreSQL) reads the very snapshot of the first."""

from __future__ import annotations

from sqlalchemy import func, select

from barberpro.analytics import reports
from barberpro.db import migrate, tables
from barberpro.db.engine import create_engine


def _session(n: int) -> dict[str, object]:
    return {
        "session_id": f"s{n}",
        "explicit": True,
        "started_at": n,
        "last_seen_at": n,
        "event_count": 1,
    }


async def test_the_second_connection_sees_the_first_ones_snapshot(database_url: str) -> None:
    """A commit made after the report's snapshot is seen by neither of its connections."""
    engine = create_engine(database_url)
    sessions = tables.sessions
    count = select(func.count()).select_from(sessions)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(sessions.insert(), [_session(1)])
        async with engine.connect() as conn:
            await reports._one_snapshot(conn)
            assert (await conn.execute(count)).scalar_one() == 1  # the snapshot is taken
            async with reports._same_snapshot(engine, conn) as other:
                async with engine.begin() as writer:
                    await writer.execute(sessions.insert(), [_session(2)])
                if database_url.startswith("sqlite"):
                    assert other is None  # SQLite reads every section on one connection
                else:
                    assert other is not None
                    assert (await other.execute(count)).scalar_one() == 1
                assert (await conn.execute(count)).scalar_one() == 1
        async with engine.connect() as conn:
            assert (await conn.execute(count)).scalar_one() == 2
    finally:
        await engine.dispose()
