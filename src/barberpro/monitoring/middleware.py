"""Pure ASGI middleware timing every HTTP request by route template, method and status class.

Never ``BaseHTTPMiddleware``: it runs the app in a separate task and copies the response through
a stream, which roughly halves throughput. This one adds a wrapper around ``send`` (to see the
status) and a few dictionary operations after the answer:

- the route is Starlette's matched route (``scope["route"]``, or FastAPI's effective route for
  included routers), read as a template such as ``/api/v1/analytics/action``; a request no route
  matched is ``<unmatched>``, so raw paths and ids never become labels;
- the Prometheus children for each (route, method, status class) are bound once and cached;
- the latency goes into this process's 10-second slot (see :mod:`barberpro.monitoring.windows`);
- requests in flight are the live scopes, read at scrape time (no lock on the hot path);
- database time spent by the request is added up through a context variable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from typing import Any

import structlog
from prometheus_client.core import Metric
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from barberpro.monitoring.context import RequestCost, current_request
from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat, merged
from barberpro.monitoring.metrics import (
    HTTP_DURATION_HELP,
    HTTP_REQUESTS_HELP,
    FunctionCollector,
    Metrics,
    stat_families,
)
from barberpro.monitoring.windows import Key, Ring

UNMATCHED = "<unmatched>"
_LABELS = ["method", "route", "status_class"]


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASS = {code: f"{code // 100}xx" for code in range(100, 600)}


def route_template(scope: MutableMapping[str, Any]) -> str:
    """Return the template of the route that handled ``scope``, ``<unmatched>`` when none did."""
    fastapi_scope = scope.get("fastapi")
    if fastapi_scope is not None:
        # FastAPI keeps included routers whole; the prefixed template is on the effective route.
        context = fastapi_scope.get("effective_route_context")
        if context is not None:
            path = getattr(context, "path_format", None)
            if path:
                return str(path)
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not path:
        return UNMATCHED
    if not isinstance(route, Mount):
        # A route of a mounted sub-application: its template is relative to the mount.
        prefix = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
        path = prefix + path
    return str(path)


class _Binding:
    """What one (route, method, status class) records into, looked up once and cached.

    With one process: ``folded``, the cumulative histogram of the ring's full slots (the filling
    slot is added at scrape time), so a request is recorded once, into the ring. Under several
    workers: the bound prometheus_client children (``counter``, ``histogram``), whose values
    live in the files every worker's scrape merges.
    """

    __slots__ = ("counter", "error", "folded", "histogram", "key")

    def __init__(self, metrics: Metrics, route: str, method: str, status_class: str) -> None:
        self.key = ("http", route, method, status_class)
        self.error = status_class == "5xx"
        self.folded: Stat | None = None
        self.counter: Any = None
        self.histogram: Any = None
        if metrics.http_requests is not None and metrics.http_duration is not None:
            labels = {"method": method, "route": route, "status_class": status_class}
            self.counter = metrics.http_requests.labels(**labels)
            self.histogram = metrics.http_duration.labels(**labels)
        else:
            self.folded = Stat(LATENCY_EDGES_MS)


class HttpRecorder:
    """Per-process HTTP state: bindings, the windows' ring, the requests in flight."""

    def __init__(self, *, ring: Ring, metrics: Metrics) -> None:
        self._ring = ring
        self._metrics = metrics
        # By (id of the matched route, root path, method, status): the route and its binding,
        # without working out the template again. Keyed by id because FastAPI's per-inclusion
        # route contexts are not hashable; the route is kept and compared so a reused id can
        # never pick another route's binding. The root path is in the key because a mounted
        # app's template depends on where it is mounted.
        self._by_route: dict[tuple[int, str, str, int], tuple[object, _Binding]] = {}
        self._bindings: dict[tuple[str, str, int], _Binding] = {}
        self._classes: dict[tuple[str, str, str], _Binding] = {}
        self.live: dict[int, MutableMapping[str, Any]] = {}
        if not metrics.multiprocess:
            ring.on_close(self._fold)
            metrics.add_collector(FunctionCollector(self.collect))

    def finish(self, scope: MutableMapping[str, Any], status: int, seconds: float) -> str:
        """Record one answered request; return its route template."""
        # The matched route: FastAPI's context for included routes, else Starlette's route.
        fastapi_scope = scope.get("fastapi")
        marker = None
        if fastapi_scope is not None:
            marker = fastapi_scope.get("effective_route_context")
        if marker is None:
            marker = scope.get("route")
        key = (id(marker), scope.get("root_path", ""), scope["method"], status)
        found = self._by_route.get(key)
        if found is not None and found[0] is marker:
            binding = found[1]
        else:
            binding = self._find(scope, status)
            if marker is not None:
                self._by_route[key] = (marker, binding)
        ms = seconds * 1000.0
        self._ring.stat(binding.key).record(ms, binding.error)
        if binding.counter is not None:
            binding.counter.inc()
            binding.histogram.observe(seconds)
        return binding.key[1]

    def _find(self, scope: MutableMapping[str, Any], status: int) -> _Binding:
        route = route_template(scope)
        method = scope["method"]
        if method not in METHODS:
            method = "OTHER"
        binding = self._bindings.get((route, method, status))
        if binding is None:
            status_class = _STATUS_CLASS.get(status, "5xx" if status >= 600 else "1xx")
            labels = (route, method, status_class)
            binding = self._classes.get(labels)
            if binding is None:
                binding = self._classes[labels] = _Binding(self._metrics, *labels)
            self._bindings[(route, method, status)] = binding
        return binding

    def _fold(self, slot: Mapping[Key, Stat]) -> None:
        for key, stat in slot.items():
            if key[0] == "http":
                binding = self._classes.get((key[1], key[2], key[3]))
                if binding is not None and binding.folded is not None:
                    binding.folded.merge(stat)

    def collect(self) -> Iterator[Metric]:
        """Scrape-time families of the HTTP request metrics (one process only)."""
        filling = self._ring.current()
        series = []
        for (route, method, status_class), binding in list(self._classes.items()):
            if binding.folded is None:
                continue
            total = merged([binding.folded], LATENCY_EDGES_MS)
            now = filling.get(binding.key)
            if now is not None:
                total.merge(now)
            series.append(([method, route, status_class], total))
        return stat_families(
            "barberpro_http_requests",
            HTTP_REQUESTS_HELP,
            "barberpro_http_request_duration_seconds",
            HTTP_DURATION_HELP,
            _LABELS,
            series,
        )

    def db_cost(self, route: str, method: str, cost: RequestCost) -> None:
        """Attribute a request's database time to its route."""
        if method not in METHODS:
            method = "OTHER"
        self._ring.record(("http_db", route, method), cost.db_ms)
        self._ring.add(("http_dbq", route, method), cost.db_queries)

    def in_flight(self) -> dict[tuple[str, str], int]:
        """Return the requests being answered now, by (method, route)."""
        found: dict[tuple[str, str], int] = {}
        for scope in list(self.live.values()):
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            key = (method, route_template(scope))
            found[key] = found.get(key, 0) + 1
        return found


