"""Payment webhook outcomes: success rate per provider and event type over the windows.

Two series per (provider, event type): ``webhook`` counts every processing attempt (with its
latency), ``webhook_outcome`` counts each notification once, by its latest attempt. A
notification retried three times is three attempts and one outcome: its earlier outcome is
retracted from the slot it was counted in when the next attempt is recorded, so the success
rate (and the alert on it) says how many notifications failed, not how often one was retried.
Signature rejections are counted apart (``webhook_rejected``, by reason).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from barberpro.monitoring.metrics import Metrics
from barberpro.monitoring.recorder import RingRecorder
from barberpro.monitoring.windows import Key, Ring

#: Distinct (provider, event_type) pairs kept as labels; later ones are counted as "other" so an
#: external reporter cannot blow up the metric's cardinality.
MAX_LABEL_PAIRS = 200
RECENT_FAILURES = 20
#: Notifications whose latest outcome is remembered (for retracting it on the next attempt).
MAX_REMEMBERED = 50_000


class WebhookTracker(RingRecorder):
    """Records each processed payment webhook (ours in-process, or reported over HTTP)."""

    def __init__(
        self, *, ring: Ring, metrics: Metrics, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(ring=ring, metrics=metrics, clock=clock)
        self._children: dict[tuple[str, str, bool], tuple[Any, Any]] = {}
        self._pairs: set[tuple[str, str]] = set()
        self.recent_failures: deque[dict[str, Any]] = deque(maxlen=RECENT_FAILURES)
        # notification id -> (slot, outcome key, failed) of its latest counted outcome
        self._latest: OrderedDict[str, tuple[int, Key, bool]] = OrderedDict()
        self._rejected_children: dict[tuple[str, str], Any] = {}

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
        self._outcome(provider, event_type, success, notification_id)
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

    def _outcome(
        self, provider: str, event_type: str, success: bool, notification_id: str | None
    ) -> None:
        key: Key = ("webhook_outcome", provider, event_type)
        if notification_id is not None:
            before = self._latest.pop(notification_id, None)
            if before is not None:
                slot, old_key, failed = before
                self._ring.retract(slot, old_key, errors=int(failed))
        self._ring.add(key, 1, 0 if success else 1)
        if notification_id is not None:
            self._latest[notification_id] = (self._ring.slot, key, not success)
            while len(self._latest) > MAX_REMEMBERED:
                self._latest.popitem(last=False)

    def dead_lettered(self, *, provider: str, reason: str) -> None:
        """Count one notification put on the dead-letter list (``reason``: not_found...)."""
        self._ring.add(("webhook_dead", provider, reason))
        self._metrics.dead_lettered.labels(provider=provider, reason=reason).inc()

    def rejected(self, *, provider: str, reason: str) -> None:
        """Count one webhook refused for its signature (``reason``: mismatch, missing...)."""
        self._ring.add(("webhook_rejected", provider, reason))
        child = self._rejected_children.get((provider, reason))
        if child is None:
            child = self._rejected_children[(provider, reason)] = (
                self._metrics.webhooks_rejected.labels(provider=provider, reason=reason)
            )
        child.inc()
