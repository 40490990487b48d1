"""The durable queue on SQLite and PostgreSQL: idempotent enqueue, safe claims, leases."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.db import migrate
from barberpro.db.engine import create_engine
from barberpro.payments.queue import Notification, NotificationQueue, Status


class Clock:
    """Wall time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database of the test's backend."""
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def make_queue(engine: AsyncEngine) -> AsyncIterator[Callable[[Clock], NotificationQueue]]:
    """Queues on the test's database (each with its own writer), closed after the test."""
    queues: list[NotificationQueue] = []

    def make(clock: Clock) -> NotificationQueue:
        queues.append(NotificationQueue(engine, clock=clock))
        return queues[-1]

    yield make
    for queue in queues:
        await queue.close()


async def _fill(queue: NotificationQueue, n: int) -> None:
    for i in range(n):
        await queue.enqueue(
            notification_id=str(i),
            request_id=f"req-{i}",
            topic="payment",
            action="payment.updated",
            resource_id=str(1000 + i),
            body=None,
        )


async def test_enqueue_recognises_a_redelivery(
    make_queue: Callable[[Clock], NotificationQueue],
) -> None:
    """The same (notification id, request id) is stored once; another request id is new."""
    queue = make_queue(Clock())

    async def send(request_id: str) -> tuple[str, bool]:
        return await queue.enqueue(
            notification_id="n1",
            request_id=request_id,
            topic="payment",
            action=None,
            resource_id="1",
            body=None,
        )

    first = await send("r1")
    again = await send("r1")
    other = await send("r2")
    assert first[1] is True
    assert again == (first[0], False)
    assert other[1] is True
    assert (await queue.counts())["pending"] == 2


async def test_concurrent_claims_never_share_a_row(
    make_queue: Callable[[Clock], NotificationQueue],
) -> None:
    """Eight workers claiming at once take every row exactly once (SKIP LOCKED / write lock)."""
    queue = make_queue(Clock())
    await _fill(queue, 160)

    async def claimer() -> list[str]:
        mine: list[str] = []
        while True:
            got = await queue.claim(7, lease_s=60)
            if not got:
                return mine
            mine.extend(item.id for item in got)

    claimed = await asyncio.gather(*(claimer() for _ in range(8)))
    seen = Counter(row for rows in claimed for row in rows)
    assert len(seen) == 160
    assert set(seen.values()) == {1}
    assert (await queue.counts())["processing"] == 160


async def test_an_expired_lease_is_claimed_again_and_the_old_owner_is_ignored(
    make_queue: Callable[[Clock], NotificationQueue],
) -> None:
    """After the lease runs out another worker takes the row; the first cannot finish it."""
    clock = Clock()
    queue = make_queue(clock)
    await _fill(queue, 1)
    (first,) = await queue.claim(5, lease_s=30)
    assert await queue.claim(5, lease_s=30) == []
    clock.now += 31
    (second,) = await queue.claim(5, lease_s=30)
    assert second.id == first.id
    assert second.attempts == 2
    assert await queue.complete(first, http_status=200) is False
    assert await queue.complete(second, http_status=200) is True
    assert (await queue.counts())["done"] == 1


async def test_retry_waits_and_a_refunded_attempt_is_given_back(
    make_queue: Callable[[Clock], NotificationQueue],
) -> None:
    """retry_later hides the row until its time; refund_attempt does not count the attempt."""
    clock = Clock()
    queue = make_queue(clock)
    await _fill(queue, 1)
    (item,) = await queue.claim(1, lease_s=30)
    await queue.retry_later(item, delay_s=10, error="503", http_status=503, refund_attempt=True)
    assert await queue.claim(1, lease_s=30) == []
    assert await queue.next_due_in() == pytest.approx(10)
    clock.now += 10
    (again,) = await queue.claim(1, lease_s=30)
    assert again.attempts == 1


async def test_dead_letters_are_listed_and_requeued(
    make_queue: Callable[[Clock], NotificationQueue],
) -> None:
    """A dead letter is listed with its error and goes back to pending with fresh attempts."""
    queue = make_queue(Clock())
    await _fill(queue, 2)
    items: list[Notification] = await queue.claim(2, lease_s=30)
    await queue.dead_letter(items[0], error="boom", http_status=500)
    await queue.complete(items[1], http_status=200)
    (dead,) = await queue.dead_letters(limit=10)
    assert dead["id"] == items[0].id
    assert dead["last_error"] == "boom"
    assert await queue.requeue_dead(items[1].id) == "not_dead"
    assert await queue.requeue_dead("nope") == "missing"
    assert await queue.requeue_dead(items[0].id) == "requeued"
    counts = await queue.counts()
    assert counts[Status.PENDING] == 1
    assert counts[Status.DEAD] == 0
    (back,) = await queue.claim(1, lease_s=30)
    assert back.attempts == 1
