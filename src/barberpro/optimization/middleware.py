"""The engine's hand on the requests: route caching and emergency mode's shedding (pure ASGI).

It runs inside the monitoring middleware, so every answer it gives (HIT, STALE, a shed 503) is
timed and counted like any other. Cached answers carry ``X-Cache`` (HIT, MISS, STALE) and
``Age``; a shed request gets 503, ``Retry-After`` and ``X-BarberPro-Shed`` saying why.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from barberpro.api.auth import Role, TokenAuth
from barberpro.optimization.cache import CACHEABLE, Entry, RouteCache, key_of
from barberpro.optimization.decisions import xfetch_due
from barberpro.optimization.errors import ErrorGroups
from barberpro.optimization.shedding import Limiter, Priority, priority_of
from barberpro.optimization.state import Toggles

#: How long a caller waits for another's computation of the same key before computing itself.
WAIT_FOR_PEER_S = 5.0
RETRY_AFTER_S = 5


class _CachedRoute:
    """Names a cacheable route in the scope when this middleware answers it without routing
    (HIT, STALE, shed), so the monitoring middleware records the answer under the route's
    template rather than ``<unmatched>``: the engine measures the route, hits included."""

    __slots__ = ("path", "path_format")

    def __init__(self, path: str) -> None:
        self.path = self.path_format = path


_ROUTES = {route: _CachedRoute(route) for route in CACHEABLE}


def _template(scope: Scope) -> str:
    """The matched route's template, prefix included, as the monitoring names it: FastAPI's
    effective route of an included router (its ``scope["route"]`` lacks the prefix)."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "<unmatched>"


