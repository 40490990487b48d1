"""Analytics at scale: load N realistic events through the ingestion path, then time the reports.

For each backend (SQLite file, fresh PostgreSQL database):

1. Load ``--events`` generated events (``bench/datagen.py``) in-process through the service's own
   path: each body validated by its pydantic model, turned into a row by ``rows.prepare`` and
   handed in batches of ``--batch`` to the app's ``EventWriter`` by ``--submitters``
   concurrent tasks, so the rollups are kept in the same transactions as the events. Prints
   events/s, and the cost of the rollups: the first ``--sample`` events again, into a second
   fresh database, as plain SQLAlchemy Core INSERTs of the same rows (events into ``events``,
   session starts into ``sessions``; no upserts, no rollups), same batches, same engine settings.
2. Time ``reports.dashboard`` and ``reports.business_intelligence`` in-process for today (the
   default range: how full it is depends on the hour of the run), yesterday (the last full ART
   day, which stands for a busy "today" at the end of the day) and the last 7 days, the same
   over HTTP (httpx.ASGITransport, to show the HTTP overhead), an ad-hoc funnel with a province
   breakdown over the 7 full days before today (``funnel.tallied``) and
   the revenue section over those days.
   ``--warmup`` calls, then ``--calls`` measured calls each; p50 and p95.

As the reference in the same run, DuckDB answers the same funnel (same definition: units, greedy
chain by ASOF joins, furthest step, first-touch province) and the same revenue figures by scanning
the same raw events (a Parquet file of the stored rows written during the load), and the figures
of both are compared: a mismatch is printed as one, never hidden.

Targets: dashboard and BI p95 <= 50 ms; the ad-hoc funnel p95 <= DuckDB's p50.

Usage::

    .venv/bin/python bench/analytics.py --events 300000 --backend both
    .venv/bin/python bench/analytics.py --events 5000000 --keep     # keep the loaded data
    .venv/bin/python bench/analytics.py --events 5000000 --reuse    # time again, no reload

``--reuse`` takes the databases and Parquet file kept by an earlier ``--keep`` run with the same
``--events/--seed/--days`` (it implies ``--keep``). The data ends at the time it was generated:
reused on a later day, "today" is empty. Needs PostgreSQL for ``postgres`` (``--postgres-url``,
a role that may create databases) and duckdb (a dev dependency). Exits 0 whatever the targets
say; 1 on errors, 2 when DuckDB's figures differ from ours.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from barberpro import logs
from barberpro.analytics import (
    engagement,
    funnel,
    funnel_definition,
    market,
    providers,
    referrals,
    reports,
    retention,
    revenue,
)
from barberpro.analytics.ingest import EventWriter, Outcome
from barberpro.analytics.range import Range, last_days, parse_range
from barberpro.analytics.rows import Prepared, prepare
from barberpro.analytics.schemas import EVENT_MODELS
from barberpro.app import create_app
from barberpro.argentina import ART, art_day_bounds
from barberpro.argentina.timezone import to_micros
from barberpro.config import Settings
from barberpro.db import tables
from datagen import FLAT_COLUMNS, Generated, flat_row, generate
from harness import BenchError, Database

ADMIN_TOKEN = "bench-admin"
MAX_FUTURE = timedelta(hours=Settings.model_fields["max_future_hours"].default)
REPORT_TARGET_MS = 50.0
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True, slots=True)
class Options:
    """The run's parameters."""

    events: int
    days: int
    seed: int
    backends: tuple[str, ...]
    workdir: Path
    keep: bool
    reuse: bool
    postgres_url: str
    calls: int
    warmup: int
    batch: int
    submitters: int
    sample: int

    @property
    def key(self) -> str:
        """The dataset's name: what makes kept data reusable."""
        return f"n{self.events}-s{self.seed}-d{self.days}"

    @property
    def data_dir(self) -> Path:
        """Where this dataset's files live."""
        return self.workdir / self.key

    @property
    def pg_name(self) -> str:
        """The PostgreSQL database holding this dataset."""
        return "barberpro_bench_analytics_" + self.key.replace("-", "_")

    def url(self, backend: str) -> str:
        """The database URL of ``backend`` for this dataset."""
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.data_dir / 'sqlite.db'}"
        parts = urlsplit(self.postgres_url)
        return urlunsplit(parts._replace(path=f"/{self.pg_name}"))


# -- results -------------------------------------------------------------------------------------


@dataclass(slots=True)
class LoadResult:
    """One load: events stored, resends answered, seconds, and when the sample was done."""

    events: int = 0
    submitted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    sample_seconds: float | None = None
    commits: int = 0

    @property
    def rate(self) -> float:
        """Events stored per second over the whole load."""
        return self.events / self.seconds if self.seconds else 0.0


@dataclass(slots=True)
class Timing:
    """Measured calls of one query, in milliseconds (or the error that stopped it)."""

    backend: str
    query: str
    samples: list[float]
    target_ms: float | None = None
    target_label: str = ""
    error: str | None = None

    @property
    def p50(self) -> float:
        """Median."""
        return percentile(self.samples, 0.50) if self.samples else float("nan")

    @property
    def p95(self) -> float:
        """95th percentile (nearest rank)."""
        return percentile(self.samples, 0.95) if self.samples else float("nan")


