"""Prometheus gauges of the optimization engine, read at scrape time from its state.

``barberpro_optimization_emergency_stage``, ``barberpro_optimization_leading``,
``barberpro_optimization_route_cache_enabled{route}``, ``barberpro_optimization_concurrency_limit``,
``barberpro_optimization_in_flight`` and ``barberpro_optimization_shed_total`` (requests shed
by this process since it started).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from barberpro.optimization.cache import CACHEABLE
from barberpro.optimization.engine import Optimizer


class OptimizationCollector(Collector):
    """Yields the engine's gauges."""

    def __init__(self, optimizer: Optimizer) -> None:
        self._optimizer = optimizer

    def collect(self) -> Iterable[Metric]:
        """Return the current gauges."""
        engine = self._optimizer
        stage = GaugeMetricFamily(
            "barberpro_optimization_emergency_stage",
            "Emergency mode's stage: 0 off, 1 cached reads and paused background work, 2 shedding.",
            value=engine.toggles.emergency.stage,
        )
        leading = GaugeMetricFamily(
            "barberpro_optimization_leading",
            "1 when this process's engine leads (decides for every instance).",
            value=1.0 if engine.leading else 0.0,
        )
        caches = GaugeMetricFamily(
            "barberpro_optimization_route_cache_enabled",
            "1 when the route's cache serves its reads.",
            labels=["route"],
        )
        for route in sorted(CACHEABLE):
            caches.add_metric([route], 1.0 if engine.toggles.cache_on(route) else 0.0)
        limit = GaugeMetricFamily(
            "barberpro_optimization_concurrency_limit",
            "The adaptive concurrency limit (Gradient2) of this process.",
            value=engine.limiter.limit,
        )
        in_flight = GaugeMetricFamily(
            "barberpro_optimization_in_flight",
            "Requests in flight through the limiter in this process.",
            value=engine.limiter.in_flight,
        )
        shed = CounterMetricFamily(
            "barberpro_optimization_shed",
            "Requests shed by emergency mode in this process.",
            value=engine.limiter.shed,
        )
        return [stage, leading, caches, limit, in_flight, shed]
