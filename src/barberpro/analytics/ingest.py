"""Group commit: one writer task stores the events of many concurrent requests in one transaction.

A request hands its validated rows to :meth:`GroupCommitWriter.submit` and waits. The writer
takes everything queued while the previous transaction ran, writes it in a single
transaction, and answers each request only after that transaction has committed, so an
acknowledged event is durable and durability costs one commit per batch, not per request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from barberpro.analytics import rollups
from barberpro.analytics.rows import Prepared
from barberpro.db import tables
from barberpro.db.dialect import upsert

log = structlog.get_logger(__name__)

# SQLite allows 32,766 bound parameters per statement; stay well inside it.
_IN_CHUNK = 500


class Outcome(StrEnum):
    """What became of one submitted event."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # same id, same body: stored before, counted once
    CONFLICT = "conflict"  # same id, different body: refused


class WriterUnavailable(RuntimeError):
    """The writer is stopped or its queue is full; the client should retry later."""


@dataclass(slots=True)
class _Request:
    items: Sequence[Prepared]
    future: asyncio.Future[list[Outcome]]


@dataclass(slots=True)
class _Plan:
    """The distinct rows of one transaction and where each submitted item points."""

    events: dict[str, Prepared] = field(default_factory=dict)
    sessions: dict[str, Prepared] = field(default_factory=dict)
    # For each item: the first item with its key, or itself.
    firsts: list[Prepared] = field(default_factory=list)


