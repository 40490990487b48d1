"""The Socket.IO server at /socket.io with a real python-socketio client against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
import uvicorn

from barberpro.app import create_app
from barberpro.config import Settings
from tests.conftest import REDIS_URL
from tests.server import free_port, running_server, server_env

ADMIN = {"Authorization": "Bearer adm"}
DASHBOARD = "/api/v1/monitoring/dashboard"


async def _until(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` (async) until it returns something truthy, for up to 10 s."""
    deadline = time.monotonic() + 10.0
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def test_connections_are_counted_with_a_real_client(tmp_path: Path) -> None:
    """Open, active, peak, close and its reason, as a real client connects and leaves."""
    env = server_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}",
        admin_token="adm",
        ingest_token="ing",
        mp_worker_enabled="false",
        alert_enabled="false",
        realtime_push_interval_s="0.2",
    )
    with running_server(env) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=ADMIN, timeout=10) as http:

            async def ws() -> dict[str, Any]:
                body = (await http.get(DASHBOARD, params={"window": "1m"})).json()
                section: dict[str, Any] = body["websocket"]
                return section

            refused = socketio.AsyncClient()
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect(server.url, transports=["websocket"], wait_timeout=5)

            clients = [socketio.AsyncClient() for _ in range(2)]
            for client in clients:
                await client.connect(
                    server.url, auth={"token": "adm"}, transports=["websocket"], wait_timeout=5
                )
            section = await ws()
            assert (section["active_own"], section["peak_own"], section["opened"]) == (2, 2, 2)

            pushed: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

            @clients[0].on("dashboard")  # type: ignore[untyped-decorator]
            async def on_dashboard(data: dict[str, Any]) -> None:
                if not pushed.done():
                    pushed.set_result(data)

            joined = await clients[0].call("join", "dashboard", timeout=5)
            assert joined == {"ok": True, "room": "dashboard"}
            assert (await clients[0].call("join", "secrets", timeout=5))["ok"] is False
            data = await asyncio.wait_for(pushed, 10)
            assert data["window"] == "1m"
            assert data["websocket"]["active_own"] == 2

            await clients[0].disconnect()

            async def one_closed() -> dict[str, Any] | None:
                found = await ws()
                return found if found["closed"] == 1 else None

            section = await _until(one_closed, "the close to be counted")
            assert section["active_own"] == 1
            assert section["peak_own"] == 2
            # python-socketio reports a client's own disconnect as either, depending on a race.
            assert set(section["disconnect_reasons"]) <= {"client disconnect", "transport close"}
            assert sum(section["disconnect_reasons"].values()) == 1
            assert section["abnormal_closes"] == 0
            assert section["session_seconds"]["count"] == 1
            metrics = (await http.get("/metrics")).text
            assert "barberpro_websocket_connections_opened_total 2.0" in metrics
            await clients[1].disconnect()


@contextlib.asynccontextmanager
async def _in_process_server(settings: Settings) -> AsyncIterator[tuple[str, Any]]:
    """Serve ``create_app(settings)`` with uvicorn in this event loop; yield (url, services)."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", app.state.services
    finally:
        server.should_exit = True
        await task


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}",
        "redis_url": None,
        "admin_token": None,
        "ingest_token": None,
        "mp_worker_enabled": False,
        "alert_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


async def _joined_client(url: str, room: str) -> tuple[socketio.AsyncClient, asyncio.Queue[Any]]:
    client = socketio.AsyncClient()
    received: asyncio.Queue[Any] = asyncio.Queue()

    @client.on("alert")  # type: ignore[untyped-decorator]
    async def on_alert(data: Any) -> None:
        await received.put(data)

    await client.connect(url, transports=["websocket"], wait_timeout=5)
    assert (await client.call("join", room, timeout=5))["ok"] is True
    return client, received


async def test_emit_reaches_the_room_only(tmp_path: Path) -> None:
    """services.realtime.emit(event, data, room) reaches that room's clients and no others."""
    async with _in_process_server(_settings(tmp_path)) as (url, services):
        inside, got_inside = await _joined_client(url, "alerts")
        outside, got_outside = await _joined_client(url, "dashboard")
        try:
            await services.realtime.emit("alert", {"alertname": "HighP95"}, room="alerts")
            assert await asyncio.wait_for(got_inside.get(), 5) == {"alertname": "HighP95"}
            await services.realtime.emit("alert", {"to": "everyone"})
            assert await asyncio.wait_for(got_outside.get(), 5) == {"to": "everyone"}
            assert got_outside.empty()
        finally:
            await inside.disconnect()
            await outside.disconnect()


@pytest.mark.redis
async def test_emit_crosses_instances_through_redis(tmp_path: Path) -> None:
    """With Redis, an emit on one instance reaches a client connected to another."""
    first = _settings(tmp_path, redis_url=REDIS_URL)
    second = _settings(
        tmp_path, redis_url=REDIS_URL, database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    )
    async with (
        _in_process_server(first) as (_url_a, services_a),
        _in_process_server(second) as (url_b, _services_b),
    ):
        client, received = await _joined_client(url_b, "alerts")
        try:
            # The Redis listener of instance b subscribes when its first client connects.
            for _ in range(50):
                await services_a.realtime.emit("alert", {"from": "a"}, room="alerts")
                with contextlib.suppress(TimeoutError):
                    assert await asyncio.wait_for(received.get(), 0.2) == {"from": "a"}
                    break
            else:
                raise AssertionError("the emit never crossed to the other instance")
        finally:
            await client.disconnect()
