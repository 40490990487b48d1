"""The durable queue of MercadoPago notifications: one table, claimed safely by many workers.

A worker claims due rows by setting them ``processing`` with a lease (``lease_until``) and a
fresh ``lease_owner`` in one UPDATE. On PostgreSQL the candidate rows are chosen with
``FOR UPDATE SKIP LOCKED``, so instances claiming at once never block on or take each other's
rows. SQLite has a single writer: the UPDATE ... WHERE status = 'pending' runs under its write
lock, so two claims cannot both see a row as pending. A worker that dies leaves its rows
``processing``; once the lease expires any worker claims them again (counted as an attempt).
Every later change names the lease owner, so a worker whose lease was taken over changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from barberpro.analytics import rows as analytics_rows
from barberpro.argentina.timezone import micros_to_seconds, seconds_to_micros
from barberpro.db import tables
from barberpro.db.dialect import upsert
from barberpro.db.groupcommit import GroupCommit

_T = tables.mp_notifications
#: What a claimed notification carries (and the dead-letter list shows first).
_CLAIMED = (
    _T.c.id,
    _T.c.notification_id,
    _T.c.request_id,
    _T.c.topic,
    _T.c.action,
    _T.c.resource_id,
    _T.c.attempts,
    _T.c.received_at,
)


class Status(StrEnum):
    """Where a notification stands."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    DEAD = "dead"  # the dead-letter list
    SKIPPED = "skipped"  # stored, nothing to fetch (merchant_order and other topics)


@dataclass(frozen=True, slots=True)
class Notification:
    """One claimed notification: what to fetch, and the lease that lets this worker finish it."""

    id: str
    notification_id: str
    request_id: str
    topic: str
    action: str | None
    resource_id: str
    attempts: int  # including the current one
    received_at: int
    lease_owner: str


micros = seconds_to_micros  # clock readings as the stored micros


