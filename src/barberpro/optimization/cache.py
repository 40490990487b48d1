"""Runtime route caching over cashews (its memory store, or Redis shared by every instance).

Only the read reports are cacheable (:data:`CACHEABLE`). An answer is stored with the time it
took to compute (``delta``) and its expiry; :func:`~barberpro.optimization.decisions.xfetch_due`
decides when one caller recomputes it early, under a cashews lock so that only one does (no
stampede), while the others keep getting the stored answer. An answer outlives its expiry by
``stale_s``: served as STALE when its recomputation fails, and in emergency mode. The lifetime
adapts to the writes: ``hi`` while no ingestion changes what the reports read, shorter as
invalidations come (:func:`~barberpro.optimization.decisions.adaptive_ttl`).
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cashews import Cache

from barberpro.optimization.decisions import adaptive_ttl

#: The routes a cache may serve: read reports, the same for every caller of a role (the
#: monitoring dashboard too: under write load its lifetime is the 2 s minimum).
CACHEABLE: frozenset[str] = frozenset(
    {
        "/api/v1/monitoring/dashboard",
        "/api/v1/analytics/dashboard",
        "/api/v1/analytics/business-intelligence",
        "/api/v1/monitoring/launch-report",
    }
)

_PREFIX = "barberpro:route-cache:"


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored answer."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    computed_at: float
    delta_s: float  # how long it took to compute
    expiry: float


def normalized_query(query_string: bytes) -> str:
    """Return the query with its parameters sorted, so ``?a=1&b=2`` and ``?b=2&a=1`` share."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return urlencode(sorted(pairs))


def key_of(route: str, query_string: bytes, role: str) -> str:
    """Return the cache key of a request: route, normalised query, the caller's role."""
    digest = hashlib.sha256(normalized_query(query_string).encode()).hexdigest()[:32]
    return f"{_PREFIX}{route}:{role}:{digest}"


class RouteCache:
    """The answers of cacheable routes, and the write rate that bounds their lifetime."""

    def __init__(
        self,
        url: str = "mem://",
        *,
        base_ttl_s: float = 30.0,
        min_ttl_s: float = 2.0,
        max_ttl_s: float = 120.0,
        stale_s: float = 300.0,
        beta: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = Cache()
        self.store.setup(url)
        self.in_process = url.startswith("mem://")
        self.base_ttl_s, self.min_ttl_s, self.max_ttl_s = base_ttl_s, min_ttl_s, max_ttl_s
        self.stale_s = stale_s
        self.beta = beta
        self._clock = clock
        self._writes: deque[float] = deque()
        self._window_s = 300.0

    def wrote(self) -> None:
        """Note one ingestion write: what the reports read changed."""
        now = self._clock()
        self._writes.append(now)
        while self._writes and self._writes[0] < now - self._window_s:
            self._writes.popleft()

    def invalidations_per_min(self) -> float:
        """Writes per minute over the last five minutes."""
        now = self._clock()
        while self._writes and self._writes[0] < now - self._window_s:
            self._writes.popleft()
        return len(self._writes) * 60.0 / self._window_s

    def ttl(self) -> float:
        """The lifetime a new answer gets now."""
        return adaptive_ttl(
            self.base_ttl_s, self.invalidations_per_min(), lo=self.min_ttl_s, hi=self.max_ttl_s
        )

    async def get(self, key: str) -> Entry | None:
        """Return the stored answer of ``key`` (expired but within ``stale_s`` included)."""
        found: Any = await self.store.get(key)
        if not isinstance(found, dict):
            return None
        return Entry(
            status=int(found["status"]),
            headers=[(bytes(k), bytes(v)) for k, v in found["headers"]],
            body=bytes(found["body"]),
            computed_at=float(found["computed_at"]),
            delta_s=float(found["delta_s"]),
            expiry=float(found["expiry"]),
        )

    async def put(
        self,
        key: str,
        *,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        delta_s: float,
    ) -> Entry:
        """Store an answer computed in ``delta_s`` seconds."""
        now = self._clock()
        ttl = self.ttl()
        entry = Entry(status, headers, body, now, delta_s, now + ttl)
        value = {
            "status": status,
            "headers": [list(h) for h in headers],
            "body": body,
            "computed_at": now,
            "delta_s": delta_s,
            "expiry": now + ttl,
        }
        await self.store.set(key, value, expire=ttl + self.stale_s)
        return entry

    async def lock(self, key: str, owner: str, *, hold_s: float) -> bool:
        """Take the recomputation lock of ``key``: True for the one caller that gets it."""
        return bool(await self.store.set_lock(f"{key}:lock", owner, expire=max(1.0, hold_s)))

    async def held(self, key: str) -> bool:
        """True when somebody holds the recomputation lock of ``key``."""
        return bool(await self.store.is_locked(f"{key}:lock"))

    async def unlock(self, key: str, owner: str) -> None:
        """Give the lock back."""
        await self.store.unlock(f"{key}:lock", owner)

    async def clear(self, route: str | None = None) -> None:
        """Drop the stored answers of ``route`` (every route when None)."""
        await self.store.delete_match(f"{_PREFIX}{route or ''}*")

    async def close(self) -> None:
        """Close the store's connections."""
        await self.store.close()