def percentile(samples: list[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` of ``samples``."""
    ordered = sorted(samples)
    rank = max(1, -(-int(q * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(slots=True)
class Meta:
    """What a kept dataset holds (``meta.json``)."""

    events: int
    days: int
    seed: int
    end_us: int
    ingest: dict[str, dict[str, Any]] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write the metadata file."""
        path.write_text(json.dumps(asdict(self), indent=2))


def _load_meta(path: Path) -> Meta | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return Meta(data["events"], data["days"], data["seed"], data["end_us"], data["ingest"])


# -- loading -------------------------------------------------------------------------------------


def _chunks(items: Iterable[Generated], size: int) -> Iterator[list[Generated]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _prepare(chunk: list[Generated], sink: Callable[[Prepared], None] | None) -> list[Prepared]:
    """Validate and prepare a batch exactly as the batch endpoint does (one ``now`` per batch)."""
    now = datetime.now(UTC)
    out = []
    for item in chunk:
        # As the batch route: "type" chooses the model, the rest is the body.
        fields = {k: v for k, v in item.body.items() if k != "type"}
        body = EVENT_MODELS[item.body["type"]].model_validate(fields)
        prepared = prepare(body, now=now, max_future=MAX_FUTURE)
        if sink is not None and not item.duplicate:
            sink(prepared)
        out.append(prepared)
    return out


def _progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    print(f"  {label}: {done:,}/{total:,} events, {done / elapsed:,.0f}/s", flush=True)


async def load_through_writer(
    writer: EventWriter,
    stream: Iterable[Generated],
    *,
    opts: Options,
    label: str,
    sink: Callable[[Prepared], None] | None,
) -> LoadResult:
    """Submit the stream's batches to the writer from ``opts.submitters`` concurrent tasks."""
    result = LoadResult()
    slots = asyncio.Semaphore(opts.submitters)
    pending: set[asyncio.Task[None]] = set()
    commits_before = writer.commits
    started = time.perf_counter()
    step = max(opts.events // 10, 1)
    next_report = step

    async def submit(items: list[Prepared]) -> None:
        nonlocal next_report
        try:
            outcomes = await writer.submit(items)
        finally:
            slots.release()
        result.events += sum(o is Outcome.STORED for o in outcomes)
        result.duplicates += sum(o is Outcome.DUPLICATE for o in outcomes)
        result.conflicts += sum(o is Outcome.CONFLICT for o in outcomes)
        if result.sample_seconds is None and result.events >= opts.sample:
            result.sample_seconds = time.perf_counter() - started
        if result.events >= next_report:
            next_report += step
            _progress(label, result.events, opts.events, started)

    for chunk in _chunks(stream, opts.batch):
        await slots.acquire()
        items = _prepare(chunk, sink)
        result.submitted += len(items)
        task = asyncio.create_task(submit(items))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    result.seconds = time.perf_counter() - started
    result.commits = writer.commits - commits_before
    return result


def _unique(stream: Iterable[Generated], count: int) -> Iterator[Generated]:
    """The first ``count`` distinct events of ``stream`` (resends dropped: INSERT would fail)."""
    seen = 0
    for item in stream:
        if item.duplicate:
            continue
        yield item
        seen += 1
        if seen >= count:
            return


async def load_plain(engine: AsyncEngine, stream: Iterable[Generated], *, opts: Options) -> float:
    """Insert the rows with plain Core INSERTs, no rollups; return the seconds taken.

    SQLite has one writer: its transactions are queued on a lock here, as the group-commit
    writer queues them, instead of spinning in SQLite's busy handler.
    """
    lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    slots = asyncio.Semaphore(opts.submitters)
    pending: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []
    await _without_session_triggers(engine)

    async def write(items: list[Prepared]) -> None:
        try:
            events = [p.row for p in items if p.kind == "event"]
            starts = [p.row for p in items if p.kind == "session"]
            async with lock or nullcontext(), engine.begin() as conn:
                if events:
                    await conn.execute(insert(tables.events), events)
                if starts:
                    await conn.execute(insert(tables.sessions), starts)
        except BaseException as exc:
            failures.append(exc)
            raise
        finally:
            slots.release()

    started = time.perf_counter()
    for chunk in _chunks(stream, opts.batch):
        await slots.acquire()
        task = asyncio.create_task(write(_prepare(chunk, None)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending, return_exceptions=True)
    if failures:
        raise BenchError(f"plain INSERT: {len(failures)} transactions failed: {failures[0]!r}")
    return time.perf_counter() - started


async def _without_session_triggers(engine: AsyncEngine) -> None:
    """Drop the rollup triggers of ``sessions`` in the baseline database: plain means plain."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE sessions DISABLE TRIGGER USER"))
            return
        found = await conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'sessions'")
        )
        for (name,) in found.all():
            await conn.execute(text(f'DROP TRIGGER "{name}"'))


class FlatFile:
    """The CSV of stored rows DuckDB reads, written during the first load."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(FLAT_COLUMNS)
        self.rows = 0

    def __call__(self, item: Prepared) -> None:
        self._writer.writerow(flat_row(item))
        self.rows += 1

    def close(self) -> None:
        """Flush and close."""
        self._file.close()


# -- databases -----------------------------------------------------------------------------------


async def pg_admin(admin_url: str, sql: str) -> Any:
    """Run one statement on the admin database; return its first value."""
    import asyncpg

    parts = urlsplit(admin_url)
    conn: Any = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql")))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def database_exists(opts: Options, backend: str) -> bool:
    """True when the dataset's database of ``backend`` is there."""
    if backend == "sqlite":
        return (opts.data_dir / "sqlite.db").exists()
    found = await pg_admin(
        opts.postgres_url, f"SELECT 1 FROM pg_database WHERE datname = '{opts.pg_name}'"
    )
    return found is not None


async def fresh_database(opts: Options, backend: str) -> None:
    """Drop the dataset's database of ``backend`` if present and create an empty one."""
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (opts.data_dir / f"sqlite.db{suffix}").unlink(missing_ok=True)
        return
    await drop_database(opts, backend)
    await pg_admin(opts.postgres_url, f'CREATE DATABASE "{opts.pg_name}"')


async def drop_database(opts: Options, backend: str) -> None:
    """Drop the dataset's PostgreSQL database (SQLite files go with the data directory)."""
    if backend == "postgres":
        await pg_admin(opts.postgres_url, f'DROP DATABASE IF EXISTS "{opts.pg_name}" WITH (FORCE)')


def app_settings(url: str) -> Settings:
    """The service's settings for the benchmark: defaults, tokens set, background jobs off."""
    return Settings(
        database_url=url,
        admin_token=ADMIN_TOKEN,
        ingest_token="bench-ingest",
        alert_enabled=False,
        mp_worker_enabled=False,
    )


# -- timing --------------------------------------------------------------------------------------


async def measure(
    backend: str,
    query: str,
    call: Callable[[], Awaitable[Any]],
    *,
    calls: int,
    warmup: int,
    target_ms: float | None = None,
) -> Timing:
    """Run ``call`` ``warmup`` times, then ``calls`` times; an exception ends it as an error."""
    label = f"p95 <= {target_ms:g} ms" if target_ms is not None else ""
    timing = Timing(backend, query, [], target_ms, label)
    try:
        for _ in range(warmup):
            await call()
        for _ in range(calls):
            started = time.perf_counter()
            await call()
            timing.samples.append((time.perf_counter() - started) * 1000)
    except Exception as exc:  # a broken query is a finding: report it, time the others
        timing.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        print(f"  {backend}: {query} FAILED: {timing.error}", flush=True)
    return timing


def measure_sync(call: Callable[[], Any], *, calls: int, warmup: int) -> list[float]:
    """Like :func:`measure`, for a blocking call that must not fail."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


@dataclass(frozen=True, slots=True)
class Ranges:
    """The ranges the run asks about."""

    now: datetime
    today: Range
    yesterday: Range  # the last full ART day: a whole busy day, whatever the hour of the run
    week: Range  # the last 7 days, today included
    full_week: Range  # the 7 full ART days before today (the ad-hoc funnel's range)
    week_params: dict[str, str]
    yesterday_params: dict[str, str]


def ranges(now: datetime) -> Ranges:
    """Return today, yesterday, the last 7 days and the 7 full days before today."""
    today = now.astimezone(ART).date()
    day_start, day_stop = art_day_bounds(today - timedelta(days=1))
    start, _ = art_day_bounds(today - timedelta(days=7))
    _, stop = art_day_bounds(today - timedelta(days=1))
    return Ranges(
        now=now,
        today=parse_range(None, None, now=now),
        yesterday=Range(to_micros(day_start), to_micros(day_stop)),
        week=last_days(7, now=now),
        full_week=Range(to_micros(start), to_micros(stop)),
        week_params={"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()},
        yesterday_params=dict.fromkeys(("from", "to"), (today - timedelta(days=1)).isoformat()),
    )


def report_settings(settings: Settings) -> reports.ReportSettings:
    """The reports' settings, as create_app builds them."""
    return reports.ReportSettings(
        funnel_window_hours=settings.funnel_window_hours,
        session_timeout_us=int(settings.session_timeout_minutes * 60_000_000),
        market_min_demand=settings.market_min_demand,
    )


def _now_us() -> int:
    return to_micros(datetime.now(UTC))


async def time_reports(
    app: Any, backend: str, span: Ranges, opts: Options
) -> tuple[list[Timing], dict[str, Any]]:
    """Time every query on one backend; return the timings and our ad-hoc figures."""
    engine: AsyncEngine = app.state.services.engine
    settings: Settings = app.state.services.settings
    knobs = report_settings(settings)
    timings: list[Timing] = []

    async def timed(name: str, call: Callable[[], Awaitable[Any]], target: bool = True) -> None:
        print(f"  {backend}: {name}...", flush=True)
        timings.append(
            await measure(
                backend,
                name,
                call,
                calls=opts.calls,
                warmup=opts.warmup,
                target_ms=REPORT_TARGET_MS if target else None,
            )
        )

    def dashboard(rng: Range) -> Callable[[], Awaitable[Any]]:
        return lambda: reports.dashboard(engine, rng, now_us=_now_us(), settings=knobs)

    def bi(rng: Range) -> Callable[[], Awaitable[Any]]:
        return lambda: reports.business_intelligence(engine, rng, now_us=_now_us(), settings=knobs)

    async def adhoc() -> dict[str, Any]:
        async with engine.connect() as conn:
            tallied = await funnel.tallied(
                conn,
                span.full_week,
                window_hours=settings.funnel_window_hours,
                breakdowns=("province",),
            )
        return tallied.section

    async def revenue_week() -> dict[str, Any]:
        async with engine.connect() as conn:
            return await revenue.revenue(conn, span.full_week)

    await timed("dashboard today", dashboard(span.today))
    await timed("dashboard yesterday", dashboard(span.yesterday))
    await timed("dashboard last 7 days", dashboard(span.week))
    await timed("BI today", bi(span.today))
    await timed("BI yesterday", bi(span.yesterday))
    await timed("BI last 7 days", bi(span.week))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers, timeout=300
    ) as client:

        def get(path: str, params: dict[str, str]) -> Callable[[], Awaitable[Any]]:
            async def call() -> None:
                answer = await client.get(f"/api/v1/analytics/{path}", params=params)
                if answer.status_code != 200:
                    raise BenchError(f"GET {path} answered {answer.status_code}: {answer.text}")

            return call

        await timed("HTTP dashboard today", get("dashboard", {}))
        await timed("HTTP dashboard yesterday", get("dashboard", span.yesterday_params))
        await timed("HTTP dashboard last 7 days", get("dashboard", span.week_params))
        await timed("HTTP BI today", get("business-intelligence", {}))
        await timed("HTTP BI yesterday", get("business-intelligence", span.yesterday_params))
        await timed("HTTP BI last 7 days", get("business-intelligence", span.week_params))
    await timed("funnel by province, 7 full days", adhoc, target=False)
    await timed("revenue, 7 full days", revenue_week, target=False)
    figures: dict[str, Any] = {}
    for key, section in (("funnel", adhoc), ("revenue", revenue_week)):
        try:
            figures[key] = await section()
        except Exception as exc:
            print(f"  {backend}: no {key} figures to compare: {exc!r}"[:300], flush=True)
    return timings, figures


async def time_sections(app: Any, backend: str, span: Ranges, opts: Options) -> list[Timing]:
    """Time each section of the reports on its own, to show where their time goes.

    Each call takes its own pooled connection, so a failing section cannot poison the next.
    """
    engine: AsyncEngine = app.state.services.engine
    knobs = report_settings(app.state.services.settings)
    found: list[Timing] = []

    def on_conn(section: Callable[[Any], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            async with engine.connect() as conn:
                return await section(conn)

        return call

    def tally(rng: Range, chosen: tuple[str, ...]) -> Section:
        async def section(conn: AsyncConnection) -> Any:
            return await funnel.tallied(
                conn, rng, window_hours=knobs.funnel_window_hours, breakdowns=chosen
            )

        return section

    for label, rng in (
        ("today", span.today),
        ("yesterday", span.yesterday),
        ("last 7 days", span.week),
    ):
        by_channel: dict[str, tuple[int, int]] = {}
        try:
            by_channel = (await on_conn(tally(rng, ()))()).by_channel
        except Exception as exc:
            print(f"  {backend}: the funnel failed: {exc!r}"[:300], flush=True)
        cases = [
            ("funnel.tallied, no breakdown", on_conn(tally(rng, ()))),
            (
                "funnel.tallied, 3 breakdowns",
                on_conn(tally(rng, tuple(funnel_definition.BREAKDOWNS))),
            ),
            *((name, on_conn(section)) for name, section in _sections(rng, by_channel, knobs)),
        ]
        for name, call in cases:
            found.append(
                await measure(
                    backend, f"{label}: {name}", call, calls=max(3, opts.calls // 3), warmup=1
                )
            )
    return found


Section = Callable[[AsyncConnection], Awaitable[Any]]


def _sections(
    rng: Range, by_channel: dict[str, tuple[int, int]], knobs: reports.ReportSettings
) -> list[tuple[str, Section]]:
    """The reports' other sections over ``rng``, each a call on a connection."""

    async def engagement_section(conn: AsyncConnection) -> Any:
        return await engagement.engagement(
            conn, rng, now_us=_now_us(), session_timeout_us=knobs.session_timeout_us
        )

    async def referrals_section(conn: AsyncConnection) -> Any:
        return await referrals.referrals(conn, rng, by_channel)

    async def revenue_section(conn: AsyncConnection) -> Any:
        return await revenue.revenue(conn, rng)

    async def market_section(conn: AsyncConnection) -> Any:
        return await market.market(conn, rng, min_demand=knobs.market_min_demand)

    async def retention_section(conn: AsyncConnection) -> Any:
        return await retention.retention(conn, rng)

    async def providers_section(conn: AsyncConnection) -> Any:
        return await providers.providers(conn, rng, limit=100)

    return [
        ("engagement", engagement_section),
        ("referrals", referrals_section),
        ("revenue", revenue_section),
        ("market", market_section),
        ("retention", retention_section),
        ("providers", providers_section),
    ]


# -- DuckDB, the reference -----------------------------------------------------------------------

FUNNEL_SQL = """
WITH fe AS (
    SELECT coalesce(user_id, session_id) AS unit, step, occurred_at AS t, event_id
    FROM ev
    WHERE type = 'funnel' AND occurred_at >= $lo AND occurred_at < $hi + $w
),
s1 AS (SELECT unit, t AS t1, event_id FROM fe WHERE step = 1 AND t < $hi),
s2 AS (SELECT unit, t FROM fe WHERE step = 2),
s3 AS (SELECT unit, t FROM fe WHERE step = 3),
s4 AS (SELECT unit, t FROM fe WHERE step = 4),
s5 AS (SELECT unit, t FROM fe WHERE step = 5),
c2 AS (SELECT s1.*, s2.t AS t2 FROM s1 ASOF LEFT JOIN s2 ON s1.unit = s2.unit AND s2.t >= s1.t1),
c3 AS (SELECT c2.*, s3.t AS t3 FROM c2 ASOF LEFT JOIN s3 ON c2.unit = s3.unit AND s3.t >= c2.t2),
c4 AS (SELECT c3.*, s4.t AS t4 FROM c3 ASOF LEFT JOIN s4 ON c3.unit = s4.unit AND s4.t >= c3.t3),
c5 AS (SELECT c4.*, s5.t AS t5 FROM c4 ASOF LEFT JOIN s5 ON c4.unit = s5.unit AND s5.t >= c4.t4),
chains AS (
    SELECT unit, event_id, t1, t2, t3, t4, t5,
        1 + coalesce((t2 <= t1 + $w)::INT, 0) + coalesce((t3 <= t1 + $w)::INT, 0)
          + coalesce((t4 <= t1 + $w)::INT, 0) + coalesce((t5 <= t1 + $w)::INT, 0) AS reach
    FROM c5
),
chosen AS (
    SELECT * FROM chains
    QUALIFY row_number() OVER (PARTITION BY unit ORDER BY reach DESC, t1, event_id) = 1
),
sess AS (
    SELECT session_id, min(occurred_at) AS started_at,
        max(CASE WHEN type = 'session_start' THEN province END) AS province,
        max(user_id) AS user_id
    FROM ev WHERE session_id IS NOT NULL GROUP BY session_id
),
touch AS (
    SELECT session_id AS unit, started_at, session_id, province FROM sess
    UNION ALL
    SELECT user_id AS unit, started_at, session_id, province FROM sess WHERE user_id IS NOT NULL
),
first_touch AS (
    SELECT unit, province FROM touch
    WHERE unit IN (SELECT unit FROM chosen)
    QUALIFY row_number() OVER (PARTITION BY unit ORDER BY started_at, session_id) = 1
)
SELECT coalesce(f.province, 'unknown') AS province,
    count(*) AS u1,
    count(*) FILTER (WHERE reach >= 2) AS u2,
    count(*) FILTER (WHERE reach >= 3) AS u3,
    count(*) FILTER (WHERE reach >= 4) AS u4,
    count(*) FILTER (WHERE reach >= 5) AS u5,
    round(median(t2 - t1) FILTER (WHERE reach >= 2) / 1e6, 3) AS m2,
    round(median(t3 - t2) FILTER (WHERE reach >= 3) / 1e6, 3) AS m3,
    round(median(t4 - t3) FILTER (WHERE reach >= 4) / 1e6, 3) AS m4,
    round(median(t5 - t4) FILTER (WHERE reach >= 5) / 1e6, 3) AS m5,
    GROUPING(coalesce(f.province, 'unknown')) AS overall
FROM chosen c LEFT JOIN first_touch f ON f.unit = c.unit
GROUP BY GROUPING SETS ((coalesce(f.province, 'unknown')), ())
"""

REVENUE_SQL = """
WITH pay AS (SELECT * FROM ev WHERE type = 'revenue'),
firsts AS (
    SELECT * FROM pay WHERE status IN ('approved', 'refunded', 'charged_back')
    QUALIFY row_number() OVER (PARTITION BY payment_id, status ORDER BY occurred_at) = 1
),
basis AS (
    SELECT * FROM firsts
    WHERE status = 'approved' AND occurred_at >= $lo AND occurred_at < $hi
),
-- A payment's first return (the refund on equal times) takes its approval's commission back.
first_return AS (
    SELECT * FROM firsts WHERE status IN ('refunded', 'charged_back')
    QUALIFY row_number() OVER (
        PARTITION BY payment_id ORDER BY occurred_at, status = 'charged_back') = 1
),
taken_back AS (
    SELECT coalesce(sum(coalesce(a.commission_cents, CAST(round(
        CAST(a.amount_cents AS DECIMAL(18, 0)) * CAST($rate AS DECIMAL(9, 6)), 0) AS BIGINT))), 0)
        AS cents
    FROM first_return r JOIN firsts a ON a.payment_id = r.payment_id AND a.status = 'approved'
    WHERE a.currency = 'ARS' AND r.occurred_at >= $lo AND r.occurred_at < $hi
)
SELECT
    (SELECT count(*) FROM basis WHERE currency = 'ARS') AS payments_approved,
    (SELECT coalesce(sum(amount_cents), 0) FROM basis WHERE currency = 'ARS') AS gross,
    (SELECT coalesce(sum(coalesce(commission_cents, CAST(round(
        CAST(amount_cents AS DECIMAL(18, 0)) * CAST($rate AS DECIMAL(9, 6)), 0) AS BIGINT))), 0)
     FROM basis WHERE currency = 'ARS') - (SELECT cents FROM taken_back) AS commission,
    (SELECT coalesce(sum(amount_cents), 0) FROM firsts
     WHERE status = 'refunded' AND currency = 'ARS' AND occurred_at >= $lo AND occurred_at < $hi
    ) AS refunds,
    (SELECT coalesce(sum(amount_cents), 0) FROM firsts
     WHERE status = 'charged_back' AND currency = 'ARS'
       AND occurred_at >= $lo AND occurred_at < $hi) AS chargebacks
"""

INSTALLMENTS_SQL = """
WITH pay AS (SELECT * FROM ev WHERE type = 'revenue'),
approved AS (
    SELECT * FROM pay WHERE status = 'approved'
    QUALIFY row_number() OVER (PARTITION BY payment_id ORDER BY occurred_at) = 1
),
latest AS (
    SELECT * FROM pay
    QUALIFY row_number() OVER (PARTITION BY payment_id ORDER BY occurred_at DESC) = 1
),
a AS (SELECT installments, count(*) AS n FROM approved
      WHERE occurred_at >= $lo AND occurred_at < $hi GROUP BY ALL),
r AS (SELECT installments, count(*) AS n FROM latest
      WHERE status = 'rejected' AND occurred_at >= $lo AND occurred_at < $hi GROUP BY ALL)
SELECT coalesce(a.installments, r.installments) AS installments,
    coalesce(a.n, 0) AS approved, coalesce(r.n, 0) AS rejected
FROM a FULL JOIN r ON a.installments = r.installments
ORDER BY 1
"""


@dataclass(slots=True)
class Reference:
    """DuckDB's answers and timings."""

    version: str
    load_seconds: float
    funnel: dict[str, list[Any]]  # province ("" = overall) -> [u1..u5, m2..m5]
    revenue: dict[str, Any]
    timings: list[Timing]


def duckdb_reference(
    parquet: Path, span: Range, *, window_us: int, rate: str, opts: Options
) -> Reference:
    """Load the raw events into DuckDB (in memory) and answer funnel and revenue by scanning."""
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(f"CREATE TABLE ev AS SELECT * FROM read_parquet('{parquet}')")
    load_seconds = time.perf_counter() - started
    params = {"lo": span.start_us, "hi": span.end_us, "w": window_us}
    bounds = {"lo": span.start_us, "hi": span.end_us}
    money = {**bounds, "rate": rate}

    def run_funnel() -> list[tuple[Any, ...]]:
        return con.execute(FUNNEL_SQL, params).fetchall()

    def run_revenue() -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
        return (
            con.execute(REVENUE_SQL, money).fetchone(),
            con.execute(INSTALLMENTS_SQL, bounds).fetchall(),
        )

    n, w = opts.calls, opts.warmup
    timings = [
        Timing(
            "duckdb", "funnel by province, 7 full days", measure_sync(run_funnel, calls=n, warmup=w)
        ),
        Timing("duckdb", "revenue, 7 full days", measure_sync(run_revenue, calls=n, warmup=w)),
    ]
    funnel_rows = {("" if row[-1] else row[0]): list(row[1:10]) for row in run_funnel()}
    totals, plans = run_revenue()
    assert totals is not None
    figures = {
        "payments_approved": totals[0],
        "gross_ars": round(totals[1] / 100, 2),
        "commission_ars": round(totals[2] / 100, 2),
        "refunds_ars": round(totals[3] / 100, 2),
        "chargebacks_ars": round(totals[4] / 100, 2),
        "installments": [{"installments": i, "approved": a, "rejected": r} for i, a, r in plans],
    }
    version = str(duckdb.__version__)
    con.close()
    return Reference(version, load_seconds, funnel_rows, figures, timings)


def ensure_parquet(opts: Options, meta: Meta) -> Path:
    """Return the Parquet file of stored rows, converting the CSV (or generating it) if needed."""
    import duckdb

    parquet = opts.data_dir / "events.parquet"
    if parquet.exists():
        return parquet
    flat = opts.data_dir / "events.csv"
    if not flat.exists():
        print("writing the flat file for DuckDB (no load ran)...", flush=True)
        sink = FlatFile(flat)
        try:
            stream = generate(opts.events, days=opts.days, seed=opts.seed, end_us=meta.end_us)
            for chunk in _chunks(stream, opts.batch):
                _prepare(chunk, sink)
        finally:
            sink.close()
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in FLAT_COLUMNS.items())
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{flat}', header = true, columns = {{{columns}}})) "
        f"TO '{parquet}' (FORMAT parquet)"
    )
    con.close()
    flat.unlink()
    return parquet


# -- comparing ----------------------------------------------------------------------------------


def _ours_funnel(report: dict[str, Any]) -> dict[str, list[Any]]:
    def row(steps: list[dict[str, Any]]) -> list[Any]:
        return [s["units"] for s in steps] + [s["median_seconds_from_previous"] for s in steps[1:]]

    found = {"": row(report["steps"])}
    for group in report["breakdowns"]["province"]:
        found[group["value"]] = row(group["steps"])
    return found


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-6


def compare(backend: str, ours: dict[str, Any], ref: Reference) -> list[str]:
    """Print our figures beside DuckDB's; return the mismatches."""
    problems = []
    if "funnel" not in ours:
        problems.append(f"{backend}: the ad-hoc funnel failed, nothing to compare")
    else:
        problems += _compare_funnel(backend, ours["funnel"], ref)
    if "revenue" not in ours:
        problems.append(f"{backend}: the revenue section failed, nothing to compare")
    else:
        problems += _compare_revenue(backend, ours["revenue"], ref)
    return problems


def _compare_funnel(backend: str, report: dict[str, Any], ref: Reference) -> list[str]:
    problems = []
    mine = _ours_funnel(report)
    print(f"\nfunnel, 7 full days, {backend} vs DuckDB (units per step; median s from previous)")
    names = ["search", "provider_view", "slot_selected", "booking_created", "payment_completed"]
    for k, name in enumerate(names):
        a, b = mine[""][k], ref.funnel.get("", [None] * 9)[k]
        med = (mine[""][4 + k], ref.funnel[""][4 + k]) if k else (None, None)
        mark = "" if a == b and _same(*med) else "  MISMATCH"
        extra = f"  median {med[0]:.1f} s / {med[1]:.1f} s" if k and med[0] is not None else ""
        print(f"  {k + 1} {name:18} ours {a:>9,}  duckdb {b:>9,}{extra}{mark}")
        if mark:
            problems.append(f"{backend} funnel step {k + 1}: ours {a} vs DuckDB {b}, medians {med}")
    provinces = sorted(set(mine) | set(ref.funnel) - {""})
    differing = [
        p
        for p in provinces
        if p
        and (
            mine.get(p, [0] * 5)[:5] != ref.funnel.get(p, [0] * 5)[:5]
            or not all(_same(x, y) for x, y in zip(mine[p][5:], ref.funnel[p][5:], strict=True))
        )
    ]
    print(
        f"  by first-touch province: {len(provinces) - 1 - len(differing)} of "
        f"{len(provinces) - 1} values identical (units and medians)"
    )
    for p in differing:
        problems.append(f"{backend} province {p}: ours {mine.get(p)} vs DuckDB {ref.funnel.get(p)}")
    return problems


def _compare_revenue(backend: str, rev: dict[str, Any], ref: Reference) -> list[str]:
    problems = []
    print(f"revenue, 7 full days, {backend} vs DuckDB")
    for key in (
        "payments_approved",
        "gross_ars",
        "commission_ars",
        "refunds_ars",
        "chargebacks_ars",
    ):
        a, b = rev[key], ref.revenue[key]
        mark = "" if _same(a, b) else "  MISMATCH"
        print(f"  {key:18} ours {a:>16,}  duckdb {b:>16,}{mark}")
        if mark:
            problems.append(f"{backend} revenue {key}: ours {a} vs DuckDB {b}")
    plans = [
        {k: p[k] for k in ("installments", "approved", "rejected")} for p in rev["installments"]
    ]
    same_plans = plans == ref.revenue["installments"]
    print(f"  installments       {'identical' if same_plans else 'MISMATCH'}: {plans}")
    if not same_plans:
        problems.append(f"{backend} installments: ours {plans} vs {ref.revenue['installments']}")
    return problems


# -- output -------------------------------------------------------------------------------------


def print_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a left-aligned table."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def print_ingest(meta: Meta, opts: Options) -> None:
    """Print the load figures of every backend."""
    rows = []
    for backend in opts.backends:
        got = meta.ingest.get(backend)
        if not got:
            continue
        ratio = got["sample_rate"] / got["plain_rate"] if got["plain_rate"] else 0.0
        rows.append(
            (
                backend,
                f"{got['events']:,}",
                f"{got['seconds']:,.0f}",
                f"{got['rate']:,.0f}",
                f"{got['sample_rate']:,.0f}",
                f"{got['plain_rate']:,.0f}",
                f"{ratio:.2f}",
                f"{got['commits']:,}",
            )
        )
    header = (
        "backend",
        "events",
        "load s",
        "events/s (writer+rollups)",
        f"first {opts.sample:,}: events/s",
        "plain INSERT events/s",
        "ratio",
        "commits",
    )
    print_rows(header, rows)
    for backend in opts.backends:
        got = meta.ingest.get(backend, {})
        if got:
            print(f"{backend}: loaded {got['loaded_at']}. {got.get('autovacuum', '')}".rstrip())


def print_timings(timings: list[Timing], ref: Reference | None) -> None:
    """Print p50/p95 of every query with its target and verdict."""
    duck = {t.query: t for t in ref.timings} if ref is not None else {}
    rows = []
    for t in timings:
        if t.error is not None:
            rows.append((t.backend, t.query, "-", "-", t.target_label, "-", "ERROR"))
            continue
        target, ratio, verdict = t.target_label, "", ""
        if t.target_ms is not None:
            ratio = f"{t.p95 / t.target_ms:.2f}"
            verdict = "PASS" if t.p95 <= t.target_ms else "FAIL"
        elif t.backend != "duckdb" and t.query in duck:
            base = duck[t.query].p50
            target = f"p95 <= DuckDB p50 ({base:,.1f} ms)"
            ratio = f"{t.p95 / base:.2f}"
            verdict = "PASS" if t.p95 <= base else "FAIL"
        rows.append((t.backend, t.query, f"{t.p50:,.1f}", f"{t.p95:,.1f}", target, ratio, verdict))
    print_rows(("backend", "query", "p50 ms", "p95 ms", "target", "ratio", "result"), rows)
    for t in timings:
        if t.error is not None:
            print(f"ERROR {t.backend} {t.query}: {t.error}")


def print_sections(sections: list[Timing]) -> None:
    """Print where the reports' time goes: each section timed on its own."""
    rows = [
        (
            t.backend,
            t.query,
            *((f"{t.p50:,.1f}", f"{t.p95:,.1f}") if not t.error else ("ERROR", "")),
        )
        for t in sections
    ]
    print("\nEach section on its own (same connection, no HTTP):")
    print_rows(("backend", "section", "p50 ms", "p95 ms"), rows)


# -- the run ------------------------------------------------------------------------------------


# PostgreSQL's own autovacuum rules (PG 13+ defaults): vacuum past 20% dead or 20% newly
# inserted rows, analyze past 10% changed rows; checked once a minute (autovacuum_naptime).
_AUTOVACUUM_DUE = """
SELECT s.relname,
    s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
        OR s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0) AS vacuum,
    s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) AS analyze
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
"""


class AutovacuumStandIn:
    """Runs autovacuum's rules from the benchmark when the server has ``autovacuum = off``.

    Without it a long load on such a server runs on the empty tables' statistics and ever more
    dead rows (the rollups update in place), which no production server does. Does nothing
    when the server's own autovacuum is on.
    """

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._task: asyncio.Task[None] | None = None
        self.vacuums = 0
        self.analyzes = 0
        self.seconds = 0.0

    @classmethod
    async def start(cls, url: str, *, naptime_s: float = 60.0) -> AutovacuumStandIn | None:
        """Return a running stand-in, or None when the server vacuums by itself."""
        import asyncpg

        dsn = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))
        conn: Any = await asyncpg.connect(dsn)
        if await conn.fetchval("SHOW autovacuum") == "on":
            await conn.close()
            return None
        print("  postgres: autovacuum is off on this server; the benchmark applies its rules")
        stand_in = cls(conn)
        stand_in._task = asyncio.create_task(stand_in._run(naptime_s))
        return stand_in

    async def _run(self, naptime_s: float) -> None:
        while True:
            await asyncio.sleep(naptime_s)
            started = time.perf_counter()
            for table, vacuum, analyze in await self._conn.fetch(_AUTOVACUUM_DUE):
                if vacuum:
                    await self._conn.execute(f'VACUUM (ANALYZE) "{table}"')
                    self.vacuums += 1
                elif analyze:
                    await self._conn.execute(f'ANALYZE "{table}"')
                    self.analyzes += 1
            self.seconds += time.perf_counter() - started

    async def stop(self) -> None:
        """Stop (cancelling a VACUUM in progress) and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._conn.terminate()

    def describe(self) -> str:
        """One line for the report."""
        return (
            f"autovacuum off on the server: the benchmark ran its rules, {self.vacuums} "
            f"VACUUM + {self.analyzes} ANALYZE, {self.seconds:.0f} s"
        )


async def load_backend(opts: Options, meta: Meta, backend: str, app: Any, sink: Any) -> None:
    """Load the dataset into ``backend`` through the writer, then the plain-INSERT sample."""
    stream = generate(opts.events, days=opts.days, seed=opts.seed, end_us=meta.end_us)
    print(f"{backend}: loading {opts.events:,} events through the writer...", flush=True)
    vacuum = await AutovacuumStandIn.start(opts.url(backend)) if backend == "postgres" else None
    try:
        result = await load_through_writer(
            app.state.services.writer, stream, opts=opts, label=backend, sink=sink
        )
    finally:
        if vacuum is not None:
            await vacuum.stop()
    if result.conflicts or result.events != opts.events:
        raise BenchError(f"{backend}: stored {result.events} of {opts.events}, {result}")
    engine: AsyncEngine = app.state.services.engine
    if backend == "postgres":  # what autovacuum does after a bulk load; fresh statistics
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    sample = min(opts.sample, opts.events)
    print(f"{backend}: plain INSERT of the first {sample:,} events, fresh database...", flush=True)
    scratch = opts.data_dir / "baseline"
    scratch.mkdir(exist_ok=True)
    async with Database(backend, postgres_admin_url=opts.postgres_url, work_dir=scratch) as db:
        assert db.engine is not None
        stream = generate(opts.events, days=opts.days, seed=opts.seed, end_us=meta.end_us)
        plain_seconds = await load_plain(db.engine, _unique(stream, sample), opts=opts)
    shutil.rmtree(scratch, ignore_errors=True)
    sample_seconds = result.sample_seconds or result.seconds
    meta.ingest[backend] = {
        "events": result.events,
        "submitted": result.submitted,
        "duplicates": result.duplicates,
        "seconds": result.seconds,
        "rate": result.rate,
        "sample_rate": min(sample, result.events) / sample_seconds,
        "plain_rate": sample / plain_seconds,
        "commits": result.commits,
        "autovacuum": vacuum.describe() if vacuum is not None else "",
        "loaded_at": datetime.now(UTC).isoformat(),
    }
    meta.save(opts.data_dir / "meta.json")


async def run(opts: Options) -> Results:
    """Load (unless reused), time, compare; return what to print."""
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    meta_path = opts.data_dir / "meta.json"
    meta = _load_meta(meta_path) if opts.reuse else None
    if meta is None:
        for name in ("events.csv", "events.parquet", "meta.json"):
            (opts.data_dir / name).unlink(missing_ok=True)
        meta = Meta(opts.events, opts.days, opts.seed, to_micros(datetime.now(UTC)))
        meta.save(meta_path)
    elif datetime.fromtimestamp(meta.end_us / 1e6, ART).date() != datetime.now(ART).date():
        print("warning: the kept data was generated on an earlier day; 'today' has no events")
    span = ranges(datetime.now(UTC))
    timings: list[Timing] = []
    sections: list[Timing] = []
    ours: dict[str, dict[str, Any]] = {}
    sink: FlatFile | None = None
    parquet = opts.data_dir / "events.parquet"
    flat = opts.data_dir / "events.csv"
    for backend in opts.backends:
        reuse = backend in meta.ingest and await database_exists(opts, backend)
        if not reuse:
            meta.ingest.pop(backend, None)
            await fresh_database(opts, backend)
            if not parquet.exists() and not flat.exists():
                sink = FlatFile(flat.with_suffix(".part"))
        else:
            print(f"{backend}: reusing the kept database ({opts.url(backend)})", flush=True)
        app = create_app(app_settings(opts.url(backend)))
        async with app.router.lifespan_context(app):
            if not reuse:
                try:
                    await load_backend(opts, meta, backend, app, sink)
                finally:
                    if sink is not None:
                        sink.close()
                if sink is not None:  # only a complete load leaves the flat file
                    sink.path.rename(flat)
                    sink = None
            found, figures = await time_reports(app, backend, span, opts)
            timings += found
            ours[backend] = figures
            print(f"  {backend}: each section on its own...", flush=True)
            mine = await time_sections(app, backend, span, opts)
            sections += mine
            print_sections(mine)  # now, in case a later step fails; all again at the end
            print_timings(found, None)
    print("DuckDB: loading the raw events...", flush=True)
    settings = app_settings(opts.url(opts.backends[0]))
    ref = duckdb_reference(
        ensure_parquet(opts, meta),
        span.full_week,
        window_us=int(settings.funnel_window_hours * 3_600_000_000),
        rate=str(settings.commission_rate),
        opts=opts,
    )
    problems = []
    for backend, figures in ours.items():
        problems += compare(backend, figures, ref)
    return Results(meta, timings + ref.timings, sections, ref, problems)


@dataclass(frozen=True, slots=True)
class Results:
    """Everything the run prints at the end."""

    meta: Meta
    timings: list[Timing]
    sections: list[Timing]
    reference: Reference
    problems: list[str]


def parse_args(argv: list[str] | None = None) -> Options:
    """Return the options of the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=28, help="ART days of data, ending today")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "barberpro-bench-analytics",
        help="SQLite files, the Parquet file and meta.json go in a subdirectory per dataset",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and files")
    parser.add_argument("--reuse", action="store_true", help="reuse kept data (implies --keep)")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--calls", type=int, default=30, help="measured calls per query")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured calls first")
    parser.add_argument("--batch", type=int, default=1000, help="events per submitted batch")
    parser.add_argument("--submitters", type=int, default=4, help="concurrent submitting tasks")
    parser.add_argument(
        "--sample", type=int, default=500_000, help="events loaded again with plain INSERTs"
    )
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    return Options(
        events=args.events,
        days=args.days,
        seed=args.seed,
        backends=backends,
        workdir=args.workdir,
        keep=args.keep or args.reuse,
        reuse=args.reuse,
        postgres_url=args.postgres_url,
        calls=args.calls,
        warmup=args.warmup,
        batch=args.batch,
        submitters=args.submitters,
        sample=min(args.sample, args.events),
    )


def describe_machine() -> str:
    """Return one line naming the machine and its load."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load}"


async def cleanup(opts: Options) -> None:
    """Drop what the run made unless it is to be kept."""
    if opts.keep:
        print(
            f"\nkept: {opts.data_dir}"
            + (f", PostgreSQL database {opts.pg_name}" if "postgres" in opts.backends else "")
        )
        print("time again without loading: add --reuse")
        return
    for backend in opts.backends:
        await drop_database(opts, backend)
    shutil.rmtree(opts.data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables; 0 whatever the targets, 1 on errors."""
    opts = parse_args(argv)
    logs.configure(level="error")  # the service's slow-query warnings would drown the output
    print(describe_machine())
    print(
        f"{opts.events:,} events over {opts.days} ART days (seed {opts.seed}); "
        f"{opts.warmup} warm-up + {opts.calls} measured calls per query",
        flush=True,
    )

    async def body() -> Results:
        try:
            return await run(opts)
        finally:
            await cleanup(opts)

    try:
        with _runner() as runner:
            results = runner.run(body())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\nafter the run: {describe_machine()}")
    print_ingest(results.meta, opts)
    print_sections(results.sections)
    print_timings(results.timings, results.reference)
    ref = results.reference
    print(f"\nDuckDB {ref.version}: loaded the Parquet file in {ref.load_seconds:.1f} s")
    if results.problems:
        print("\nDuckDB and ours differ, or ours could not answer:", file=sys.stderr)
        for problem in results.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    return 0


def _runner() -> asyncio.Runner:
    """Return an asyncio runner on uvloop when installed, as uvicorn uses it by default."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


if __name__ == "__main__":
    sys.exit(main())
