"""Prometheus gauges of the payments domain, read at scrape time from the service's state.

``barberpro_payments_queue_depth``, ``barberpro_payments_dead_letters`` (refreshed by the
worker every few seconds) and ``barberpro_mercadopago_circuit_state{state}`` (1 for the
current state, 0 for the others). They are added to the monitoring service's registry when it
exposes one as ``registry`` (or ``metrics.registry``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from barberpro.payments.breaker import CircuitState

if TYPE_CHECKING:
    from barberpro.payments.service import PaymentsService


class PaymentsCollector(Collector):
    """Yields the payments gauges from the service's last known counts and breaker state."""

    def __init__(self, service: PaymentsService) -> None:
        self._service = service

    def collect(self) -> Iterable[Metric]:
        """Return the current gauges."""
        counts = self._service.worker.counts
        depth = GaugeMetricFamily(
            "barberpro_payments_queue_depth",
            "MercadoPago notifications waiting or being processed.",
            value=counts.get("pending", 0) + counts.get("processing", 0),
        )
        dead = GaugeMetricFamily(
            "barberpro_payments_dead_letters",
            "MercadoPago notifications on the dead-letter list.",
            value=counts.get("dead", 0),
        )
        circuit = GaugeMetricFamily(
            "barberpro_mercadopago_circuit_state",
            "The MercadoPago API circuit breaker: 1 for its current state.",
            labels=["state"],
        )
        current = self._service.breaker.state
        for state in CircuitState:
            circuit.add_metric([state.value], 1.0 if state is current else 0.0)
        return [depth, dead, circuit]


def _registry(monitor: object | None) -> CollectorRegistry | None:
    for holder in (monitor, getattr(monitor, "metrics", None)):
        found = getattr(holder, "registry", None)
        if isinstance(found, CollectorRegistry):
            return found
    return None


def register(monitor: object | None, collector: PaymentsCollector) -> bool:
    """Add ``collector`` to the monitoring service's metrics; False when it has none.

    Through ``Metrics.add_collector`` when there is one, so the gauges are also scraped when
    several workers merge their metrics (that scrape does not read the registry).
    """
    add = getattr(getattr(monitor, "metrics", None), "add_collector", None)
    if callable(add):
        add(collector)
        return True
    registry = _registry(monitor)
    if registry is None:
        return False
    registry.register(collector)
    return True


def unregister(monitor: object | None, collector: PaymentsCollector) -> None:
    """Remove ``collector`` from the metrics or the registry it was added to."""
    remove = getattr(getattr(monitor, "metrics", None), "remove_collector", None)
    if callable(remove):
        remove(collector)
        return
    registry = _registry(monitor)
    if registry is not None:
        with contextlib.suppress(KeyError):
            registry.unregister(collector)