class _Captured:
    """A downstream answer held back to be stored and sent."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))


class OptimizationMiddleware:
    """Serves cacheable reads from the route cache and sheds load in emergency mode."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        toggles: Toggles,
        cache: RouteCache,
        limiter: Limiter,
        auth: TokenAuth,
        record: Callable[[str, str, float], None],
        errors: ErrorGroups | None = None,
        exclude_prefixes: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.app = app
        self.toggles = toggles
        self.cache = cache
        self.limiter = limiter
        self.auth = auth
        self.record = record  # (route, outcome, ms): into the monitoring windows
        self.errors = errors
        # Held-open requests (Socket.IO's long polling) are neither load nor samples.
        self.exclude_prefixes = exclude_prefixes
        self.clock = clock
        self.rand = rand
        self.owner = uuid.uuid4().hex

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exclude_prefixes):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        stage = self.toggles.emergency.stage
        priority = priority_of(method, path)
        if method == "POST" and priority is Priority.INGEST:
            self.cache.wrote()
        cacheable = method == "GET" and path in CACHEABLE and self.toggles.cache_on(path)
        if cacheable:
            role = self.auth.role_of(Request(scope))
            if role is Role.ADMIN:
                await self._cached(scope, receive, send, path, stage)
                return
        if not self.limiter.admits(priority, stage):
            await self._shed(send, stage, priority)
            return
        await self._timed(scope, receive, send)

    async def _timed(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limiter
        limiter.in_flight += 1
        began = time.perf_counter()
        completed = False
        try:
            await self.app(scope, receive, send)
            completed = True
        except Exception as exc:
            if self.errors is not None:  # the template with its /api/v1 prefix, never a raw path
                self.errors.record(_template(scope), exc)
            raise
        finally:
            limiter.in_flight -= 1
            if completed:  # cancelled and failed requests are not samples
                limiter.sample(time.perf_counter() - began)

    async def _shed(self, send: Send, stage: int, priority: Priority) -> None:
        self.limiter.shed += 1
        reason = f"emergency-stage-{stage}; class={priority.name.lower()}"
        body = orjson.dumps(
            {
                "error": "overloaded",
                "message": f"shed by emergency mode (stage {stage}, {priority.name.lower()} "
                f"requests go first); retry in {RETRY_AFTER_S} s",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(RETRY_AFTER_S).encode()),
                    (b"x-barberpro-shed", reason.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _serve(self, send: Send, entry: Entry, outcome: str) -> None:
        age = max(0, int(self.clock() - entry.computed_at))
        headers = [h for h in entry.headers if h[0].lower() not in (b"x-cache", b"age")]
        headers += [(b"x-cache", outcome.encode()), (b"age", str(age).encode())]
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})

    async def _compute(
        self, scope: Scope, receive: Receive, key: str
    ) -> tuple[_Captured, Entry | None]:
        captured = _Captured()
        began = time.perf_counter()
        await self._timed(scope, receive, captured.send)
        delta = time.perf_counter() - began
        if captured.status != 200:
            return captured, None
        headers = [h for h in captured.headers if h[0].lower() != b"content-length"]
        headers.append((b"content-length", str(len(captured.body)).encode()))
        entry = await self.cache.put(
            key, status=200, headers=headers, body=bytes(captured.body), delta_s=delta
        )
        return captured, entry

    async def _cached(
        self, scope: Scope, receive: Receive, send: Send, route: str, stage: int
    ) -> None:
        key = key_of(route, scope.get("query_string", b""), Role.ADMIN.value)
        scope.setdefault("route", _ROUTES[route])  # routing, when it runs, sets its own
        began = time.perf_counter()
        entry = await self.cache.get(key)
        now = self.clock()
        locked = False
        if entry is not None:
            fresh = now < entry.expiry
            if stage >= 1 or (
                fresh
                and not xfetch_due(
                    now=now,
                    expiry=entry.expiry,
                    delta_s=entry.delta_s,
                    beta=self.cache.beta,
                    rand=self.rand(),
                )
            ):
                outcome = "HIT" if fresh else "STALE"
                await self._serve(send, entry, outcome)
                self.record(route, outcome.lower(), (time.perf_counter() - began) * 1000)
                return
            locked = await self.cache.lock(key, self.owner, hold_s=4 * entry.delta_s + 1)
            if not locked:
                outcome = "HIT" if fresh else "STALE"  # another caller is recomputing it
                await self._serve(send, entry, outcome)
                self.record(route, outcome.lower(), (time.perf_counter() - began) * 1000)
                return
        else:
            priority = priority_of("GET", route)  # the analytics dashboard is no report
            if not self.limiter.admits(priority, stage):
                await self._shed(send, stage, priority)
                return
            locked = await self.cache.lock(key, self.owner, hold_s=30.0)
            # Not locked and yet nobody holds the lock: the store did not answer (Redis away,
            # its errors swallowed): compute now rather than wait for a peer that is not there.
            if not locked and await self.cache.held(key):
                waited = await self._wait_for_peer(key)
                if waited is not None:
                    await self._serve(send, waited, "HIT")
                    self.record(route, "hit", (time.perf_counter() - began) * 1000)
                    return
        try:
            captured, stored = await self._compute(scope, receive, key)
        except Exception:
            if entry is None:
                raise
            await self._serve(send, entry, "STALE")  # the recomputation failed: the last answer
            self.record(route, "stale", (time.perf_counter() - began) * 1000)
            return
        finally:
            if locked:  # never another caller's lock (the memory store ignores the owner)
                await self.cache.unlock(key, self.owner)
        if stored is None and entry is not None and captured.status >= 500:
            await self._serve(send, entry, "STALE")
            self.record(route, "stale", (time.perf_counter() - began) * 1000)
            return
        headers = [h for h in captured.headers if h[0].lower() != b"x-cache"]
        headers.append((b"x-cache", b"MISS"))
        if stored is not None:
            headers = [*stored.headers, (b"x-cache", b"MISS"), (b"age", b"0")]
        await send({"type": "http.response.start", "status": captured.status, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(captured.body)})
        self.record(route, "miss", (time.perf_counter() - began) * 1000)

    async def _wait_for_peer(self, key: str) -> Entry | None:
        deadline = time.monotonic() + WAIT_FOR_PEER_S
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            found = await self.cache.get(key)
            if found is not None:
                return found
        return None
