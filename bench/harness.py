"""Plumbing for the benchmarks: uvicorn server processes, wrk runs, throwaway databases."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.config import Settings
from barberpro.db import migrate, tables
from barberpro.db.engine import create_engine

BENCH_DIR = Path(__file__).resolve().parent
WRK_INSTALL = "apt-get update && apt-get install -y wrk  (macOS: brew install wrk)"


class BenchError(RuntimeError):
    """The benchmark could not run or measured something inconsistent."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_wrk() -> str:
    """Return the path of wrk, or raise saying how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise BenchError(f"wrk is not installed; install it with: {WRK_INSTALL}")
    return found


class Server:
    """One uvicorn process (one worker, no access log) serving an app factory."""

    def __init__(
        self,
        name: str,
        factory: str,
        *,
        env: Mapping[str, str],
        log_dir: Path,
        cpus: set[int] | None = None,
    ) -> None:
        self.name = name
        self._cpus = cpus
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = log_dir / f"{name}.log"
        self._command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--app-dir",
            str(BENCH_DIR),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        # Settings come only from ``env``: a token or URL in the caller's shell must not leak in.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("BARBERPRO_")}
        self._env = {**inherited, **env}
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._process is not None
        return self._process.pid

    async def __aenter__(self) -> Server:
        with self._log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self._command,
                env=self._env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_pin(self._cpus),
            )
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                if self._process.returncode is not None:
                    raise BenchError(f"{self.name} exited at start:\n{self.log_tail()}")
                try:
                    await client.get(f"{self.url}/")  # any answer means startup is done
                    return self
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise BenchError(f"{self.name} did not start:\n{self.log_tail()}") from None
                    await asyncio.sleep(0.1)

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)  # uvicorn's graceful stop: runs the lifespan's end
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()

    def check_alive(self) -> None:
        """Raise when the server has exited."""
        if self._process is None or self._process.returncode is not None:
            raise BenchError(f"{self.name} exited during the run:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of the server's output."""
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextlib.asynccontextmanager
async def py_spy(pid: int, seconds: int, out: Path | None) -> AsyncIterator[None]:
    """Sample ``pid`` with py-spy for ``seconds`` into ``out`` (folded stacks); no-op when None.

    ``--nonblocking`` keeps the cost to the server small; open the file with speedscope or
    flamegraph.pl, or grep it.
    """
    if out is None:
        yield
        return
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("py-spy", path=search)
    if found is None:
        raise BenchError("py-spy is not installed; install it with: .venv/bin/pip install py-spy")
    command = [found, "record", "--nonblocking", "-p", str(pid), "-d", str(seconds),
               "-r", "200", "-f", "raw", "-o", str(out)]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield
    finally:
        _, err = await process.communicate()
        if process.returncode != 0:
            raise BenchError(f"py-spy failed: {err.decode(errors='replace')}")


@dataclass(frozen=True, slots=True)
class WrkResult:
    """What one wrk run reported (its Lua script counts the answers it accepts)."""

    seconds: float
    requests: int  # completed requests
    sent: int  # requests written, including those cut off when the run ended
    acked: int  # requests answered with the expected 2xx
    acked_rows: int  # rows those answers say were stored
    status_errors: int
    socket_errors: int
    p50_ms: float
    p99_ms: float


