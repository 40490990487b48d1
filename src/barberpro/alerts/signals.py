"""The seam between monitoring (which measures) and alerts (which judges).

The monitoring engineer implements `SignalSource` on `services.monitor.signals`; the alert engine
asks it for one number per rule and evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["SIGNALS", "Sample", "SignalSource"]

#: The signal names a source must answer (docs/DESIGN.md, "Contracts").
SIGNALS: frozenset[str] = frozenset(
    {
        "http_p95_ms",
        "http_error_rate",
        "db_query_p95_ms",
        "db_connection_failures",
        "webhook_failure_rate",
        "webhook_rejections",
        "webhook_dead_letters",
        "memory_percent",
        "concurrent_connections",
    }
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of a signal over a window: its value (None when nothing was seen) and count."""

    value: float | None
    count: int
    #: What the value is made of, for people (e.g. "mismatch 31, stale 2"); shown beside the
    #: alert and in its notifications.
    detail: str | None = None


class SignalSource(Protocol):
    """Answers the current value of a named signal over a trailing window.

    Contract:
    - `signal` is one of `SIGNALS`; an unknown name raises `KeyError`.
    - `window_s` is the trailing window in seconds; gauges (memory_percent,
      concurrent_connections) ignore it and report the current value with count 1.
    - `labels` narrows the signal (e.g. {"route": "/api/v1/analytics/action"} for http_p95_ms,
      {"provider": "mercadopago"} for webhook_failure_rate); an empty mapping means all.
    - `webhook_failure_rate` counts each notification once, by its latest attempt;
      `webhook_rejections` counts webhooks refused for their signature (labels provider,
      reason), with `detail` naming the reasons; `webhook_dead_letters` counts notifications
      put on the dead-letter list (labels provider, reason: not_found, refused...).
    - `count` is the number of observations behind `value` (requests, queries, webhooks);
      `value` is None when there were none.
    - Must be cheap and never block the event loop for long: it runs every evaluation interval.
    """

    async def sample(self, signal: str, *, window_s: float, labels: Mapping[str, str]) -> Sample:
        """Return the signal's value and observation count over the trailing window."""
        ...
