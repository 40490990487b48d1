"""The published Prometheus metrics (docs/DESIGN.md) on an injected registry, one process or many.

With one process the metrics live on the injected ``CollectorRegistry`` and a scrape renders
it. Under ``barberpro serve --workers N`` the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` before the
workers start: prometheus_client then keeps every counter, histogram and gauge in a memory-mapped
file per process, and a scrape merges all of them (:class:`MultiProcessCollector`): counters and
histograms add up, gauges combine by their ``multiprocess_mode`` (``livesum`` for amounts,
``livemax`` for the loop lag; a dead worker's live gauges are dropped by ``mark_process_dead``).

Values that are not kept per process (in-flight requests by route, WebSocket connections by
instance, anything read from the database) are scrape-time collectors added with
:meth:`Metrics.add_collector`; they are asked on every scrape, in either mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat

#: Seconds; the published buckets of the HTTP, database and webhook histograms (dashboards and
#: alert rules are written against them).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5, 10)
CONTENT_TYPE = CONTENT_TYPE_LATEST
HTTP_REQUESTS_HELP = "HTTP requests answered."
HTTP_DURATION_HELP = "Time from the request's arrival to the end of its answer."
DB_QUERIES_HELP = "SQL statements executed."
DB_DURATION_HELP = "Time spent in the database driver per statement."
# Each contract bucket bound (seconds) is one of the fine edges (ms): its cumulative count is
# the sum of the fine buckets up to that edge, exactly.
_PROM_INDEX = [
    (repr(float(bound)), LATENCY_EDGES_MS.index(round(bound * 1000, 6)))
    for bound in DURATION_BUCKETS
]


def stat_families(
    name: str,
    help_requests: str,
    duration_name: str,
    help_duration: str,
    labels: list[str],
    series: Iterable[tuple[list[str], Stat]],
) -> Iterator[Metric]:
    """Yield a counter and a seconds histogram built from cumulative millisecond :class:`Stat`s.

    This is how one process exports its hottest series: the hot path adds to a plain Stat (a few
    integer additions, no lock) and the Prometheus families are made only when scraped.
    """
    counter = CounterMetricFamily(name, help_requests, labels=labels)
    duration = HistogramMetricFamily(duration_name, help_duration, labels=labels)
    for values, total in series:
        counter.add_metric(values, total.count)
        cumulative = list(accumulate(total.buckets))
        buckets = [(le, float(cumulative[i])) for le, i in _PROM_INDEX]
        buckets.append(("+Inf", float(total.count)))
        duration.add_metric(values, buckets, total.total / 1000.0)
    yield counter
    yield duration


class Metrics:
    """Every metric the monitoring part exports, bound to one registry."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, multiprocess_dir: str | None = None
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir
        self._collectors: list[Collector] = []
        r = self.registry
        # With one process the HTTP request metrics are built at scrape time from the
        # middleware's own cumulative histograms (see HttpRecorder.collect): a request then
        # costs a few integer additions instead of three locked prometheus_client updates.
        # Workers must share their counts through prometheus_client's files, so there the
        # middleware updates these objects instead.
        self.http_requests: Counter | None = None
        self.http_duration: Histogram | None = None
        if multiprocess_dir is not None:
            http = ["method", "route", "status_class"]
            self.http_requests = Counter(
                "barberpro_http_requests", HTTP_REQUESTS_HELP, http, registry=r
            )
            self.http_duration = Histogram(
                "barberpro_http_request_duration_seconds",
                HTTP_DURATION_HELP,
                http,
                buckets=DURATION_BUCKETS,
                registry=r,
            )
        # The same holds for the per-statement database metrics (see QueryTimer.collect).
        self.db_queries: Counter | None = None
        self.db_duration: Histogram | None = None
        if multiprocess_dir is not None:
            self.db_queries = Counter(
                "barberpro_db_queries", DB_QUERIES_HELP, ["operation"], registry=r
            )
            self.db_duration = Histogram(
                "barberpro_db_query_duration_seconds",
                DB_DURATION_HELP,
                ["operation"],
                buckets=DURATION_BUCKETS,
                registry=r,
            )
        self.db_connection_failures = Counter(
            "barberpro_db_connection_failures",
            "Failed connection attempts and connections lost mid-use.",
            registry=r,
        )
        self.db_pool_checked_out = Gauge(
            "barberpro_db_pool_checked_out",
            "Connections checked out of the pool.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.db_pool_overflow = Gauge(
            "barberpro_db_pool_overflow",
            "Connections open beyond the pool size (negative: unused pool slots).",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.webhooks = Counter(
            "barberpro_payment_webhooks",
            "Payment webhooks processed, by outcome.",
            ["provider", "event_type", "outcome"],
            registry=r,
        )
        self.webhooks_rejected = Counter(
            "barberpro_payment_webhooks_rejected",
            "Payment webhooks refused for their signature, by reason (mismatch, missing...).",
            ["provider", "reason"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "barberpro_payments_dead_lettered",
            "Payment notifications put on the dead-letter list, by reason (not_found...).",
            ["provider", "reason"],
            registry=r,
        )
        self.webhook_duration = Histogram(
            "barberpro_payment_webhook_duration_seconds",
            "Time taken to process a payment webhook.",
            ["provider"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.ws_opened = Counter(
            "barberpro_websocket_connections_opened",
            "WebSocket connections opened (own and reported by other socket servers).",
            registry=r,
        )
        self.ws_closed = Counter(
            "barberpro_websocket_connections_closed",
            "WebSocket connections closed, by reason.",
            ["reason"],
            registry=r,
        )
        self.memory_percent = Gauge(
            "barberpro_process_memory_percent",
            "Resident memory as a percent of the cgroup limit (or of the machine).",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.resident_memory = Gauge(
            "barberpro_process_resident_memory_bytes",
            "Resident memory of the service's processes.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cpu_percent = Gauge(
            "barberpro_process_cpu_percent",
            "CPU use of the service's processes, percent of one core.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.loop_lag = Gauge(
            "barberpro_event_loop_lag_seconds",
            "How late the event loop ran a task scheduled to run now (worst worker).",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.requests_by_province = Counter(
            "barberpro_requests_by_province",
            "Accepted analytics events by province and hour of the day in Argentina time.",
            ["province", "hour_art"],
            registry=r,
        )
        self.payments_by_method = Counter(
            "barberpro_payments_by_method",
            "Accepted payment events by payment method and status.",
            ["payment_method", "status"],
            registry=r,
        )

    @property
    def multiprocess(self) -> bool:
        """True under ``barberpro serve --workers N`` (values shared through files)."""
        return self.multiprocess_dir is not None

    def add_collector(self, collector: Collector) -> None:
        """Add a scrape-time collector (asked on every scrape, in one process or many)."""
        self._collectors.append(collector)
        if self.multiprocess_dir is None:
            self.registry.register(collector)

    def remove_collector(self, collector: Collector) -> None:
        """Stop asking ``collector`` at scrape time."""
        if collector in self._collectors:
            self._collectors.remove(collector)
            if self.multiprocess_dir is None:
                self.registry.unregister(collector)

    def render(self) -> bytes:
        """Return the Prometheus text exposition of every metric, all workers merged."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        for collector in self._collectors:
            scrape.register(collector)
        return generate_latest(scrape)

    def process_exited(self) -> None:
        """Drop this worker's live gauges from the shared files (multiprocess mode only)."""
        if self.multiprocess_dir is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]


class FunctionCollector:
    """A scrape-time collector calling a function that returns metric families."""

    def __init__(self, collect: Any) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Any]:
        """Return the families the function builds now."""
        families: Iterable[Any] = self._collect()
        return families

    def describe(self) -> Iterable[Any]:
        """Describe nothing, so registering does not call :meth:`collect` early."""
        return []
