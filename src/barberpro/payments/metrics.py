"""Prometheus gauges of the payments domain, read at scrape time from the service's state.

``barberpro_payments_queue_depth``, ``barberpro_payments_dead_letters`` (refreshed by the
worker every few seconds) and ``barberpro_mercadopago_circuit_state{state}`` (1 for the
current state, 0 for the others). The app adds the collector to the monitoring's metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from barberpro.payments.breaker import CircuitBreaker, CircuitState


class PaymentsCollector(Collector):
    """Yields the payments gauges from the queue's last known counts and the breaker."""

    def __init__(self, *, counts: Callable[[], Mapping[str, int]], breaker: CircuitBreaker) -> None:
        self._counts = counts
        self._breaker = breaker

    def collect(self) -> Iterable[Metric]:
        """Return the current gauges."""
        counts = self._counts()
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
        current = self._breaker.state
        for state in CircuitState:
            circuit.add_metric([state.value], 1.0 if state is current else 0.0)
        return [depth, dead, circuit]
