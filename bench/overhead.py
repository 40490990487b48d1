"""What monitoring costs: the same app with it on, off, and with prometheus-fastapi-instrumentator.

Three uvicorn processes (one worker each, ``--no-access-log``) serve the same service:

- ``off``: ``BARBERPRO_MONITORING_ENABLED=false`` (no timing middleware, no query timing);
- ``on``: the default, our middleware, query timing, windows and Prometheus metrics;
- ``instrumentator``: monitoring off, plus ``Instrumentator().instrument(app)``, the
  prometheus-fastapi-instrumentator defaults, as most FastAPI services add metrics.

wrk drives each with the same script for the same time, in rounds that rotate the order so
a noisy neighbour hurts all alike, each round with newly started processes (one process runs
several percent faster or slower than another for its whole life, whatever it serves). The
figure of a side is its total requests over its total seconds; the server process's CPU time
per request is printed beside it. Two scenarios: ``get`` (the open JSON health GET,
CPU-bound: the worst case for any per-request overhead) and ``mixed`` (that GET alternating
with the ingestion POST, which also writes to SQLite through the group-commit writer).
Target: ``on`` >= 0.95 of ``off``.

Usage: ``.venv/bin/python bench/overhead.py [--seconds 8] [--rounds 3] [--connections 32]``.
Needs wrk (``apt-get install -y wrk``). Exits 0 whatever the target says; non-zero on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from harness import BenchError, Server, WrkResult, require_wrk, run_wrk, split_cpus, temp_dir

SIDES = ("off", "on", "instrumentator")
TARGET = 0.95


def instrumented_app() -> Any:
    """Uvicorn factory: the service without our monitoring, with the instrumentator's defaults."""
    from prometheus_fastapi_instrumentator import Instrumentator

    from barberpro.app import create_app
    from barberpro.config import Settings

    app = create_app(Settings())
    Instrumentator().instrument(app)
    return app


@dataclass(slots=True)
class Side:
    """One configuration's requests and seconds over every round of one scenario."""

    name: str
    requests: int = 0
    seconds: float = 0.0
    rounds: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0

    def add(self, result: WrkResult, cpu_s: float) -> None:
        """Add one wrk run."""
        if result.status_errors or result.socket_errors or result.acked != result.requests:
            raise BenchError(
                f"{self.name}: {result.requests} answers, {result.acked} 2xx, "
                f"{result.status_errors} status errors, {result.socket_errors} socket errors"
            )
        self.requests += result.requests
        self.seconds += result.seconds
        self.rounds.append(result.requests / result.seconds)
        self.p99_ms.append(result.p99_ms)
        self.cpu_s += cpu_s

    @property
    def rate(self) -> float:
        """Requests per second over all rounds."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """The server process's CPU time per request, in microseconds."""
        return self.cpu_s / self.requests * 1e6 if self.requests else 0.0


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _env(name: str, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBERPRO_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {
            "BARBERPRO_DATABASE_URL": f"sqlite+aiosqlite:///{work / name}.db",
            "BARBERPRO_MONITORING_ENABLED": "true" if name == "on" else "false",
            # Background loops not under test stay off on every side alike.
            "BARBERPRO_MP_WORKER_ENABLED": "false",
            "BARBERPRO_ALERT_ENABLED": "false",
            "BARBERPRO_LOG_LEVEL": "warning",
            # Tokens as in production: the health GET is anonymous, the POST uses the ingest one.
            "BARBERPRO_ADMIN_TOKEN": "bench-admin",
            "BARBERPRO_INGEST_TOKEN": "bench-ingest",
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent), *sys.path]),
        }
    )
    return env


async def scenario(
    mode: str,
    make_servers: Callable[[], dict[str, Server]],
    *,
    load_cpus: set[int] | None,
    seconds: int,
    rounds: int,
    connections: int,
) -> dict[str, Side]:
    """Run ``rounds`` rounds of ``mode``; return each side's totals.

    Every round starts new server processes: the speed of one Python process differs from
    another's by several percent for reasons that last its lifetime (hash seeds, memory layout),
    as an on/on comparison shows, so the rounds average that out instead of carrying it through.
    """
    sides = {name: Side(name) for name in SIDES}
    for index in range(rounds):
        servers = make_servers()
        async with contextlib.AsyncExitStack() as stack:
            for server in servers.values():
                await stack.enter_async_context(server)
            for server in servers.values():  # warm up: imports, caches, SQLite pages
                await run_wrk(
                    server.url,
                    "wrk_overhead.lua",
                    [secrets.token_hex(4), mode],
                    connections=connections,
                    seconds=2,
                    cpus=load_cpus,
                )
                server.check_alive()
            order = list(SIDES)[index % len(SIDES) :] + list(SIDES)[: index % len(SIDES)]
            for name in order:
                cpu_before = _cpu_seconds(servers[name].pid)
                result = await run_wrk(
                    servers[name].url,
                    "wrk_overhead.lua",
                    [secrets.token_hex(4), mode],
                    connections=connections,
                    seconds=seconds,
                    cpus=load_cpus,
                )
                servers[name].check_alive()
                sides[name].add(result, _cpu_seconds(servers[name].pid) - cpu_before)
    return sides


