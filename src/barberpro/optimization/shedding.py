"""Emergency mode's load shedding: priority classes and an adaptive concurrency limit.

Classes, from never shed to shed first: health and MercadoPago webhooks (``critical``), event
ingestion (``ingest``), dashboards (``dashboard``), business intelligence and reports
(``report``). Stage 1 serves the cacheable reports from the cache (stored or stale answers),
computing only what is not stored; stage 2 serves the stored answers and sheds every other
report, and holds everything but the critical class to the Gradient2 limit, dashboards at half of
it, ingestion at all of it.

The limit learns from the requests it lets through: a short and a long average of their
durations (dropped and cancelled requests are left out of the samples), updated at most every
``update_s``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import IntEnum

from barberpro.optimization.decisions import gradient2


class Priority(IntEnum):
    """Lower is more important."""

    CRITICAL = 0
    INGEST = 1
    DASHBOARD = 2
    REPORT = 3


_CRITICAL = ("/api/v1/monitoring/health", "/api/v1/webhooks/", "/metrics", "/api/v1/metrics")
_REPORTS = (
    "/api/v1/analytics/business-intelligence",
    "/api/v1/monitoring/launch-report",
    "/api/v1/optimization/index-suggestions",
)
_INGEST_POSTS = (
    "/api/v1/analytics/",
    "/api/v1/monitoring/webhook/",
    "/api/v1/monitoring/websocket/",
)


def priority_of(method: str, path: str) -> Priority:
    """Return the class of a request."""
    if path.startswith(_CRITICAL) or path.startswith("/api/v1/optimization/"):
        # The engine's own routes stay reachable: a person turns emergency mode off there.
        return Priority.REPORT if path.startswith(_REPORTS) else Priority.CRITICAL
    if path.startswith(_REPORTS):
        return Priority.REPORT
    if method == "POST" and path.startswith(_INGEST_POSTS):
        return Priority.INGEST
    return Priority.DASHBOARD


class Limiter:
    """An adaptive concurrency limit (Gradient2) over the requests in flight here."""

    def __init__(
        self,
        *,
        initial: float = 64.0,
        lo: float = 8.0,
        hi: float = 512.0,
        update_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = initial
        self.lo, self.hi = lo, hi
        self.in_flight = 0
        self.shed = 0
        self._short: float | None = None
        self._long: float | None = None
        self._update_s = update_s
        self._clock = clock
        self._updated = clock()

    @property
    def saturation(self) -> float:
        """Requests in flight over the limit (1.0: at the limit)."""
        return self.in_flight / self.limit if self.limit else 0.0

    def admits(self, priority: Priority, stage: int) -> bool:
        """Return whether a request of ``priority`` may start now at emergency ``stage``."""
        if priority is Priority.CRITICAL or stage < 2:
            return True
        if priority is Priority.REPORT:
            return False
        share = 0.5 if priority is Priority.DASHBOARD else 1.0
        return self.in_flight < self.limit * share

    def sample(self, seconds: float) -> None:
        """Feed the duration of one completed request (never a dropped or cancelled one)."""
        self._short = seconds if self._short is None else 0.9 * self._short + 0.1 * seconds
        self._long = seconds if self._long is None else 0.995 * self._long + 0.005 * seconds
        now = self._clock()
        if now - self._updated >= self._update_s:
            self._updated = now
            self.limit = gradient2(
                self.limit,
                short_rtt=self._short,
                long_rtt=self._long,
                queue=math.sqrt(self.limit),
                lo=self.lo,
                hi=self.hi,
            )
