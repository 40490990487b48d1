"""End to end: a slowed route walks the API latency alerts WARNING, CRITICAL, resolved."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from tests.server import Server, running_server, server_env

SLOW_ROUTE = "/api/v1/monitoring/test/slow"
WAIT_S = 60.0  # a generous bound on each phase; the test waits for events, never times them
LATENCY_OVERRIDES = {"window_s": 20, "min_samples": 20, "selector": {"route": SLOW_ROUTE}}
RULES = {
    "api_p95_warning": LATENCY_OVERRIDES,
    "api_p95_critical": {**LATENCY_OVERRIDES, "for_s": 2},
    # The others watch this machine (memory, ...), which the test does not control.
    "webhook_failure_rate_critical": {"enabled": False},
    "memory_critical": {"enabled": False},
    "db_connection_failures_critical": {"enabled": False},
    "db_query_p95_warning": {"enabled": False},
    "concurrent_connections_warning": {"enabled": False},
}


class Receiver:
    """A webhook receiver on loopback keeping every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                with receiver._lock:
                    receiver.bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def statuses(self) -> list[tuple[str, str]]:
        """Return (alertname, status) of each alert received, in arrival order."""
        with self._lock:
            return [
                (alert["labels"]["alertname"], alert["status"])
                for body in self.bodies
                for alert in body["alerts"]
            ]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()


class Traffic:
    """Requests the slow route back to back, with a delay the test changes as it goes."""

    def __init__(self, url: str, senders: int = 4) -> None:
        self.ms = 0.0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._send, args=(url,), daemon=True) for _ in range(senders)
        ]

    def _send(self, url: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not self._stop.is_set():
                client.get(SLOW_ROUTE, params={"ms": self.ms})

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


async def wait_until(what: str, done: Callable[[], bool], output: Callable[[], str]) -> None:
    """Return once ``done()``; fail (with the server's log) after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {WAIT_S:g} s\n{output()[-5000:]}")
        await asyncio.sleep(0.1)


async def walk(server: Server, receiver: Receiver) -> None:
    """Drive the slow route through the three phases, waiting for each page."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for _ in range(20):  # warm the route up: first requests can be slow
            await http.get(SLOW_ROUTE, params={"ms": 0})
        with Traffic(server.url) as traffic:
            traffic.ms = 160
            await wait_until(
                "the warning firing",
                lambda: ("api_p95_warning", "firing") in receiver.statuses(),
                server.output,
            )
            traffic.ms = 300
            await wait_until(
                "the critical firing",
                lambda: ("api_p95_critical", "firing") in receiver.statuses(),
                server.output,
            )
            listed = (await http.get("/api/v1/monitoring/alerts")).json()
            flags = {a["alertname"]: (a["state"], a["inhibited"]) for a in listed["alerts"]}
            assert flags == {
                "api_p95_critical": ("firing", False),
                "api_p95_warning": ("firing", True),
            }
            traffic.ms = 0
            await wait_until("both resolved", lambda: len(receiver.statuses()) >= 4, server.output)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
async def test_slow_route_walks_warning_then_critical_then_resolved(
    tmp_path: Path, workers: int
) -> None:
    """p95 ~160 ms fires the warning, ~300 ms the critical (muting it), fast resolves both.

    With two workers and no Redis exactly one evaluates: each page arrives once, and the
    alert list (from whichever worker answers) shows the evaluating worker's states.
    """
    pushed: list[dict[str, Any]] = []
    with receiving() as receiver:
        env = server_env(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
            test_routes="true",
            mp_worker_enabled="false",
            alert_interval_s="0.5",
            alert_webhook_url=receiver.url,
            alert_rules=json.dumps(RULES),
        )
        with running_server(env, workers=workers) as server:
            if workers > 1:
                # Socket.IO rooms span workers only through Redis; the pushes are checked below.
                await walk(server, receiver)
            else:
                sio = socketio.AsyncClient()
                sio.on("alert", pushed.append)
                await sio.connect(server.url, transports=["websocket"], wait_timeout=10)
                try:
                    assert (await sio.call("join", "alerts", timeout=10))["ok"] is True
                    await walk(server, receiver)
                    await wait_until("the pushes", lambda: len(pushed) >= 5, server.output)
                finally:
                    await sio.disconnect()
        statuses = receiver.statuses()
    assert statuses[:2] == [("api_p95_warning", "firing"), ("api_p95_critical", "firing")], statuses
    assert sorted(statuses[2:]) == [
        ("api_p95_critical", "resolved"),
        ("api_p95_warning", "resolved"),
    ], statuses
    assert all(body["text"] for body in receiver.bodies)
    if workers == 1:
        # The Socket.IO room sees every transition: the pages, and the critical's pending
        # before it fired (an early pending may also have cleared while the route warmed up).
        seen = [(p["alertname"], p["status"]) for p in pushed]
        assert [s for s in seen if s[1] in ("firing", "resolved")][:2] == statuses[:2], seen
        fired = seen.index(("api_p95_critical", "firing"))
        assert seen[fired - 1] == ("api_p95_critical", "pending"), seen