async def in_process(work: Path, *, batches: int = 60, per_batch: int = 1000) -> list[str]:
    """Time the whole app with monitoring on and off in this process, batch for batch.

    Two apps, one with monitoring on and one with it off, answer the same anonymous health GET
    through their whole middleware stacks; batches alternate, timed with this thread's CPU
    clock. No network, no wrk, no second process: the steadiest view of what monitoring adds
    to a request. The minimum over batches is the least disturbed figure, the median what a
    busy machine adds.
    """
    from barberpro.app import create_app
    from barberpro.config import Settings

    apps = {
        name: create_app(
            Settings(
                database_url=f"sqlite+aiosqlite:///{work / f'in-process-{name}.db'}",
                monitoring_enabled=name == "on",
                admin_token="bench-admin",
                ingest_token="bench-ingest",
                mp_worker_enabled=False,
                alert_enabled=False,
                log_level="warning",
            )
        )
        for name in ("off", "on")
    }
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/monitoring/health",
        "raw_path": b"/api/v1/monitoring/health",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Any) -> None:
        return None

    times: dict[str, list[float]] = {"off": [], "on": []}
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
            for _ in range(per_batch):  # warm up
                await app(dict(scope), receive, send)
        for index in range(batches):
            for name in ("off", "on") if index % 2 else ("on", "off"):
                app = apps[name]
                started = time.thread_time()
                for _ in range(per_batch):
                    await app(dict(scope), receive, send)
                times[name].append((time.thread_time() - started) / per_batch * 1e6)
    lines = ["in-process, whole app, monitoring on vs off (thread CPU per request):"]
    for label, pick in (("min", min), ("median", statistics.median)):
        off, on = pick(times["off"]), pick(times["on"])
        lines.append(
            f"  {label:<6} off {off:6.1f} us  on {on:6.1f} us  cost {on - off:5.2f} us/request"
            f"  ratio off/on {off / on:5.3f}"
        )
    return lines


def report(mode: str, sides: dict[str, Side]) -> list[str]:
    """Return the lines describing one scenario."""
    off = sides["off"].rate
    off_cpu = sides["off"].cpu_us
    lines = [f"scenario {mode}:"]
    for name in SIDES:
        side = sides[name]
        ratio = side.rate / off if off else 0.0
        cpu_ratio = off_cpu / side.cpu_us if side.cpu_us else 0.0
        per_round = ", ".join(f"{r:.0f}" for r in side.rounds)
        lines.append(
            f"  {name:<15} {side.rate:7.0f} req/s  ratio {ratio:5.3f}  "
            f"server CPU {side.cpu_us:6.1f} us/req (ratio {cpu_ratio:5.3f})  "
            f"p99 {max(side.p99_ms):6.1f} ms  rounds: {per_round}"
        )
    on_ratio = sides["on"].rate / off if off else 0.0
    paired = [a / b for a, b in zip(sides["on"].rounds, sides["off"].rounds, strict=True) if b]
    verdict = "meets" if on_ratio >= TARGET else "MISSES"
    lines.append(
        f"  monitoring on / off = {on_ratio:.3f} req/s (median of the rounds' ratios "
        f"{statistics.median(paired):.3f}): {verdict} the {TARGET} target"
    )
    return lines


async def main() -> int:
    """Run both scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="seconds per wrk run")
    parser.add_argument(
        "--rounds", type=int, default=6, help="rounds per scenario (new processes each round)"
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--scenario", choices=["get", "mixed", "both"], default="both")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the OS place the servers and wrk (default: servers on one half of the CPUs, "
        "wrk on the other)",
    )
    opts = parser.parse_args()
    require_wrk()
    work = temp_dir()
    modes = ["get", "mixed"] if opts.scenario == "both" else [opts.scenario]
    print(
        f"bench/overhead.py: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{opts.rounds} rounds x {opts.seconds} s per side, {opts.connections} connections",
        flush=True,
    )
    try:
        factories = {
            "off": "barberpro.app:app_from_env",
            "on": "barberpro.app:app_from_env",
            "instrumentator": "overhead:instrumented_app",
        }

        cpus = split_cpus() if opts.pin else None
        server_cpus, load_cpus = cpus if cpus is not None else (None, None)

        def make_servers() -> dict[str, Server]:
            round_dir = Path(tempfile.mkdtemp(dir=work))
            return {
                name: Server(
                    name, factory, env=_env(name, round_dir), log_dir=round_dir, cpus=server_cpus
                )
                for name, factory in factories.items()
            }

        for mode in modes:
            sides = await scenario(
                mode,
                make_servers,
                load_cpus=load_cpus,
                seconds=opts.seconds,
                rounds=opts.rounds,
                connections=opts.connections,
            )
            print("\n".join(report(mode, sides)), flush=True)
        print("\n".join(await in_process(work)), flush=True)
    except BenchError as exc:
        print(f"bench/overhead.py: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
