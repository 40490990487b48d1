"""The event writer: validated rows in, one outcome each out, once they are committed.

Requests hand their rows to :meth:`EventWriter.submit`. The writer is a batcher of the
process's :class:`~barberpro.db.groupcommit.GroupCommit`: the rows of every request queued
while the previous transaction ran are written together (one INSERT for all events, one upsert
per rollup), and each request is answered only after that transaction has committed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import rollups
from barberpro.analytics.rollups import counters
from barberpro.analytics.rows import Prepared
from barberpro.argentina.timezone import HOUR_US
from barberpro.db import locks, tables
from barberpro.db.dialect import CompiledUpsert, InsertNew, floor_div, json_array, select_in, upsert
from barberpro.db.groupcommit import GroupCommit, WriterUnavailable

_NEW_EVENTS = InsertNew(tables.events, "event_id")


class Outcome(StrEnum):
    """What became of one submitted event."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # same id, same body: stored before, counted once
    CONFLICT = "conflict"  # same id, different body: refused


@dataclass(slots=True)
class _Plan:
    """The distinct rows of one transaction and where each submitted item points."""

    events: dict[str, Prepared] = field(default_factory=dict)
    sessions: dict[str, Prepared] = field(default_factory=dict)
    # For each item: the first item with its key, or itself.
    firsts: list[Prepared] = field(default_factory=list)


class EventWriter:
    """Stores events durably and exactly once; one per process, shared by every route."""

    def __init__(self, commits: GroupCommit, *, rollup_settings: rollups.RollupSettings) -> None:
        self._commits = commits
        self._rollup_settings = rollup_settings
        self.rows_written = 0

    @property
    def backlog(self) -> int:
        """Writes waiting for the next transaction."""
        return self._commits.backlog

    @property
    def commits(self) -> int:
        """Transactions committed by the process's writer."""
        return self._commits.commits

    async def submit(self, items: Sequence[Prepared]) -> list[Outcome]:
        """Store ``items`` durably; return one outcome each, once they are committed.

        Raises WriterUnavailable when the writer is saturated or shutting down.
        """
        if not items:
            return []
        # On PostgreSQL the writer stores actions, their sessions and counts in one statement.
        actions_only = self._commits.dialect == "postgresql" and all(
            item.kind == "event" and item.row["type"] == "action" for item in items
        )
        return await self._commits.run(
            self._write_requests, items, weight=len(items), one_statement=actions_only
        )

    async def _write_requests(
        self, conn: AsyncConnection, requests: list[Sequence[Prepared]]
    ) -> list[list[Outcome]]:
        outcomes = await self._write(conn, [item for items in requests for item in items])
        answers, start = [], 0
        for items in requests:
            answers.append(outcomes[start : start + len(items)])
            start += len(items)
        return answers

    async def _write(self, conn: AsyncConnection, items: list[Prepared]) -> list[Outcome]:
        postgres = conn.dialect.name == "postgresql"
        plan = _plan(items)
        if plan.sessions and postgres:
            # One event transaction at a time across every instance: they all update the same
            # hot rollup rows (this hour's counters, today's sessions), across several
            # statements, so without this two instances can lock them in opposite orders
            # (deadlock) or read a first touch another one is changing. Each instance already
            # has a single writer; this makes it one for the cluster (reads are unaffected).
            # Without session starts the events' statement takes it first (_pg_events).
            await conn.exec_driver_sql(_PG_WRITER_LOCK)
        stored_sessions, session_hashes = await _upsert_session_starts(conn, plan.sessions)
        stored_events, event_hashes = await _insert_events(conn, plan.events)
        new_events = [plan.events[k].row for k in plan.events if k in stored_events]
        if not postgres:  # PostgreSQL's events statement did it
            await _touch_sessions(conn, new_events)
        touched = {r["session_id"] for r in new_events if r["session_id"] is not None}
        await rollups.apply(
            conn,
            new_events=new_events,
            touched_sessions=touched | stored_sessions,
            settings=self._rollup_settings,
        )
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


_PG_WRITER_LOCK = f"SELECT pg_advisory_xact_lock({locks.WRITER})"


