"""Group commit: the process's single writer, many callers' writes in one transaction.

A caller hands a payload and the *batcher* that writes it to :meth:`GroupCommit.run` and waits.
While a transaction is being written, new work queues up; the next transaction takes all of it
(up to ``max_batch`` of weight), hands each batcher the payloads queued for it in one call, and
answers every caller only after the commit. So an acknowledged write is durable, durability
costs one commit per batch rather than per request, and on SQLite the process has one writer
whose connections never wait in the busy handler behind each other.

Between transactions the writer keeps its connection while work keeps coming: under load a
new request is queued within milliseconds of each commit, and giving the connection back to the
pool each time costs PostgreSQL two round trips (the pool's rollback on return, its ping on the
next checkout). After ``keep_connection_s`` without work it goes back to the pool. A kept
connection found lost (a server restart meanwhile) is replaced and the transaction written on
the new one, as the pool's ping would have done.

A payload can be marked ``one_statement``: its batcher writes it with a single statement (reads
aside). A batch of only such payloads, all for one batcher, runs in autocommit on PostgreSQL
(on a connection of its own), where a statement is atomic by itself: the same durable write
without the BEGIN and COMMIT round trips. Such a batcher must be idempotent: should it fail
after its statement committed (in a read after it, say), its payloads are written again, each
alone, as after any failed batch, and must then find themselves already written.

If a batch fails, each payload is retried in a transaction of its own, so one bad write fails
alone and its neighbours still land.

On SQLite the transaction runs whole on a thread of the writer's own, over a plain ``sqlite3``
connection (see :func:`barberpro.db.engine.create_writer_engine`): one hand-off per transaction
instead of one per statement. The batchers stay coroutines: in that thread each is driven to
completion over a :class:`ThreadConnection`, whose ``execute`` answers at once, so nothing in it
ever suspends. A batcher that awaited anything else there is a programming error, reported as
such.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T")

# Writes a list of payloads inside the open transaction; returns one result per payload.
Batcher = Callable[[AsyncConnection, list[P]], Awaitable[Sequence[R]]]
Operation = Callable[[AsyncConnection], Awaitable[T]]


class WriterUnavailable(RuntimeError):
    """The writer's queue is full or it is shutting down; the caller should retry later."""


@dataclass(slots=True)
class _Pending(Generic[P, R]):
    batcher: Batcher[P, R]
    payload: P
    weight: int
    future: asyncio.Future[R]
    one_statement: bool


async def _each(conn: AsyncConnection, operations: list[Operation[Any]]) -> list[Any]:
    return [await operation(conn) for operation in operations]


class ThreadConnection:
    """The part of :class:`AsyncConnection` the batchers use, over a synchronous connection.

    Each method runs the statement now, in the calling thread, and returns the same result an
    ``AsyncConnection`` would (fully buffered on SQLite either way).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Any:
        """The connection's dialect."""
        return self._conn.dialect

    async def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        """Run a SQLAlchemy statement."""
        return self._conn.execute(statement, parameters, **kw)

    async def exec_driver_sql(self, statement: str, parameters: Any = None, **kw: Any) -> Any:
        """Run SQL text with the driver's own parameter style."""
        return self._conn.exec_driver_sql(statement, parameters, **kw)


