"""``make demo``: a service on a scratch database, the MercadoPago stand-in, a simulated launch.

Everything runs as its own process, as it would in production: ``barberpro serve`` on a fresh
SQLite file with an admin token made for the demo, ``barberpro mp-sandbox`` signing webhooks
with a secret the service shares, and the simulator sending the launch over HTTP with its
payments through the stand-in, then checking every figure. The service keeps serving until
Ctrl-C; everything the demo started is stopped and its scratch folder removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from rich.console import Console

from barberpro.simulator.main import Options, simulate

BARBERPRO = str(Path(sys.executable).with_name("barberpro"))


def _port(preferred: int) -> int:
    """``preferred`` when it is free on loopback, else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within 60 s:\n{log.read_text()}")


@contextlib.contextmanager
def _started(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def demo(
    console: Console, *, minutes: float, rate: float, port: int, seed: int, keep_serving: bool
) -> int:
    """Run the demo; return the simulator's exit code."""
    scratch = Path(tempfile.mkdtemp(prefix="barberpro-demo-"))
    token = secrets.token_urlsafe(32)
    secret, mp_token = secrets.token_urlsafe(24), f"TEST-{secrets.token_hex(16)}"
    service_port, sandbox_port = _port(port), _port(port + 90)
    url, sandbox = f"http://127.0.0.1:{service_port}", f"http://127.0.0.1:{sandbox_port}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("BARBERPRO_")}
    mp = {"BARBERPRO_MP_ACCESS_TOKEN": mp_token, "BARBERPRO_MP_WEBHOOK_SECRET": secret}
    service_env = {
        **base,
        **mp,
        "BARBERPRO_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'demo.db'}",
        "BARBERPRO_ADMIN_TOKEN": token,
        "BARBERPRO_MP_API_URL": sandbox,
        "BARBERPRO_LOG_LEVEL": "WARNING",
    }
    try:
        with (
            _started(
                [BARBERPRO, "mp-sandbox", "--port", str(sandbox_port)],
                {**base, **mp},
                scratch / "mp-sandbox.log",
            ) as stand_in,
            _started(
                [BARBERPRO, "serve", "--port", str(service_port)],
                service_env,
                scratch / "service.log",
            ) as server,
        ):
            _wait(
                f"{sandbox}/_sandbox/state",
                stand_in,
                "the MercadoPago stand-in",
                scratch / "mp-sandbox.log",
            )
            _wait(f"{url}/api/v1/monitoring/health", server, "the service", scratch / "service.log")
            _where(console, url, sandbox, token, scratch)
            options = Options(
                url=url,
                duration=minutes * 60,
                rate=rate,
                seed=seed,
                token=token,
                mp_sandbox=sandbox,
                truth=scratch / "truth.json",
                verify=True,
            )
            code: int | None = None
            try:
                code = asyncio.run(simulate(options, console))
                if keep_serving:
                    console.print(f"\nstill serving at {url} (admin token {token}); Ctrl-C stops")
                    while server.poll() is None and stand_in.poll() is None:
                        time.sleep(0.5)
            except KeyboardInterrupt:
                if code is None:  # during the launch: the figures were not checked
                    console.print("interrupted during the launch")
                    code = 130
            console.print("stopping the service and the stand-in")
            return code
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _where(console: Console, url: str, sandbox: str, token: str, scratch: Path) -> None:
    console.print(f"""
[bold]BarberPro demo[/bold]: a simulated launch is starting.

  the dashboard page    {url}/   (give it the admin token; API docs at {url}/docs)
  admin token           {token}
  launch report         {url}/api/v1/monitoring/launch-report?format=html
  analytics dashboard   curl -H 'Authorization: Bearer {token}' {url}/api/v1/analytics/dashboard
  business intelligence {url}/api/v1/analytics/business-intelligence
  monitoring dashboard  {url}/api/v1/monitoring/dashboard?window=5m
  alerts                {url}/api/v1/monitoring/alerts
  MercadoPago queue     {url}/api/v1/payments/status
  Prometheus metrics    {url}/metrics
  MercadoPago stand-in  {sandbox}/_sandbox/state
  logs and ground truth {scratch}
""")