def _pin(cpus: set[int] | None) -> Callable[[], None] | None:
    """Return a pre-exec hook keeping the child on ``cpus`` (None: wherever the OS puts it)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def split_cpus() -> tuple[set[int], set[int]] | None:
    """Return (server CPUs, load CPUs): half the CPUs each, or None on a single CPU.

    Pinned apart, the server and wrk stop trading places on the same core, which otherwise
    moves one process's rate by +-10 % from one run to the next on a 2-core VM.
    """
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None
    half = len(available) // 2
    return set(available[:half]), set(available[half:])


async def run_wrk(
    url: str,
    script: str,
    script_args: list[str],
    *,
    connections: int,
    seconds: int,
    cpus: set[int] | None = None,
) -> WrkResult:
    """Run wrk against ``url`` for ``seconds`` (on ``cpus`` when given); return its counts."""
    command = [
        require_wrk(),
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(BENCH_DIR / script),
        url,
        "--",
        *script_args,
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_pin(cpus),
    )
    out, err = await process.communicate()
    text_out = out.decode(errors="replace")
    line = next((ln for ln in text_out.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if process.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({process.returncode}):\n{text_out}\n{err.decode()}")
    data: dict[str, int] = json.loads(line.removeprefix("BENCH_RESULT "))
    return WrkResult(
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        sent=data["sent"],
        acked=data["acked"],
        acked_rows=data["acked_rows"],
        status_errors=data["status_errors"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


class Database:
    """A throwaway database: a SQLite file in a temp dir, or a fresh PostgreSQL database."""

    def __init__(self, backend: str, *, postgres_admin_url: str, work_dir: Path) -> None:
        self.backend = backend
        self._admin_url = postgres_admin_url
        if backend == "sqlite":
            self.url = f"sqlite+aiosqlite:///{work_dir / 'bench.db'}"
            self._name = ""
        else:
            self._name = f"barberpro_bench_{os.getpid()}_{secrets.token_hex(3)}"
            parts = urlsplit(postgres_admin_url)
            self.url = urlunsplit(parts._replace(path=f"/{self._name}"))
        self.engine: AsyncEngine | None = None

    async def __aenter__(self) -> Database:
        if self._name:
            await self._admin(f'CREATE DATABASE "{self._name}"')
        # The service's own engine factory with its default settings, as the server runs them,
        # so the pragmas (synchronous=FULL, WAL) and the pool match.
        defaults = {name: f.default for name, f in Settings.model_fields.items()}
        self.engine = create_engine(
            self.url,
            sqlite_synchronous=defaults["sqlite_synchronous"],
            pool_size=defaults["db_pool_size"],
            max_overflow=defaults["db_max_overflow"],
        )
        await migrate.upgrade(self.engine)
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self.engine is not None:
            await self.engine.dispose()
        if self._name:
            await self._admin(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')

    async def _admin(self, sql: str) -> None:
        import asyncpg  # only needed for PostgreSQL

        parts = urlsplit(self._admin_url)
        dsn = urlunsplit(parts._replace(scheme="postgresql"))
        try:
            conn: Any = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            host = f"{parts.hostname}:{parts.port or 5432}"  # no user or password in the message
            safe = urlunsplit(parts._replace(netloc=host, scheme="postgresql"))
            raise BenchError(
                f"cannot reach PostgreSQL at {safe} ({exc}); start it, pass --postgres-url, "
                "or run with --backend sqlite"
            ) from exc
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def _engine(self) -> AsyncEngine:
        assert self.engine is not None, "use the database inside 'async with'"
        return self.engine

    async def count_events(self) -> int:
        """Return the number of rows in ``events``."""
        async with self._engine().connect() as conn:
            found = await conn.scalar(select(func.count()).select_from(tables.events))
            return int(found or 0)

    async def settled_count(self) -> int:
        """Return the event count once requests still in flight have finished writing.

        A request cut off when wrk stops is still served (and stored) by the server, so the
        count is read until it has not moved for 1.5 s.
        """
        last, still = await self.count_events(), 0
        deadline = time.monotonic() + 30
        while still < 3:
            if time.monotonic() > deadline:
                raise BenchError("the events table kept growing after the load stopped")
            await asyncio.sleep(0.5)
            now = await self.count_events()
            still = still + 1 if now == last else 0
            last = now
        return last

    async def clear(self) -> None:
        """Empty every table of the schema, so each measured run starts from the same state."""
        every = list(reversed(tables.metadata.sorted_tables))
        async with self._engine().begin() as conn:
            if self.backend == "postgres":
                names = ", ".join(f'"{table.name}"' for table in every)
                await conn.execute(text(f"TRUNCATE {names}"))
            else:
                for table in every:
                    await conn.execute(table.delete())

    async def version(self) -> str:
        """Return the server's version string."""
        query = "SELECT sqlite_version()" if self.backend == "sqlite" else "SHOW server_version"
        async with self._engine().connect() as conn:
            return str(await conn.scalar(text(query)))


def temp_dir() -> Path:
    """Return a new temporary directory for logs and SQLite files."""
    return Path(tempfile.mkdtemp(prefix="barberpro-bench-"))