def _complete(coroutine: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine that never suspends to its end; return its value."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("a batcher awaited something other than its connection in the writer thread")


class GroupCommit:
    """One per process and engine; every durable write of the service goes through it."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 5000,
        queue_limit: int = 100_000,
        linger_turns: int = 5,
        keep_connection_s: float = 1.0,
        thread_engine: Engine | None = None,
    ) -> None:
        self._engine = engine
        # The connections kept between transactions: one for transactions, and on PostgreSQL
        # one in autocommit for one-statement batches (keyed by autocommit).
        self._conns: dict[bool, AsyncConnection] = {}
        self._autocommit_engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else None
        )
        # SQLite: transactions run whole on this engine, in the executor's single thread.
        self._thread_engine = thread_engine
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="barberpro-writer")
            if thread_engine is not None
            else None
        )
        self.linger_turns = linger_turns
        self.keep_connection_s = keep_connection_s
        self._arrived = asyncio.Event()  # set when work is queued
        self._max_batch = max_batch
        self._queue_limit = queue_limit
        self._pending: list[_Pending[Any, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.commits = 0

    @property
    def backlog(self) -> int:
        """Writes waiting for the next transaction."""
        return len(self._pending)

    @property
    def dialect(self) -> str:
        """The database's dialect name."""
        return str(self._engine.dialect.name)

    async def run(
        self, batcher: Batcher[P, R], payload: P, *, weight: int = 1, one_statement: bool = False
    ) -> R:
        """Write ``payload`` with ``batcher`` in the next transaction; return its result.

        ``one_statement``: the batcher writes this payload, and any other so marked, with one
        statement, so a batch of them alone may run in autocommit.
        """
        if self._closed:
            raise WriterUnavailable("the writer is shutting down")
        if len(self._pending) >= self._queue_limit:
            raise WriterUnavailable("the writer is saturated")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(batcher, payload, max(1, weight), future, one_statement))
        self._arrived.set()
        if self._task is None or self._task.done():
            # A context of its own: the writer serves every request, so it must not carry the
            # context variables (such as the monitored request) of the one that woke it.
            self._task = asyncio.create_task(
                self._drain(), name="barberpro-group-commit", context=contextvars.Context()
            )
        return await future

    async def call(self, operation: Operation[T]) -> T:
        """Run one ``operation(conn)`` in the next transaction; return its result once committed."""
        result: T = await self.run(_each, operation)
        return result

    async def close(self) -> None:
        """Write everything already queued, then refuse new work."""
        self._closed = True
        self._arrived.set()  # an idle writer keeping its connection stops waiting
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def _work_arrives(self) -> bool:
        """Wait up to ``keep_connection_s`` for new work; whether there is some to write."""
        self._arrived.clear()
        if self._pending or self._closed:
            return bool(self._pending)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.keep_connection_s):
                await self._arrived.wait()
        return bool(self._pending)

    def _take(self) -> list[_Pending[Any, Any]]:
        taken, weight = 0, 0
        while taken < len(self._pending) and (taken == 0 or weight < self._max_batch):
            weight += self._pending[taken].weight
            taken += 1
        batch = self._pending[:taken]
        del self._pending[:taken]
        return batch

    async def _drain(self) -> None:
        while True:
            try:
                await self._drain_pending()
                while self._conns and await self._work_arrives():
                    await self._drain_pending()
            finally:
                # Idle: the connections go back to the pool until there is work again.
                while self._conns:
                    _, conn = self._conns.popitem()
                    with contextlib.suppress(Exception):
                        await conn.close()
            # Work queued while the connection was being released finds this task still
            # running (so no new one was started): take it now.
            if not self._pending:
                return

    async def _drain_pending(self) -> None:
        while self._pending:
            # Let requests that are already running reach the queue before the batch closes:
            # each loop turn costs microseconds, each extra commit milliseconds.
            for _ in range(self.linger_turns):
                await asyncio.sleep(0)
            batch = self._take()
            try:
                results = await self._write(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                for item in batch:  # find the culprit: each on its own
                    try:
                        (result,) = await self._write([item])
                    except Exception as alone:
                        _fail(item, alone)
                    else:
                        _succeed(item, result)
                continue
            for item, result in zip(batch, results, strict=True):
                _succeed(item, result)

    async def _write(self, batch: list[_Pending[Any, Any]]) -> list[Any]:
        """Write ``batch`` in one transaction; results in the order of ``batch``."""
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self._executor, self._write_in_thread, batch)
        else:
            groups = _groups(batch)
            # Autocommit: one batcher, whose payloads all write with one statement.
            autocommit = (
                self._autocommit_engine is not None
                and len(groups) == 1
                and all(item.one_statement for item in batch)
            )
            kept = autocommit in self._conns
            try:
                results = await self._write_on_connection(batch, groups, autocommit)
            except DBAPIError as exc:
                if not (kept and exc.connection_invalidated):
                    raise
                # The connection kept since the last transaction was lost meanwhile (the pool
                # would have pinged it): the transaction never ran, so write it on a new one.
                results = await self._write_on_connection(batch, groups, autocommit)
        self.commits += 1
        return results

    async def _write_on_connection(
        self, batch: list[_Pending[Any, Any]], groups: dict[Any, list[int]], autocommit: bool
    ) -> list[Any]:
        """Write ``batch`` on the kept connection of its kind, taken from the pool if none."""
        results: list[Any] = [None] * len(batch)
        # While work keeps coming the writer keeps its connections between transactions:
        # handing one back and taking it again costs PostgreSQL a rollback and a ping.
        conn = self._conns.get(autocommit)
        if conn is None:
            engine = self._autocommit_engine if autocommit else self._engine
            assert engine is not None
            conn = self._conns[autocommit] = await engine.connect()
        try:
            async with conn.begin():  # in autocommit: no BEGIN, and each statement commits
                for batcher, indexes in groups.items():
                    answers = await batcher(conn, [batch[i].payload for i in indexes])
                    _place(results, indexes, answers)
        except BaseException:
            # The connection may be lost or left mid-way: the next transaction takes a fresh
            # one, which the pool checks before handing it out.
            del self._conns[autocommit]
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        return results

    def _write_in_thread(self, batch: list[_Pending[Any, Any]]) -> list[Any]:
        assert self._thread_engine is not None
        results: list[Any] = [None] * len(batch)
        with self._thread_engine.begin() as sync_conn:
            conn = cast(AsyncConnection, ThreadConnection(sync_conn))
            for batcher, indexes in _groups(batch).items():
                coroutine = cast(
                    Coroutine[Any, Any, Sequence[Any]],
                    batcher(conn, [batch[i].payload for i in indexes]),
                )
                _place(results, indexes, _complete(coroutine))
        return results


def _groups(batch: list[_Pending[Any, Any]]) -> dict[Any, list[int]]:
    """Return the indexes of ``batch`` by batcher, in order of first appearance."""
    groups: dict[Any, list[int]] = {}
    for index, item in enumerate(batch):
        groups.setdefault(item.batcher, []).append(index)
    return groups


def _place(results: list[Any], indexes: list[int], answers: Sequence[Any]) -> None:
    for index, answer in zip(indexes, answers, strict=True):
        results[index] = answer


def _succeed(item: _Pending[Any, Any], result: Any) -> None:
    if not item.future.done():  # its caller may have gone away
        item.future.set_result(result)


def _fail(item: _Pending[Any, Any], exc: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(exc)
