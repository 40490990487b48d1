"""Ingestion throughput of the real service as ratios against baselines measured in the same run.

Two scenarios, on SQLite and on PostgreSQL:

1. ``POST /api/v1/analytics/action``, one event per request, at ``--concurrency`` connections,
   against a bare FastAPI app (``bench/bare_app.py``) with the same body model that stores
   nothing. Target: ours >= 0.70 of the bare app's requests/s.
2. ``POST /api/v1/analytics/batch`` with 1000-event batches, against SQLAlchemy Core inserting the
   same rows straight into ``events`` (1000 rows per transaction, on the service's own engine
   factory). Target: ours >= 0.45 of its rows/s.

Both apps run under the same uvicorn command (one worker, ``--no-access-log``) as separate
processes; wrk drives them with the same script for the same time, and the sides alternate
round by round so a noisy neighbour hurts both alike. Every request stores new rows (fresh
``event_id`` per action, none in the batch), and after each run of the real app the rows in
``events`` are counted and checked against the 2xx answers wrk saw.

Usage: ``.venv/bin/python bench/ingest.py [--backend sqlite|postgres|both] [--quick]``.
Needs wrk (``apt-get install -y wrk``) and, for PostgreSQL, a server that lets ``postgres``
create databases (``--postgres-url``). Exits 0 whatever the targets say; non-zero on errors
or when stored rows do not match the acknowledged ones.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.analytics.rows import prepare
from barberpro.analytics.schemas import Action
from barberpro.config import Settings
from barberpro.db import tables
from harness import (
    BenchError,
    Database,
    Server,
    WrkResult,
    py_spy,
    run_wrk,
    temp_dir,
)
from ingest_report import Figure, RowCheck, Side, describe_machine, load_average, print_table

ACTION_PATH = "/api/v1/analytics/action"
BATCH_PATH = "/api/v1/analytics/batch"
ACTION_TARGET = 0.70
BATCH_TARGET = 0.45
MAX_FUTURE = timedelta(hours=Settings.model_fields["max_future_hours"].default)


@dataclass(frozen=True, slots=True)
class Options:
    """The run's parameters."""

    backends: tuple[str, ...]
    seconds: int  # wrk takes whole seconds
    warmup: int
    rounds: int
    concurrency: int
    batch_concurrency: int
    batch_size: int
    postgres_url: str
    profile_dir: Path | None  # py-spy profiles of the real app's first measured run

    def profile(self, backend: str, scenario: str, done_before: int) -> Path | None:
        """Return where to write the profile of this run; None after the first or when off."""
        if self.profile_dir is None or done_before:
            return None
        return self.profile_dir / f"{backend}-{scenario}.txt"


def _nonce() -> str:
    return secrets.token_hex(4)


async def action_scenario(opts: Options, db: Database, ours: Server, bare: Server) -> Figure:
    """Single events at ``opts.concurrency`` connections: ours against the bare app."""
    mine, base, check = Side(), Side(), RowCheck()

    async def drive(server: Server, seconds: int) -> WrkResult:
        result = await run_wrk(
            server.url + ACTION_PATH,
            "wrk_action.lua",
            [_nonce()],
            connections=opts.concurrency,
            seconds=seconds,
        )
        _sane(server, result)
        return result

    async def measure_ours() -> None:
        await db.clear()
        out = opts.profile(db.backend, "action", len(mine.rates))
        async with py_spy(ours.pid, opts.seconds, out):
            result = await drive(ours, opts.seconds)
        stored = await db.settled_count()
        check.add(acked=result.acked, stored=stored, cut_off_max=result.sent - result.acked)
        mine.add(result.acked, result.seconds, result)

    async def measure_bare() -> None:
        result = await drive(bare, opts.seconds)
        base.add(result.acked, result.seconds, result)

    await drive(ours, opts.warmup)
    await drive(bare, opts.warmup)
    await db.settled_count()  # requests cut off by the warm-up's end must not land in a run
    await _alternate(opts.rounds, measure_ours, measure_bare)
    return Figure(
        db.backend, f"action x{opts.concurrency} conns", "req/s", mine, base, ACTION_TARGET, check
    )