class MonitoringMiddleware:
    """Times HTTP requests into an :class:`HttpRecorder`; other scopes pass straight through."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        recorder: HttpRecorder,
        exclude_prefixes: tuple[str, ...] = (),
        access_log: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self._recorder = recorder
        self._exclude = exclude_prefixes
        self._access_log = access_log
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request through the app and record it."""
        if scope["type"] != "http" or (self._exclude and scope["path"].startswith(self._exclude)):
            await self.app(scope, receive, send)
            return
        recorder = self._recorder
        status = 0

        def send_wrapper(message: Message) -> Awaitable[None]:
            # A plain function handing back send's awaitable: no coroutine of its own per message.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        cost = RequestCost()
        token = current_request.set(cost)
        ident = id(scope)
        recorder.live[ident] = scope
        started = self._clock()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # No answer started (the app raised): the server error handler answers 500.
            elapsed = self._clock() - started
            del recorder.live[ident]
            current_request.reset(token)
            route = recorder.finish(scope, status or 500, elapsed)
            if cost.db_queries:
                recorder.db_cost(route, scope["method"], cost)
            if self._access_log:
                access(scope, route, status or 500, elapsed, cost)


_access = structlog.get_logger("barberpro.access")


def access(scope: Scope, route: str, status: int, elapsed_s: float, cost: RequestCost) -> None:
    """Log one answered request by its route template: never its path, query or headers
    beyond the request id, so no token, id or secret in a URL reaches the logs."""
    request_id = None
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            request_id = value.decode("latin-1")[:128]
            break
    _access.info(
        "request",
        method=scope["method"],
        route=route,
        status=status,
        duration_ms=round(elapsed_s * 1000, 2),
        db_queries=cost.db_queries,
        request_id=request_id,
    )
