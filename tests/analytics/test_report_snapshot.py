"""The BI report's second connection (PostgreSQL) reads the very snapshot of the first."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import QueuePool

from barberpro.analytics import reports
from barberpro.analytics.range import Range
from barberpro.argentina.timezone import DAY_US
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
        async with engine.begin() as conn, engine.connect():
            await conn.execute(sessions.insert(), [_session(1)])  # and two idle connections
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


SETTINGS = reports.ReportSettings(
    funnel_window_hours=24, session_timeout_us=30 * 60_000_000, market_min_demand=20
)
SPAN = Range(0, DAY_US)


async def test_a_report_never_waits_for_a_second_connection(database_url: str) -> None:
    """With every other connection of the pool in use, the BI report reads in turn on one."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        await migrate.upgrade(engine)
        report = await reports.business_intelligence(engine, SPAN, now_us=0, settings=SETTINGS)
        assert report["funnel"]["units"] == 0
    finally:
        await engine.dispose()


async def test_an_idle_connection_reads_the_funnel_and_its_error_comes_out_as_is(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL takes an idle connection for the funnel; a section's error is raised as
    itself, not inside an exception group, and both connections go back to the pool."""
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    used: list[object] = []

    async def failing(conn: Any, *args: Any, **kwargs: Any) -> Any:
        used.append(conn)
        raise LookupError("the funnel failed")

    try:
        await migrate.upgrade(engine)
        async with engine.connect(), engine.connect():
            pass  # two idle connections in the pool
        monkeypatch.setattr(reports.funnel, "tallied", failing)
        with pytest.raises(LookupError, match="the funnel failed"):
            await reports.business_intelligence(engine, SPAN, now_us=0, settings=SETTINGS)
        assert len(used) == 1
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.checkedout() == 0
        async with engine.connect() as conn, reports._same_snapshot(engine, conn) as other:
            assert (other is not None) is database_url.startswith("postgresql")
    finally:
        await engine.dispose()
