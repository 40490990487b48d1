"""The ``barberpro_alerts_active`` gauge, set by the engine after each round."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Gauge

from barberpro.alerts.alert import Alert
from barberpro.alerts.state import Phase

__all__ = ["AlertsGauge"]

_STATES = (Phase.PENDING, Phase.FIRING)


class AlertsGauge:
    """1 for each alert in the pending or firing state, else 0.

    Every instance reports every rule, 1 only where it leads the evaluation, so the maximum
    over instances (``livemax`` across the workers of one instance) is the truth.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self.gauge = Gauge(
            "barberpro_alerts_active",
            "Alerts by rule, severity and state (1 when the alert is in that state).",
            ["alertname", "severity", "state"],
            registry=registry,
            multiprocess_mode="livemax",
        )

    def update(self, alerts: Iterable[Alert], *, leading: bool) -> None:
        """Set the gauge from the alerts' states (all 0 when this instance does not lead)."""
        for alert in alerts:
            for phase in _STATES:
                on = leading and alert.state.phase is phase
                self.gauge.labels(alert.rule.name, alert.rule.severity, phase.value).set(
                    1.0 if on else 0.0
                )

    def close(self) -> None:
        """Remove the gauge from the registry."""
        self._registry.unregister(self.gauge)