class NotificationQueue:
    """Store, claim, finish, retry and dead-letter notifications; ``clock`` is wall time."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], float],
        commits: GroupCommit | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        # The app passes its process-wide writer; a queue on its own makes (and owns) one.
        self._owns_writes = commits is None
        self._writes = commits if commits is not None else GroupCommit(engine)

    @property
    def commits(self) -> int:
        """Transactions committed by this queue (each carries one or more operations)."""
        return self._writes.commits

    async def close(self) -> None:
        """Wait for queued writes to be committed (the app closes a shared writer itself)."""
        if self._owns_writes:
            await self._writes.close()

    async def enqueue(
        self,
        *,
        notification_id: str,
        request_id: str,
        topic: str,
        action: str | None,
        resource_id: str,
        body: str | None,
        status: Status = Status.PENDING,
    ) -> tuple[str, bool]:
        """Store a notification durably; return (its row id, True when new, False when seen)."""
        now = micros(self._clock())
        row = {
            "id": str(uuid.uuid4()),
            "notification_id": notification_id,
            "request_id": request_id,
            "topic": topic,
            "action": action,
            "resource_id": resource_id,
            "body": body,
            "status": status.value,
            "attempts": 0,
            "next_attempt_at": now,
            "received_at": now,
            "updated_at": now,
        }

        async def insert(conn: AsyncConnection) -> tuple[str, bool]:
            # The INSERT comes first so SQLite takes its write lock before any read.
            stmt = (
                upsert(conn.dialect.name, _T)
                .values(row)
                .on_conflict_do_nothing(index_elements=["notification_id", "request_id"])
                .returning(_T.c.id)
            )
            created = (await conn.execute(stmt)).scalar_one_or_none()
            if created is not None:
                return str(created), True
            existing = await conn.execute(
                select(_T.c.id).where(
                    _T.c.notification_id == notification_id, _T.c.request_id == request_id
                )
            )
            return str(existing.scalar_one()), False

        return await self._writes.call(insert)

    async def claim(self, limit: int, *, lease_s: float) -> list[Notification]:
        """Claim up to ``limit`` due notifications for ``lease_s`` seconds (oldest due first)."""
        if limit <= 0:
            return []
        now = micros(self._clock())
        owner = str(uuid.uuid4())
        due = or_(
            and_(_T.c.status == Status.PENDING.value, _T.c.next_attempt_at <= now),
            and_(_T.c.status == Status.PROCESSING.value, _T.c.lease_until <= now),
        )

        # A read first: an idle queue (the common case) costs no write transaction, so polling
        # never competes for SQLite's write lock with the analytics writer.
        async with self._engine.connect() as conn:
            anything = (await conn.execute(select(_T.c.id).where(due).limit(1))).first()
        if anything is None:
            return []

        async def take(conn: AsyncConnection) -> list[Any]:
            candidates = select(_T.c.id).where(due).order_by(_T.c.next_attempt_at).limit(limit)
            if conn.dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            stmt = (
                update(_T)
                .where(_T.c.id.in_(candidates.scalar_subquery()), due)
                .values(
                    status=Status.PROCESSING.value,
                    attempts=_T.c.attempts + 1,
                    lease_owner=owner,
                    lease_until=now + micros(lease_s),
                    updated_at=now,
                )
                .returning(*_CLAIMED)
            )
            return list((await conn.execute(stmt)).all())

        rows = await self._writes.call(take)
        claimed = [
            Notification(
                id=row.id,
                notification_id=row.notification_id,
                request_id=row.request_id,
                topic=row.topic,
                action=row.action,
                resource_id=row.resource_id,
                attempts=row.attempts,
                received_at=row.received_at,
                lease_owner=owner,
            )
            for row in rows
        ]
        claimed.sort(key=lambda n: n.received_at)
        return claimed

    async def complete(
        self, item: Notification, *, http_status: int | None, note: str | None = None
    ) -> bool:
        """Mark a claimed notification done; False when this worker no longer held its lease."""
        now = micros(self._clock())
        return await self._finish(
            item,
            status=Status.DONE.value,
            processed_at=now,
            last_http_status=http_status,
            last_error=note,
        )

    async def retry_later(
        self,
        item: Notification,
        *,
        delay_s: float,
        error: str,
        http_status: int | None,
        refund_attempt: bool = False,
    ) -> bool:
        """Put a claimed notification back for another attempt after ``delay_s``.

        ``refund_attempt`` gives the attempt back: the circuit breaker refused the call, so
        MercadoPago was never asked and the attempt should not bring the dead letter closer.
        """
        due = micros(self._clock() + delay_s)
        values: dict[str, Any] = {
            "status": Status.PENDING.value,
            "next_attempt_at": due,
            "last_error": error[:2000],
            "last_http_status": http_status,
        }
        if refund_attempt:
            values["attempts"] = _T.c.attempts - 1
        return await self._finish(item, **values)

    async def dead_letter(self, item: Notification, *, error: str, http_status: int | None) -> bool:
        """Move a claimed notification to the dead-letter list."""
        return await self._finish(
            item, status=Status.DEAD.value, last_error=error[:2000], last_http_status=http_status
        )

    async def release(self, item: Notification) -> bool:
        """Give a claimed notification back untouched (shutdown): due now, attempt refunded."""
        return await self._finish(
            item,
            status=Status.PENDING.value,
            next_attempt_at=micros(self._clock()),
            attempts=_T.c.attempts - 1,
        )

    async def _finish(self, item: Notification, **values: Any) -> bool:
        values.update(lease_owner=None, lease_until=None, updated_at=micros(self._clock()))
        stmt = (
            update(_T)
            .where(
                _T.c.id == item.id,
                _T.c.lease_owner == item.lease_owner,
                _T.c.status == Status.PROCESSING.value,
            )
            .values(**values)
        )

        async def change(conn: AsyncConnection) -> bool:
            return bool((await conn.execute(stmt)).rowcount)

        return await self._writes.call(change)

    async def counts(self) -> dict[str, int]:
        """Return how many notifications are in each status (every status named, 0 when none)."""
        async with self._engine.connect() as conn:
            result = await conn.execute(select(_T.c.status, func.count()).group_by(_T.c.status))
            found = {str(status): int(n) for status, n in result.tuples()}
        return {status.value: found.get(status.value, 0) for status in Status}

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest pending notification is due (0 when overdue), or None."""
        async with self._engine.connect() as conn:
            earliest = (
                await conn.execute(
                    select(func.min(_T.c.next_attempt_at)).where(
                        _T.c.status == Status.PENDING.value
                    )
                )
            ).scalar_one_or_none()
        if earliest is None:
            return None
        return max(0.0, micros_to_seconds(int(earliest) - micros(self._clock())))

    async def dead_letters(self, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """Return the dead-letter list, newest first, as JSON-able rows."""
        stmt = (
            select(
                *_CLAIMED,
                _T.c.updated_at,
                _T.c.last_error,
                _T.c.last_http_status,
            )
            .where(_T.c.status == Status.DEAD.value)
            .order_by(_T.c.updated_at.desc(), _T.c.id)
            .limit(limit)
            .offset(offset)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_dead_letter(row) for row in rows]

    async def requeue_dead(self, row_id: str) -> Literal["requeued", "missing", "not_dead"]:
        """Send a dead letter back to the queue with fresh attempts, due now."""
        now = micros(self._clock())

        async def requeue(conn: AsyncConnection) -> Literal["requeued", "missing", "not_dead"]:
            result = await conn.execute(
                update(_T)
                .where(_T.c.id == row_id, _T.c.status == Status.DEAD.value)
                .values(
                    status=Status.PENDING.value, attempts=0, next_attempt_at=now, updated_at=now
                )
            )
            if result.rowcount:
                return "requeued"
            return await _missing_or_not_dead(conn, row_id)

        return await self._writes.call(requeue)


async def _missing_or_not_dead(
    conn: AsyncConnection, row_id: str
) -> Literal["missing", "not_dead"]:
    found = await conn.execute(select(_T.c.id).where(_T.c.id == row_id))
    return "missing" if found.first() is None else "not_dead"


def _dead_letter(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "notification_id": row["notification_id"],
        "request_id": row["request_id"] or None,
        "topic": row["topic"],
        "action": row["action"],
        "resource_id": row["resource_id"],
        "attempts": row["attempts"],
        "received_at": _iso(row["received_at"]),
        "dead_since": _iso(row["updated_at"]),
        "reason": _reason(row["last_error"]),
        "last_error": row["last_error"],
        "last_http_status": row["last_http_status"],
    }


#: The reasons a dead letter's error starts with (the worker's DeadReason values).
DEAD_REASONS = frozenset({"not_found", "refused", "unusable_payload", "attempts_exhausted"})


def _reason(error: str | None) -> str | None:
    """Return the reason a dead letter's error starts with (``not_found: ...``), if any."""
    head = (error or "").split(":", 1)[0]
    return head if head in DEAD_REASONS else None


def _iso(value: int) -> str:
    return analytics_rows.from_micros(int(value)).isoformat()
