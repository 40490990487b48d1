"""Plumbing for the benchmarks: uvicorn server processes, wrk runs, throwaway databases."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

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

    def __init__(self, name: str, factory: str, *, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = log_dir / f"{name}.log"
        self._command = [
            sys.executable, "-m", "uvicorn", "--factory", factory,
            "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--port", str(self.port),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        self._env = {**os.environ, **env}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._process is not None
        return self._process.pid

    async def __aenter__(self) -> Server:
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                if self._process.poll() is not None:
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
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # uvicorn's graceful stop: runs the lifespan's end
        try:
            await asyncio.to_thread(process.wait, 15)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of the server's output."""
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


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


async def run_wrk(
    url: str, script: str, script_args: list[str], *, connections: int, seconds: float
) -> WrkResult:
    """Run wrk against ``url`` for ``seconds``; return its counts."""
    command = [
        require_wrk(), f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:g}s",
        "--timeout", "30s", "-s", str(BENCH_DIR / script), url, "--", *script_args,
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
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
        # The service's own engine factory, so the pragmas and pool match the server's.
        self.engine = create_engine(self.url)
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
        conn: Any = await asyncpg.connect(dsn)
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
        """Return the event count once requests still in flight have finished writing."""
        last = await self.count_events()
        for _ in range(50):
            await asyncio.sleep(0.3)
            now = await self.count_events()
            if now == last:
                return now
            last = now
        raise BenchError("the events table kept growing after the load stopped")

    async def clear(self) -> None:
        """Empty the ingestion tables, so every measured run starts from the same state."""
        async with self._engine().begin() as conn:
            if self.backend == "postgres":
                await conn.execute(text("TRUNCATE events, sessions, payments"))
            else:
                for table in (tables.events, tables.sessions, tables.payments):
                    await conn.execute(table.delete())

    async def version(self) -> str:
        """Return the server's version string."""
        query = "SELECT sqlite_version()" if self.backend == "sqlite" else "SHOW server_version"
        async with self._engine().connect() as conn:
            return str(await conn.scalar(text(query)))


def temp_dir() -> Path:
    """Return a new temporary directory for logs and SQLite files."""
    return Path(tempfile.mkdtemp(prefix="barberpro-bench-"))
