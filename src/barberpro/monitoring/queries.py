"""SQL timing through SQLAlchemy's engine events: fingerprints, slow queries, pool and failures.

``before_cursor_execute`` / ``after_cursor_execute`` bracket every statement the driver runs
(an ``executemany`` is one call with many parameter sets: one statement, counted once; SQLAlchemy's
"insertmanyvalues" batches are one call each). Each statement is reduced to a fingerprint
(literals and bound parameters become ``?``, IN-lists and VALUES rows collapse) so the same query
with other values is one series. Parameters are never logged: they hold personal data.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from prometheus_client.core import Metric
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.monitoring.context import current_request
from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat
from barberpro.monitoring.metrics import (
    DB_DURATION_HELP,
    DB_QUERIES_HELP,
    FunctionCollector,
    Metrics,
    stat_families,
)
from barberpro.monitoring.windows import Ring

log = structlog.get_logger(__name__)

OPERATIONS = ("select", "insert", "update", "delete")
_FINGERPRINT_CACHE_MAX = 4096
_MAX_FINGERPRINT_CHARS = 2000

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRINGS = re.compile(r"'(?:[^']|'')*'|E'(?:[^'\\]|\\.|'')*'")
_PARAMS = re.compile(r"%\([^)]+\)s|%s|\$\d+|(?<![:\w]):[A-Za-z_]\w*|\?")
_NUMBERS = re.compile(r"(?<![\w.\"])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_SPACE = re.compile(r"\s+")
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.I)
_ROW = r"\(\s*\?(?:\s*,\s*\?)*\s*\)"
_VALUES = re.compile(rf"\bVALUES\s*({_ROW})(?:\s*,\s*{_ROW})+", re.I)
_PAREN_SPACE = re.compile(r"\(\s+|\s+\)")


def fingerprint(statement: str) -> str:
    """Return ``statement`` with values normalised, so one query shape is one series.

    Comments go, string and number literals and bound parameters (``?``, ``$1``, ``%(x)s``,
    ``:x``) become ``?``, an IN-list of them becomes ``IN (?+)``, several VALUES rows become
    one row followed by ``+``, and whitespace collapses to single spaces.
    """
    text = _COMMENTS.sub(" ", statement)
    text = _STRINGS.sub("?", text)
    text = _PARAMS.sub("?", text)
    text = _NUMBERS.sub("?", text)
    text = _SPACE.sub(" ", text).strip()
    text = _PAREN_SPACE.sub(lambda m: m.group(0).strip(), text)
    text = _IN_LIST.sub("IN (?+)", text)
    text = _VALUES.sub(lambda m: f"VALUES {_SPACE.sub(' ', m.group(1))}+", text)
    return text[:_MAX_FINGERPRINT_CHARS]


def operation_of(fingerprinted: str) -> str:
    """Return select/insert/update/delete/other for a statement (a WITH ... is read ahead)."""
    head = fingerprinted[:6].lower()
    if head in OPERATIONS:
        return head
    lowered = fingerprinted.lower()
    if lowered.startswith("with"):
        for op in OPERATIONS:
            if f" {op} " in f" {lowered} ":
                return op
    return "other"


class QueryTimer:
    """Times every statement of one engine into the windows and the Prometheus metrics."""

    def __init__(
        self,
        *,
        ring: Ring,
        metrics: Metrics,
        slow_query_ms: float,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._ring = ring
        self._metrics = metrics
        self._slow_ms = slow_query_ms
        self._clock = clock
        self._cache: dict[str, tuple[str, str]] = {}
        # By operation: a cumulative Stat exported at scrape time (one process), or the bound
        # prometheus_client children whose values the workers share through files.
        self._totals: dict[str, Stat] = {}
        self._children: dict[str, tuple[Any, Any]] = {}
        self._collector: FunctionCollector | None = None
        if not metrics.multiprocess:
            self._collector = FunctionCollector(self.collect)
            metrics.add_collector(self._collector)
        self.pool_saturated = 0
        # The pool reported is the first engine's (the service's); others, such as SQLite's
        # writer engine, add their statements and failures only.
        self._engine: Engine | None = None
        self._others: list[Engine] = []
        # Statements run off the event loop (the SQLite writer's thread) are handed to the
        # loop's thread and recorded there, so the windows have one writer.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handed: deque[Callable[[], None]] = deque()
        self._replay_pending = False

    def attach(self, engine: AsyncEngine | Engine) -> None:
        """Listen to ``engine``'s statement and error events (and its pool's, if the first)."""
        sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)
        event.listen(sync, "handle_error", self._error)
        event.listen(sync, "do_connect", self._connect)
        if self._engine is not None:
            self._others.append(sync)
            return
        self._engine = sync
        event.listen(sync.pool, "checkout", self._checkout)
        event.listen(sync.pool, "checkin", self._pool_changed)

    def detach(self) -> None:
        """Stop listening (the engine outlives the app in some tests); the counts stay exported."""
        sync = self._engine
        if sync is None:
            return
        for engine in (sync, *self._others):
            for name, fn in (
                ("before_cursor_execute", self._before),
                ("after_cursor_execute", self._after),
                ("handle_error", self._error),
                ("do_connect", self._connect),
            ):
                if event.contains(engine, name, fn):
                    event.remove(engine, name, fn)
        for pool_event, listener in (
            ("checkout", self._checkout),
            ("checkin", self._pool_changed),
        ):
            if event.contains(sync.pool, pool_event, listener):
                event.remove(sync.pool, pool_event, listener)
        self._engine = None
        self._others = []

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Record on ``loop``'s thread what other threads time (known before their first)."""
        self._loop = loop
        if self._handed and not self._replay_pending:
            self._replay_pending = True
            loop.call_soon_threadsafe(self._replay)

    def _on_loop(self, record: Callable[[], None]) -> bool:
        """Return False on the event loop's thread; elsewhere queue ``record`` for it, True."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._handed.append(record)
            loop = self._loop
            if loop is not None and not self._replay_pending:
                self._replay_pending = True
                loop.call_soon_threadsafe(self._replay)
            return True
        if self._handed:
            self._replay()
        return False

    def _replay(self) -> None:
        self._replay_pending = False
        while self._handed:
            self._handed.popleft()()

    def _shape(self, statement: str) -> tuple[str, str]:
        found = self._cache.get(statement)
        if found is None:
            shape = fingerprint(statement)
            found = (shape, operation_of(shape))
            if len(self._cache) < _FINGERPRINT_CACHE_MAX:
                self._cache[statement] = found
        return found

    def _before(
        self,
        _conn: Any,
        _cursor: Any,
        _statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        if context is not None:
            context._barberpro_t0 = self._clock()

    def _after(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        started = getattr(context, "_barberpro_t0", None)
        if started is None:
            return
        self._observe(statement, (self._clock() - started) * 1000.0, executemany, error=False)

    def _observe(self, statement: str, ms: float, executemany: bool, *, error: bool) -> None:
        if self._on_loop(lambda: self._observe(statement, ms, executemany, error=error)):
            return
        shape, op = self._shape(statement)
        self._ring.record(("db", shape, op), ms, error)
        total = self._totals.get(op)
        if total is None and self._collector is not None:
            total = self._totals[op] = Stat(LATENCY_EDGES_MS)
        if total is not None:
            total.record(ms, error)
        else:
            self._observe_shared(op, ms)
        cost = current_request.get()
        if cost is not None:
            cost.db_ms += ms
            cost.db_queries += 1
        if ms >= self._slow_ms:
            log.warning(
                "slow query",
                ms=round(ms, 2),
                threshold_ms=self._slow_ms,
                operation=op,
                fingerprint=shape,
                executemany=executemany,
            )

    def _observe_shared(self, op: str, ms: float) -> None:
        metrics = self._metrics
        assert metrics.db_queries is not None
        assert metrics.db_duration is not None
        children = self._children.get(op)
        if children is None:
            children = self._children[op] = (
                metrics.db_queries.labels(operation=op),
                metrics.db_duration.labels(operation=op),
            )
        children[0].inc()
        children[1].observe(ms / 1000.0)

    def collect(self) -> Iterator[Metric]:
        """Scrape-time families of the per-statement metrics (one process only)."""
        series = [([op], total) for op, total in sorted(self._totals.items())]
        return stat_families(
            "barberpro_db_queries",
            DB_QUERIES_HELP,
            "barberpro_db_query_duration_seconds",
            DB_DURATION_HELP,
            ["operation"],
            series,
        )

    def _error(self, ctx: ExceptionContext) -> None:
        context = ctx.execution_context
        started = getattr(context, "_barberpro_t0", None)
        if started is not None and ctx.statement is not None:
            ms = (self._clock() - started) * 1000.0
            self._observe(ctx.statement, ms, False, error=True)
        # A connection lost mid-use (or found dead by the pre-ping); failures to connect at all
        # are counted by _connect, whatever the driver raises.
        if ctx.is_disconnect and ctx.connection is not None:
            self.connection_failed()

    def _connect(self, dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # Making the connection here (do_connect may return it) is the one place that sees every
        # failure to connect: some drivers raise OSError, which never reaches handle_error.
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception:
            self.connection_failed()
            raise

    def connection_failed(self) -> None:
        """Count one failed or lost database connection."""
        if self._on_loop(self.connection_failed):
            return
        self._metrics.db_connection_failures.inc()
        self._ring.add(("db_conn_fail",))

    def _checkout(self, *_args: Any) -> None:
        checked_out, _overflow, capacity = self._pool_changed()
        if capacity and checked_out >= capacity:
            # SQLAlchemy has no event before a checkout blocks; a checkout that takes the last
            # free connection is the closest observable sign that the next one will wait.
            self.pool_saturated += 1
            self._ring.add(("db_pool_saturated",))

    def _pool_changed(self, *_args: Any) -> tuple[int, int, int]:
        checked_out, overflow, capacity = self.pool_usage()
        self._metrics.db_pool_checked_out.set(checked_out)
        self._metrics.db_pool_overflow.set(overflow)
        return checked_out, overflow, capacity

    @property
    def server_pool(self) -> bool:
        """True when the timed engine pools connections to a database server (PostgreSQL)."""
        return self._engine is not None and self._engine.dialect.name != "sqlite"

    def pool_usage(self) -> tuple[int, int, int]:
        """Return (checked out, overflow, capacity) of the pool; capacity 0 when unbounded."""
        pool: Any = self._engine.pool if self._engine is not None else None
        if pool is None:
            return 0, 0, 0
        checked_out = int(pool.checkedout()) if hasattr(pool, "checkedout") else 0
        overflow = int(pool.overflow()) if hasattr(pool, "overflow") else 0
        size = int(pool.size()) if hasattr(pool, "size") else 0
        max_overflow = int(getattr(pool, "_max_overflow", 0))
        capacity = size + max_overflow if size and max_overflow >= 0 else 0
        return checked_out, overflow, capacity
