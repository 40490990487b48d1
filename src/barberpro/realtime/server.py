"""``services.realtime``: a python-socketio server mounted at ``/socket.io``.

Clients connect with the admin token (``auth={"token": ...}`` or an ``Authorization: Bearer``
header; open in development), then ``emit("join", "dashboard")`` or ``"alerts"`` to receive
that room's pushes. With Redis as the shared state the server uses Socket.IO's Redis manager
(``SharedState.socketio_manager``), so an :meth:`Realtime.emit` from any instance reaches the
room's clients on every instance.
The server counts its own connections through the monitor's :class:`ConnectionTracker`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
import structlog
from starlette.requests import Request

from barberpro import background
from barberpro.api.auth import Role, TokenAuth
from barberpro.monitoring.websockets import ConnectionTracker

log = structlog.get_logger(__name__)

ROOMS = frozenset({"dashboard", "alerts"})
SOCKETIO_PATH = "socket.io"


class Realtime:
    """The Socket.IO server, its connection tracking and the periodic dashboard push."""

    def __init__(
        self,
        *,
        auth: TokenAuth,
        tracker: ConnectionTracker | None,
        manager: Any = None,
        dashboard: Callable[[], Awaitable[dict[str, Any]]] | None = None,
        push_interval_s: float = 5.0,
    ) -> None:
        self._auth = auth
        self._tracker = tracker
        self._dashboard = dashboard
        self._push_interval = push_interval_s
        self._push_task: asyncio.Task[None] | None = None
        self.manager = manager  # None: rooms live in this process
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            logger=False,
            engineio_logger=False,
        )
        self.asgi = socketio.ASGIApp(self.sio, socketio_path=SOCKETIO_PATH)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("join", self._on_join)
        self.sio.on("leave", self._on_leave)

    async def emit(self, event: str, data: dict[str, Any], room: str | None = None) -> None:
        """Send ``event`` with ``data`` to ``room`` (every client when None), on every instance."""
        await self.sio.emit(event, data, room=room)

    async def start(self) -> None:
        """Start the dashboard push."""
        if self._dashboard is not None and self._push_task is None:
            self._push_task = asyncio.create_task(self._push(), name="barberpro-realtime-push")

    async def stop(self) -> None:
        """Stop pushing, close every connection and the Redis manager's listener."""
        await background.cancel(self._push_task)
        self._push_task = None
        for sid in list(self._connected()):
            with contextlib.suppress(Exception):
                await self.sio.disconnect(sid)
        await self.sio.shutdown()
        listener = getattr(self.manager, "thread", None)
        if isinstance(listener, asyncio.Future) and not listener.done():
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        redis = getattr(self.manager, "redis", None)
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()

    def _connected(self) -> list[str]:
        try:
            return [sid for sid, _eio in self.sio.manager.get_participants("/", None)]
        except Exception:
            return []

    def _allowed(self, environ: dict[str, Any], auth: Any) -> bool:
        if self._auth.open:
            return True
        token = auth.get("token") if isinstance(auth, dict) else None
        header = f"Bearer {token}" if isinstance(token, str) else environ.get("HTTP_AUTHORIZATION")
        if not header:
            scope = environ.get("asgi.scope", {})
            headers = dict(scope.get("headers", []))
            header = headers.get(b"authorization", b"").decode("latin-1")
        request = Request({"type": "http", "headers": [(b"authorization", header.encode())]})
        return self._auth.role_of(request) is Role.ADMIN

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not self._allowed(environ, auth):
            raise socketio.exceptions.ConnectionRefusedError("the admin token is required")
        if self._tracker is not None:
            self._tracker.opened(sid)

    async def _on_disconnect(self, sid: str, reason: str = "unknown") -> None:
        if self._tracker is not None:
            self._tracker.closed(sid, str(reason))

    async def _on_join(self, sid: str, room: Any) -> dict[str, Any]:
        if room not in ROOMS:
            return {"ok": False, "error": f"unknown room {room!r}: use one of {sorted(ROOMS)}"}
        await self.sio.enter_room(sid, room)
        return {"ok": True, "room": room}

    async def _on_leave(self, sid: str, room: Any) -> dict[str, Any]:
        if room not in ROOMS:
            return {"ok": False, "error": f"unknown room {room!r}"}
        await self.sio.leave_room(sid, room)
        return {"ok": True, "room": room}

    async def _push(self) -> None:
        assert self._dashboard is not None
        while True:
            await asyncio.sleep(self._push_interval)
            if self._tracker is not None and self._tracker.active == 0:
                continue  # nobody connected here
            try:
                data = await self._dashboard()
                # ignore_queue: each instance pushes the (already merged) view to its own clients.
                await self.sio.emit("dashboard", data, room="dashboard", ignore_queue=True)
            except Exception as exc:
                log.warning("dashboard push failed", error=repr(exc))