def make_batch(size: int, *, seed: int = 7) -> dict[str, Any]:
    """Return a batch of ``size`` realistic action events without event_id (new rows each time)."""
    rng = random.Random(seed)
    sent_at = datetime.now(UTC)
    actions = [
        "search",
        "provider_view",
        "open_app",
        "filter_price",
        "select_service",
        "share:whatsapp",
        "view_gallery",
        "map.open",
        "review_read",
        "favorite_add",
    ]
    provinces = ["AR-C", "AR-B", "AR-X", "AR-S", "AR-M", "AR-T", "AR-U", "AR-Q"]
    events: list[dict[str, Any]] = []
    for i in range(size):
        session = i // 10  # ten events per session, a hundred sessions per batch
        action = rng.choice(actions)
        properties: dict[str, Any] = {
            "screen": rng.choice(["home", "search", "provider"]),
            "province": rng.choice(provinces),
        }
        if action == "search":
            properties.update(
                query=rng.choice(["corte", "barba", "fade", "color"]),
                results=rng.randint(0, 40),
                filters={"max_price": 12000},
            )
        elif action in {"provider_view", "select_service", "favorite_add"}:
            properties.update(
                provider_id=f"p-{rng.randint(1, 400)}",
                service_id=f"svc-{rng.randint(1, 30)}",
                price_ars=9500,
            )
        elif action == "view_gallery":
            properties["photos"] = [f"img-{rng.randint(1, 999)}" for _ in range(rng.randint(1, 8))]
        event: dict[str, Any] = {
            "type": "action",
            "session_id": f"s-batch-{seed}-{session}",
            "action": action,
            "properties": properties,
            "timestamp": (sent_at - timedelta(seconds=rng.uniform(0, 1800))).isoformat(),
        }
        if rng.random() < 0.7:
            event["user_id"] = f"u-{rng.randint(1, 5000)}"
        events.append(event)
    return {"events": events, "sent_at": sent_at.isoformat()}


