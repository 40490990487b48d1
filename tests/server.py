"""Start the real ``barberpro serve`` as a subprocess, for tests that need a process to kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import httpx

BARBERPRO = os.path.join(os.path.dirname(sys.executable), "barberpro")


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**settings: str) -> dict[str, str]:
    """Return this environment without the developer's BARBERPRO_* variables, plus ``settings``.

    ``server_env(database_url=...)`` sets ``BARBERPRO_DATABASE_URL``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBERPRO_")}
    # The optimization engine off unless a test turns it on: on a loaded test machine it could
    # otherwise enter emergency mode and serve a test's reads from its cache.
    env["BARBERPRO_OPTIMIZATION_ENABLED"] = "false"
    env.update({f"BARBERPRO_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass(slots=True)
class Server:
    """A running ``barberpro serve``: its URL and its process."""

    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def pid(self) -> int:
        """The server's process id (uvicorn runs in it: one worker, no wrapper)."""
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the server and everything it started; return once it is dead."""
        if self.process.poll() is None:
            # The server leads its own process group (start_new_session), so this reaches
            # the uvicorn process itself and any worker it may have forked.
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def output(self) -> str:
        """Return what the server has written to stdout and stderr so far."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextmanager
def running_server(
    env: Mapping[str, str], *, workers: int = 1, startup_timeout: float = 30.0
) -> Iterator[Server]:
    """Run ``barberpro serve`` on a free loopback port until the block ends.

    Yields once ``GET /openapi.json`` answers (the lifespan, migrations included, has run).
    On exit the server gets SIGTERM (SIGKILL if it does not stop) and is always reaped.
    """
    port = free_port()
    command = [
        BARBERPRO,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
        try:
            _wait_ready(server, startup_timeout)
            yield server
        finally:
            _stop(server)


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.url, timeout=1.0) as client:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"barberpro serve exited with {server.process.returncode} before it "
                    f"answered:\n{server.output()}"
                )
            try:
                if client.get("/openapi.json").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"barberpro serve did not answer within {timeout:g} s:\n{server.output()}"
                )
            time.sleep(0.05)


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    server.process.wait()
