"""Group commit for the queue's writes: many small operations, one transaction, one commit.

A webhook is acknowledged only once its row is committed, and with SQLite (``synchronous=FULL``)
each commit waits for the disk. Operations handed to :meth:`GroupCommit.run` while a transaction
is being written are queued and written together in the next one, so a burst of webhooks (and
the worker's bookkeeping) costs one commit per batch instead of one per request. It also makes
this process a single writer on SQLite, so its connections never wait in SQLite's busy handler.

An operation is an async function of the connection. If a batch fails, each of its operations is
retried in a transaction of its own, so one bad operation fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")
Operation = Callable[[AsyncConnection], Awaitable[Any]]


@dataclass(slots=True)
class _Pending:
    operation: Operation
    future: asyncio.Future[Any]


class GroupCommit:
    """Runs operations in shared transactions; each caller gets its own result or error."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self.commits = 0

    async def run(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``operation`` in the next transaction; return its result once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(operation, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="barberpro-payments-commit")
        return await future

    async def close(self) -> None:
        """Wait until everything queued is written."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                async with self._engine.begin() as conn:
                    results = [await item.operation(conn) for item in batch]
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                for item in batch:  # find the culprit: each on its own
                    await self._alone(item)
                continue
            self.commits += 1
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():  # its caller may have gone away
                    item.future.set_result(result)

    async def _alone(self, item: _Pending) -> None:
        try:
            async with self._engine.begin() as conn:
                result = await item.operation(conn)
        except Exception as exc:
            _fail(item, exc)
            return
        self.commits += 1
        if not item.future.done():
            item.future.set_result(result)


def _fail(item: _Pending, exc: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(exc)
