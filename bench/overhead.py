"""What monitoring costs: the same app with it on, off, and with prometheus-fastapi-instrumentator.

Three uvicorn processes (one worker each, ``--no-access-log``) serve the same service:

- ``off``: ``BARBERPRO_MONITORING_ENABLED=false`` (no timing middleware, no query timing);
- ``on``: the default, our middleware, query timing, windows and Prometheus metrics;
- ``instrumentator``: monitoring off, plus ``Instrumentator().instrument(app)``, the
  prometheus-fastapi-instrumentator defaults, as most FastAPI services add metrics.

wrk drives each with the same script for the same time, in rounds that rotate the order so
a noisy neighbour hurts all alike; the figure of a side is its total requests over its total
seconds; the server process's CPU time per request is printed beside it (a steadier figure
when other work shares the machine). Two scenarios: ``get`` (the open JSON health GET,
CPU-bound: the worst case for any per-request overhead) and ``mixed`` (that GET alternating
with the ingestion POST, which also writes to SQLite through the group-commit writer).
Target: ``on`` >= 0.95 of ``off``.

Usage: ``.venv/bin/python bench/overhead.py [--seconds 8] [--rounds 3] [--connections 32]``.
Needs wrk (``apt-get install -y wrk``). Exits 0 whatever the target says; non-zero on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from harness import BenchError, Server, WrkResult, require_wrk, run_wrk, temp_dir

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
    mode: str, servers: dict[str, Server], *, seconds: int, rounds: int, connections: int
) -> dict[str, Side]:
    """Run ``rounds`` rounds of ``mode`` on every server; return each side's totals."""
    nonce = secrets.token_hex(4)
    sides = {name: Side(name) for name in servers}
    for server in servers.values():  # warm up: imports, caches, SQLite pages
        await run_wrk(
            server.url, "wrk_overhead.lua", [nonce, mode], connections=connections, seconds=2
        )
        server.check_alive()
    for index in range(rounds):
        order = list(servers)[index % len(servers) :] + list(servers)[: index % len(servers)]
        for name in order:
            cpu_before = _cpu_seconds(servers[name].pid)
            result = await run_wrk(
                servers[name].url,
                "wrk_overhead.lua",
                [secrets.token_hex(4), mode],
                connections=connections,
                seconds=seconds,
            )
            servers[name].check_alive()
            sides[name].add(result, _cpu_seconds(servers[name].pid) - cpu_before)
    return sides


async def layer_cost(work: Path, *, batches: int = 80, per_batch: int = 1000) -> list[str]:
    """Time the app with and without the monitoring middleware layer, in this process.

    The same app object answers the same anonymous health GET through the whole middleware
    stack, or with the call entering just below the monitoring middleware; batches alternate,
    timed with this thread's CPU clock. The minimum over batches is the layer's own cost (the
    least disturbed batch); the median shows what a busy machine adds.
    """
    from barberpro.app import create_app
    from barberpro.config import Settings
    from barberpro.monitoring.middleware import MonitoringMiddleware

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{work / 'layer.db'}",
        admin_token="bench-admin",
        ingest_token="bench-ingest",
        mp_worker_enabled=False,
        alert_enabled=False,
        log_level="warning",
    )
    app = create_app(settings)
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
        "headers": [(b"host", b"bench")],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Any) -> None:
        return None

    async with app.router.lifespan_context(app):
        await app(dict(scope), receive, send)  # builds the middleware stack
        node: Any = app.middleware_stack
        while node is not None and not isinstance(node, MonitoringMiddleware):
            node = getattr(node, "app", None)
        if node is None:
            raise BenchError("the monitoring middleware is not in the stack")
        targets: dict[str, Any] = {"with": node, "without": node.app}
        times: dict[str, list[float]] = {"with": [], "without": []}
        for index in range(batches):
            for name in ("with", "without") if index % 2 else ("without", "with"):
                target = targets[name]
                started = time.thread_time()
                for _ in range(per_batch):
                    await target(dict(scope), receive, send)
                times[name].append((time.thread_time() - started) / per_batch * 1e6)
    lines = ["monitoring middleware layer, in-process (thread CPU per request):"]
    for label, pick in (("min", min), ("median", statistics.median)):
        without, with_ = pick(times["without"]), pick(times["with"])
        lines.append(
            f"  {label:<6} without {without:6.1f} us  with {with_:6.1f} us  "
            f"cost {with_ - without:5.2f} us/request"
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
    verdict = "meets" if on_ratio >= TARGET else "MISSES"
    lines.append(f"  monitoring on / off = {on_ratio:.3f} req/s: {verdict} the {TARGET} target")
    return lines


async def main() -> int:
    """Run both scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--scenario", choices=["get", "mixed", "both"], default="both")
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
        servers = {
            name: Server(name, factory, env=_env(name, work), log_dir=work)
            for name, factory in factories.items()
        }
        async with servers["off"], servers["on"], servers["instrumentator"]:
            for mode in modes:
                sides = await scenario(
                    mode,
                    servers,
                    seconds=opts.seconds,
                    rounds=opts.rounds,
                    connections=opts.connections,
                )
                print("\n".join(report(mode, sides)), flush=True)
        print("\n".join(await layer_cost(work)), flush=True)
    except BenchError as exc:
        print(f"bench/overhead.py: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
