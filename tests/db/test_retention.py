"""Retention deletes processed notifications and alert history older than the setting, and
nothing else, a bounded batch per transaction."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from barberpro.db import migrate, tables
from barberpro.db.engine import create_engine, create_writer_engine
from barberpro.db.groupcommit import GroupCommit
from barberpro.db.retention import DAY_US, Retention, prune

NOW = 1_800_000_000 * 1_000_000  # epoch microseconds
KEEP = 30 * DAY_US


def _notification(name: str, status: str, age_days: float) -> dict[str, Any]:
    at = NOW - int(age_days * DAY_US)
    return {
        "id": str(uuid.uuid4()),
        "notification_id": name,
        "request_id": name,
        "topic": "payment",
        "resource_id": name,
        "status": status,
        "attempts": 1,
        "next_attempt_at": at,
        "received_at": at,
        "updated_at": at,
        "processed_at": at if status == "done" else None,
    }


def _transition(name: str, age_days: float) -> dict[str, Any]:
    return {
        "at": NOW - int(age_days * DAY_US),
        "fingerprint": name,
        "alertname": name,
        "severity": "warning",
        "before": "inactive",
        "after": "pending",
        "labels": "{}",
        "silenced": False,
        "inhibited": False,
        "notified": False,
    }


async def test_old_processed_rows_go_and_everything_else_stays(database_url: str) -> None:
    """Done notifications and transitions past the retention are deleted, in batches of 2
    here; younger ones, and pending, processing and dead notifications of any age, stay."""
    engine = create_engine(database_url)
    thread_engine = create_writer_engine(database_url)
    commits = GroupCommit(engine, thread_engine=thread_engine)
    notifications = [
        _notification("done-old-1", "done", 31),
        _notification("done-old-2", "done", 45),
        _notification("done-old-3", "done", 400),
        _notification("done-young", "done", 29),
        _notification("pending-old", "pending", 90),
        _notification("processing-old", "processing", 90),
        _notification("dead-old", "dead", 90),
    ]
    transitions = [_transition(f"old-{n}", 30 + n) for n in range(1, 6)]
    transitions.append(_transition("young", 1))
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(tables.mp_notifications.insert(), notifications)
            await conn.execute(tables.alert_history.insert(), transitions)
        commits_before = commits.commits
        deleted = await prune(commits, now_us=NOW, keep_us=KEEP, batch=2)
        assert deleted == {"mp_notifications": 3, "alert_history": 5}
        # 3 rows in batches of 2: 2 transactions; 5 rows: 3.
        assert commits.commits - commits_before == 5
        async with engine.connect() as conn:
            left = await conn.execute(select(tables.mp_notifications.c.notification_id))
            assert sorted(left.scalars()) == [
                "dead-old",
                "done-young",
                "pending-old",
                "processing-old",
            ]
            history = await conn.execute(select(tables.alert_history.c.alertname))
            assert list(history.scalars()) == ["young"]
        # The service's pass, with its own clock: nothing more to delete.
        retention = Retention(commits, days=30, interval_s=3600, clock=lambda: NOW / 1e6)
        assert await retention.run_once() == {"mp_notifications": 0, "alert_history": 0}
    finally:
        await commits.close()
        if thread_engine is not None:
            thread_engine.dispose()
        await engine.dispose()


async def test_the_service_prunes_at_start(
    database_url: str, app_factory: Callable[..., Any]
) -> None:
    """A started service deletes what is past ``BARBERPRO_RETENTION_DAYS`` without being asked."""
    engine = create_engine(database_url)
    now = int(time.time() * 1_000_000)
    old = _notification("done-old", "done", 0) | {"processed_at": now - 3 * DAY_US}
    young = _notification("done-young", "done", 0) | {"processed_at": now - DAY_US}
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(tables.mp_notifications.insert(), [old, young])
        async with app_factory(retention_days=2, mp_worker_enabled=False):
            found: list[str] = []
            for _ in range(200):  # the first pass runs as the service starts
                async with engine.connect() as conn:
                    rows = await conn.execute(select(tables.mp_notifications.c.notification_id))
                    found = list(rows.scalars())
                if found == ["done-young"]:
                    break
                await asyncio.sleep(0.05)
            assert found == ["done-young"]
    finally:
        await engine.dispose()