@functools.cache
def _pg_events(dialect: Any) -> str:
    """PostgreSQL: the writer lock, the new events, their sessions and actions in one statement.

    - The lock is an InitPlan, taken before the first row is inserted.
    - ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` the ids stored now, which feed the rest:
    - :func:`_touch_sessions`'s upsert: each session's count and span over its new events, its
      user the first one given in the order submitted. The triggers on ``sessions`` then choose
      the first touches (migration 0012), after the statement, as a statement of their own did.
    - The hourly action counts of the new actions.

    So a transaction of actions is this one statement (see :meth:`EventWriter.submit`).
    """
    spans = {
        "session_id": "i.session_id",
        "explicit": "false",
        "user_id": (
            "(array_agg(i.user_id ORDER BY i.ordinality) FILTER (WHERE i.user_id IS NOT NULL))[1]"
        ),
        "started_at": "min(i.occurred_at)",
        "last_seen_at": "max(i.occurred_at)",
        "event_count": "count(*)",
    }
    # Floored, as hour_of: integer division would round an hour before 1970 towards zero.
    hour = floor_div("i.occurred_at", HOUR_US)
    actions = {"hour": hour, "action": "i.action", "count": "count(*)"}
    new = "FROM in_ AS i JOIN new_ USING (event_id) WHERE"
    spans_sql = _SESSION_SPANS.from_select(
        dialect,
        f"SELECT {', '.join(spans[n] for n in _SESSION_SPANS.names(dialect))} {new} "
        "i.session_id IS NOT NULL GROUP BY i.session_id ORDER BY i.session_id",
    )
    actions_sql = counters.ACTIONS.upsert.from_select(
        dialect,
        f"SELECT {', '.join(actions[n] for n in counters.ACTIONS.upsert.names(dialect))} {new} "
        f"i.type = 'action' GROUP BY 1, 2 ORDER BY 1, 2",
    )
    columns = ", ".join(c.name for c in tables.events.columns)
    return (
        f"WITH lock_ AS MATERIALIZED (SELECT pg_advisory_xact_lock({locks.WRITER})), "
        "in_ AS MATERIALIZED (SELECT * FROM json_populate_recordset(NULL::events, $1::json) "
        "WITH ORDINALITY WHERE EXISTS (SELECT FROM lock_)), "
        f"new_ AS ({_NEW_EVENTS.from_select(f'SELECT {columns} FROM in_')}), "
        f"spans_ AS ({spans_sql}), actions_ AS ({actions_sql}) "
        "SELECT event_id FROM new_"
    )


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
    rows = await select_in(conn, select(key, table.c.body_hash), key, keys)
    return {row[0]: row[1] for row in rows}


async def _insert_events(
    conn: AsyncConnection, events: dict[str, Prepared]
) -> tuple[set[str], dict[str, str]]:
    """Insert new events; return the ids stored now and the stored hashes of the others.

    PostgreSQL: the same statement also brings their sessions up to date (see _pg_events).
    """
    if not events:
        return set(), {}
    table = tables.events
    rows = [p.row for p in events.values()]
    if conn.dialect.name == "postgresql":
        result = await conn.exec_driver_sql(_pg_events(conn.dialect), (json_array(rows),))
        stored: set[str] = set(result.scalars().all())
    else:
        stored = await _NEW_EVENTS.execute(conn, rows)
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
    await _SESSION_SPANS.execute(conn, list(spans.values()))


def _session_spans(dialect: str) -> Any:
    table = tables.sessions
    stmt = upsert(dialect, table)
    ex = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["session_id"],
        set_={
            "started_at": _least(table.c.started_at, ex.started_at),
            "last_seen_at": _greatest(table.c.last_seen_at, ex.last_seen_at),
            "event_count": table.c.event_count + ex.event_count,
            "user_id": func.coalesce(table.c.user_id, ex.user_id),
        },
    )


_SESSION_SPANS = CompiledUpsert(
    _session_spans,
    ("session_id", "explicit", "user_id", "started_at", "last_seen_at", "event_count"),
    conflict=("session_id",),
)


def _least(a: Any, b: Any) -> Any:
    return case((b < a, b), else_=a)


def _greatest(a: Any, b: Any) -> Any:
    return case((b > a, b), else_=a)


__all__ = ["EventWriter", "Outcome", "WriterUnavailable"]