class GroupCommitWriter:
    """The single writer of events; start it once per process, submit from any request."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        rollup_settings: rollups.RollupSettings,
        max_batch_rows: int,
        queue_limit: int,
    ) -> None:
        self._engine = engine
        self._rollup_settings = rollup_settings
        self._max_batch_rows = max_batch_rows
        self._queue_limit = queue_limit
        self._queue: asyncio.Queue[_Request | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0
        self.rows_written = 0

    @property
    def backlog(self) -> int:
        """Requests waiting for the writer."""
        return self._queue.qsize()

    async def start(self) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="barberpro-group-commit")

    async def stop(self) -> None:
        """Write everything already submitted, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def submit(self, items: Sequence[Prepared]) -> list[Outcome]:
        """Store ``items`` durably; return one outcome each, once they are committed."""
        if not items:
            return []
        if self._task is None or self._task.done():
            raise WriterUnavailable("the event writer is not running")
        if self._queue.qsize() >= self._queue_limit:
            raise WriterUnavailable("the event writer is saturated")
        future: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Request(items, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            rows = len(first.items)
            while rows < self._max_batch_rows and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
                rows += len(nxt.items)
            await self._commit(batch)

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            outcomes = await self._write([item for req in batch for item in req.items])
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            # One bad request must not fail its neighbours: write each on its own.
            log.warning("group commit failed, retrying requests one by one", error=repr(exc))
            for req in batch:
                await self._commit([req])
            return
        start = 0
        for req in batch:
            end = start + len(req.items)
            if not req.future.done():
                req.future.set_result(outcomes[start:end])
            start = end

    async def _write(self, items: list[Prepared]) -> list[Outcome]:
        plan = _plan(items)
        async with self._engine.begin() as conn:
            stored_events, event_hashes = await _insert_events(conn, plan.events)
            stored_sessions, session_hashes = await _upsert_session_starts(conn, plan.sessions)
            new_events = [plan.events[k].row for k in plan.events if k in stored_events]
            await _touch_sessions(conn, new_events)
            touched = {r["session_id"] for r in new_events if r["session_id"] is not None}
            await rollups.apply(
                conn,
                new_events=new_events,
                touched_sessions=touched | stored_sessions,
                settings=self._rollup_settings,
            )
        self.commits += 1
        self.rows_written += len(stored_events) + len(stored_sessions)
        outcomes: list[Outcome] = []
        for item, first in zip(items, plan.firsts, strict=True):
            if item is first:
                stored = stored_events if item.kind == "event" else stored_sessions
                hashes = event_hashes if item.kind == "event" else session_hashes
                if item.key in stored:
                    outcomes.append(Outcome.STORED)
                    continue
                known = hashes.get(item.key)
            else:
                known = first.row["body_hash"]
            same = known == item.row["body_hash"]
            outcomes.append(Outcome.DUPLICATE if same else Outcome.CONFLICT)
        return outcomes


def _fail(req: _Request, exc: BaseException) -> None:
    if not req.future.done():
        req.future.set_exception(exc)


def _plan(items: Iterable[Prepared]) -> _Plan:
    plan = _Plan()
    for item in items:
        distinct = plan.events if item.kind == "event" else plan.sessions
        first = distinct.setdefault(item.key, item)
        plan.firsts.append(first)
    return plan


async def _existing_hashes(
    conn: AsyncConnection, table: Any, key: Any, keys: list[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        result = await conn.execute(select(key, table.c.body_hash).where(key.in_(chunk)))
        found.update({row[0]: row[1] for row in result})
    return found


async def _insert_events(
    conn: AsyncConnection, events: dict[str, Prepared]
) -> tuple[set[str], dict[str, str]]:
    """Insert new events; return the ids stored now and the stored hashes of the others."""
    if not events:
        return set(), {}
    table = tables.events
    stmt = (
        upsert(conn.dialect.name, table)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    result = await conn.execute(stmt, [p.row for p in events.values()])
    stored = set(result.scalars().all())
    others = [k for k in events if k not in stored]
    hashes = await _existing_hashes(conn, table, table.c.event_id, others) if others else {}
    return stored, hashes


async def _upsert_session_starts(
    conn: AsyncConnection, starts: dict[str, Prepared]
) -> tuple[set[str], dict[str, str]]:
    """Store session starts; a start fills in a session so far known only from its events."""
    if not starts:
        return set(), {}
    table = tables.sessions
    stmt = upsert(conn.dialect.name, table)
    ex = stmt.excluded
    keep = {"session_id", "event_count", "started_at", "last_seen_at"}
    set_: dict[str, Any] = {c.name: ex[c.name] for c in table.columns if c.name not in keep}
    set_["started_at"] = _least(table.c.started_at, ex.started_at)
    set_["last_seen_at"] = _greatest(table.c.last_seen_at, ex.last_seen_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["session_id"], set_=set_, where=table.c.explicit.is_(False)
    ).returning(table.c.session_id)
    result = await conn.execute(stmt, [p.row for p in starts.values()])
    stored = set(result.scalars().all())
    others = [k for k in starts if k not in stored]
    hashes = await _existing_hashes(conn, table, table.c.session_id, others) if others else {}
    return stored, hashes


async def _touch_sessions(conn: AsyncConnection, new_events: list[dict[str, Any]]) -> None:
    """Create implicit sessions for unknown ids and keep every session's span and count."""
    spans: dict[str, dict[str, Any]] = {}
    for row in new_events:
        sid = row["session_id"]
        if sid is None:
            continue
        at = row["occurred_at"]
        span = spans.get(sid)
        if span is None:
            spans[sid] = {
                "session_id": sid,
                "explicit": False,
                "user_id": row["user_id"],
                "started_at": at,
                "last_seen_at": at,
                "event_count": 1,
            }
        else:
            span["started_at"] = min(span["started_at"], at)
            span["last_seen_at"] = max(span["last_seen_at"], at)
            span["event_count"] += 1
            span["user_id"] = span["user_id"] or row["user_id"]
    if not spans:
        return
    table = tables.sessions
    stmt = upsert(conn.dialect.name, table)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["session_id"],
        set_={
            "started_at": _least(table.c.started_at, ex.started_at),
            "last_seen_at": _greatest(table.c.last_seen_at, ex.last_seen_at),
            "event_count": table.c.event_count + ex.event_count,
            "user_id": func.coalesce(table.c.user_id, ex.user_id),
        },
    )
    await conn.execute(stmt, list(spans.values()))


def _least(a: Any, b: Any) -> Any:
    return case((b < a, b), else_=a)


def _greatest(a: Any, b: Any) -> Any:
    return case((b > a, b), else_=a)


async def stop_quietly(writer: GroupCommitWriter) -> None:
    """Stop the writer at shutdown, logging instead of raising."""
    with contextlib.suppress(Exception):
        await writer.stop()
