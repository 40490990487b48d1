"""Retention: the logs that only grow are trimmed to ``BARBERPRO_RETENTION_DAYS``.

Two tables grow with every event of their kind and are read only for their recent rows: the
MercadoPago notifications the worker has processed (``done``; the dead-letter list stays until
someone replays or reads it, and pending ones are never touched) and the alerts' transition
history. Each instance deletes their rows older than the retention, a bounded batch per
transaction through the process's writer (on SQLite, one writer; nothing holds a long write
lock), once at start and then every ``BARBERPRO_RETENTION_INTERVAL_S``. Deleting is idempotent,
so several instances doing it at once only repeat each other's empty passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro import background
from barberpro.argentina.timezone import DAY_US, seconds_to_micros
from barberpro.db import tables
from barberpro.db.groupcommit import GroupCommit

log = structlog.get_logger(__name__)

BATCH = 5_000  # rows per delete transaction


@dataclass(frozen=True, slots=True)
class Kept:
    """A table trimmed by age: its key, the time (epoch microseconds) a row ages by, and which
    rows may go at all."""

    table: Table
    key: str
    at: str
    only: Callable[[Table], ColumnElement[bool]] | None = None


KEPT = (
    Kept(
        tables.mp_notifications,
        key="id",
        at="processed_at",
        only=lambda t: t.c.status == "done",
    ),
    Kept(tables.alert_history, key="id", at="at"),
)


async def prune(
    commits: GroupCommit, *, now_us: int, keep_us: int, batch: int = BATCH
) -> dict[str, int]:
    """Delete the rows of :data:`KEPT` older than ``keep_us``; return the count per table."""
    cutoff = now_us - keep_us
    deleted: dict[str, int] = {}
    for kept in KEPT:
        total = 0
        while True:
            gone = await commits.call(_deleter(kept, cutoff, batch))
            total += gone
            if gone < batch:
                break
        deleted[kept.table.name] = total
    return deleted


def _deleter(kept: Kept, cutoff: int, batch: int) -> Callable[[AsyncConnection], Any]:
    """Return the operation deleting one batch of ``kept``'s rows older than ``cutoff``."""
    table = kept.table
    old = [table.c[kept.at] < cutoff]
    if kept.only is not None:
        old.append(kept.only(table))
    key = table.c[kept.key]
    # A bounded subquery of keys: both databases, and a short transaction each.
    oldest = select(key).where(*old).order_by(table.c[kept.at]).limit(batch)
    statement = delete(table).where(key.in_(oldest.scalar_subquery()))

    async def delete_batch(conn: AsyncConnection) -> int:
        result = await conn.execute(statement)
        return int(result.rowcount)

    return delete_batch


class Retention:
    """Runs :func:`prune` at start and then every ``interval_s`` until stopped."""

    def __init__(
        self,
        commits: GroupCommit,
        *,
        days: float,
        interval_s: float,
        clock: Callable[[], float] = time.time,
        paused: Callable[[], bool] = lambda: False,
    ) -> None:
        self._commits = commits
        self._paused = paused  # emergency mode pauses background work
        self._keep_us = int(days * DAY_US)
        self._interval_s = interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the periodic pass."""
        self._task = asyncio.create_task(self._run(), name="barberpro-retention")

    async def stop(self) -> None:
        """Stop it (a pass under way stops between batches)."""
        await background.cancel(self._task)
        self._task = None

    async def run_once(self) -> dict[str, int]:
        """Prune now; return what was deleted per table."""
        now_us = seconds_to_micros(self._clock())
        return await prune(self._commits, now_us=now_us, keep_us=self._keep_us)

    async def _run(self) -> None:
        while True:
            if self._paused():
                await asyncio.sleep(1.0)
                continue
            try:
                deleted = await self.run_once()
                if any(deleted.values()):
                    log.info("retention pass", **deleted)
            except Exception:
                log.exception("retention pass failed")
            await asyncio.sleep(self._interval_s)