def batch_rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the ``events`` rows of ``batch`` exactly as the service builds them."""
    now = datetime.now(UTC)
    sent_at = datetime.fromisoformat(batch["sent_at"])
    return [
        prepare(Action.model_validate(e), now=now, max_future=MAX_FUTURE, sent_at=sent_at).row
        for e in batch["events"]
    ]


async def insert_direct(
    engine: AsyncEngine, template: list[dict[str, Any]], seconds: float
) -> tuple[int, float]:
    """Insert ``template`` again and again (new ids) for ``seconds``; return rows and time spent.

    Only the transactions are timed: making fresh ids is not the database's work.
    """
    rows_done, busy = 0, 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        rows = [{**row, "event_id": str(uuid.uuid4())} for row in template]
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(insert(tables.events), rows)
        busy += time.perf_counter() - started
        rows_done += len(rows)
    return rows_done, busy


async def batch_scenario(opts: Options, db: Database, ours: Server, work: Path) -> Figure:
    """Batches of ``opts.batch_size`` through the API against direct Core inserts."""
    batch = make_batch(opts.batch_size)
    body = work / "batch.json"
    body.write_bytes(orjson.dumps(batch))
    template = batch_rows(batch)
    assert db.engine is not None
    engine = db.engine
    mine, base, check = Side(), Side(), RowCheck()

    async def drive(seconds: int) -> WrkResult:
        result = await run_wrk(
            ours.url + BATCH_PATH,
            "wrk_batch.lua",
            [str(body)],
            connections=opts.batch_concurrency,
            seconds=seconds,
        )
        _sane(ours, result)
        return result

    async def measure_ours() -> None:
        await db.clear()
        out = opts.profile(db.backend, "batch", len(mine.rates))
        async with py_spy(ours.pid, opts.seconds, out):
            result = await drive(opts.seconds)
        stored = await db.settled_count()
        cut_off = (result.sent - result.acked) * opts.batch_size
        check.add(acked=result.acked_rows, stored=stored, cut_off_max=cut_off)
        mine.add(result.acked_rows, result.seconds, result)

    async def measure_direct() -> None:
        await db.clear()
        rows, seconds = await insert_direct(engine, template, opts.seconds)
        stored = await db.count_events()
        if stored != rows:
            raise BenchError(f"direct insert stored {stored} rows, expected {rows}")
        base.add(rows, seconds)

    await drive(opts.warmup)
    await insert_direct(engine, template, opts.warmup)
    await db.settled_count()  # requests cut off by the warm-up's end must not land in a run
    await _alternate(opts.rounds, measure_ours, measure_direct)
    return Figure(
        db.backend,
        f"batch {opts.batch_size} x{opts.batch_concurrency} conns",
        "rows/s",
        mine,
        base,
        BATCH_TARGET,
        check,
    )


def _sane(server: Server, result: WrkResult) -> None:
    """Raise when the server died or answered nothing as expected (a 401 or 500 storm)."""
    server.check_alive()
    if result.acked == 0:
        raise BenchError(
            f"{server.name} accepted none of {result.requests} requests "
            f"({result.status_errors} non-2xx, {result.socket_errors} socket errors):\n"
            f"{server.log_tail()}"
        )


async def _alternate(
    rounds: int, ours: Callable[[], Awaitable[None]], baseline: Callable[[], Awaitable[None]]
) -> None:
    """Run both sides ``rounds`` times, swapping which goes first each round."""
    for index in range(rounds):
        first, second = (ours, baseline) if index % 2 == 0 else (baseline, ours)
        await first()
        await second()


async def run(opts: Options) -> list[Figure]:
    """Run every scenario on every backend; return the figures."""
    work = temp_dir()
    figures: list[Figure] = []
    try:
        async with Server("bare", "bare_app:create_app", env={}, log_dir=work) as bare:
            for backend in opts.backends:
                async with Database(
                    backend, postgres_admin_url=opts.postgres_url, work_dir=work
                ) as db:
                    version = await db.version()
                    load = load_average()
                    print(f"{backend}: {version}, measuring (load average {load})...", flush=True)
                    env = {"BARBERPRO_DATABASE_URL": db.url}
                    async with Server(
                        f"ours-{backend}", "barberpro.app:app_from_env", env=env, log_dir=work
                    ) as ours:
                        figures.append(await action_scenario(opts, db, ours, bare))
                        figures.append(await batch_scenario(opts, db, ours, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"done (load average {load_average()})")
    return figures


def parse_args(argv: list[str] | None = None) -> Options:
    """Return the options of the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10, help="measured time per run")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up time per side")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per scenario")
    parser.add_argument("--concurrency", type=int, default=32, help="connections, scenario 1")
    parser.add_argument("--batch-concurrency", type=int, default=4, help="connections, scenario 2")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="a server and role that may create databases; a fresh one is made and dropped",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="write py-spy profiles (folded stacks) of the real app's first measured runs to DIR",
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (about 40 s)")
    args = parser.parse_args(argv)
    seconds, warmup, rounds = args.seconds, args.warmup, args.rounds
    if args.quick:
        seconds, warmup, rounds = 2, 1, 1
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    return Options(
        backends,
        seconds,
        warmup,
        rounds,
        args.concurrency,
        args.batch_concurrency,
        args.batch_size,
        args.postgres_url,
        args.py_spy,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; 0 whatever the targets, 1 on errors."""
    opts = parse_args(argv)
    try:
        print(describe_machine())
        print(
            f"{opts.seconds} s per run after {opts.warmup} s warm-up, {opts.rounds} alternating "
            "round(s) per side; the service runs with default settings (open access, "
            f"SQLite synchronous={Settings.model_fields['sqlite_synchronous'].default})",
            flush=True,
        )
        runner = _runner()
        with runner:
            figures = runner.run(run(opts))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_table(figures)
    if not all(f.check.ok for f in figures):
        print("error: stored rows do not match the acknowledged ones", file=sys.stderr)
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
