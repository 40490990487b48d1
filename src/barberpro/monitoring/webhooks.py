"""Payment webhook outcomes: success rate per provider and event type over the windows."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from barberpro.monitoring.metrics import Metrics
from barberpro.monitoring.recorder import RingRecorder
from barberpro.monitoring.windows import Ring

#: Distinct (provider, event_type) pairs kept as labels; later ones are counted as "other" so an
#: external reporter cannot blow up the metric's cardinality.
MAX_LABEL_PAIRS = 200
RECENT_FAILURES = 20


class WebhookTracker(RingRecorder):
    """Records each processed payment webhook (ours in-process, or reported over HTTP)."""

    def __init__(
        self, *, ring: Ring, metrics: Metrics, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(ring=ring, metrics=metrics, clock=clock)
        self._children: dict[tuple[str, str, bool], tuple[Any, Any]] = {}
        self._pairs: set[tuple[str, str]] = set()
        self.recent_failures: deque[dict[str, Any]] = deque(maxlen=RECENT_FAILURES)

    def record(
        self,
        *,
        provider: str,
        event_type: str,
        success: bool,
        processing_ms: float,
        http_status: int | None = None,
        error: str | None = None,
        notification_id: str | None = None,
    ) -> None:
        """Count one processed webhook; synchronous and cheap, safe to call from any handler."""
        pair = (provider, event_type)
        if pair not in self._pairs:
            if len(self._pairs) >= MAX_LABEL_PAIRS:
                provider, event_type = "other", "other"
            else:
                self._pairs.add(pair)
        processing_ms = max(0.0, float(processing_ms))
        self._ring.record(("webhook", provider, event_type), processing_ms, not success)
        key = (provider, event_type, success)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._metrics.webhooks.labels(
                    provider=provider,
                    event_type=event_type,
                    outcome="success" if success else "failure",
                ),
                self._metrics.webhook_duration.labels(provider=provider),
            )
        children[0].inc()
        children[1].observe(processing_ms / 1000.0)
        if not success:
            self.recent_failures.append(
                {
                    "at": self._clock(),
                    "provider": provider,
                    "event_type": event_type,
                    "processing_ms": processing_ms,
                    "http_status": http_status,
                    "error": (error or "")[:500] or None,
                    "notification_id": notification_id,
                }
            )
