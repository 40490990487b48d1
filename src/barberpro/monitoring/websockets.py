"""WebSocket connections: our Socket.IO server's own, and reports from external socket servers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from barberpro.monitoring.metrics import Metrics
from barberpro.monitoring.recorder import RingRecorder
from barberpro.monitoring.windows import Ring

#: Disconnect reasons that are a normal goodbye; the others (ping timeout, transport error) are
#: abnormal closes. "transport close" is normal: it is what a closed browser tab produces, and
#: python-socketio reports it too when a client's own disconnect races its close.
#: External servers report their abnormal closes as `errors`, so their `closed` count is normal.
NORMAL_REASONS = frozenset(
    {"client disconnect", "server disconnect", "transport close", "reported"}
)
MAX_INSTANCES = 500


@dataclass(slots=True)
class InstanceReport:
    """The latest report of one external socket server."""

    active: int
    at: float


class ConnectionTracker(RingRecorder):
    """Counts connections opened and closed, the active and peak numbers, session lengths."""

    def __init__(
        self, *, ring: Ring, metrics: Metrics, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(ring=ring, metrics=metrics, clock=clock)
        self._opened_at: dict[str, float] = {}
        self.active = 0
        self.peak = 0
        self.reports: dict[str, InstanceReport] = {}
        self._closed_children: dict[str, Any] = {}

    def opened(self, sid: str) -> None:
        """Count a connection of our own server as opened."""
        self._opened_at[sid] = self._clock()
        self.active = len(self._opened_at)
        self.peak = max(self.peak, self.active)
        self._metrics.ws_opened.inc()
        self._ring.add(("ws", "opened"))

    def closed(self, sid: str, reason: str) -> None:
        """Count a connection of our own server as closed, for ``reason``."""
        started = self._opened_at.pop(sid, None)
        if started is None:
            return
        self.active = len(self._opened_at)
        self._closed(reason)
        self._ring.record(("ws_session",), max(0.0, self._clock() - started))

    def _closed(self, reason: str, n: int = 1) -> None:
        child = self._closed_children.get(reason)
        if child is None:
            child = self._closed_children[reason] = self._metrics.ws_closed.labels(reason=reason)
        child.inc(n)
        abnormal = 0 if reason in NORMAL_REASONS else n
        self._ring.add(("ws_close", reason), n, abnormal)

    def report(self, *, instance: str, active: int, opened: int, closed: int, errors: int) -> None:
        """Take an external server's report: counts since its last report, its active now."""
        if instance not in self.reports and len(self.reports) >= MAX_INSTANCES:
            instance = "other"
        self.reports[instance] = InstanceReport(active=active, at=self._clock())
        if opened:
            self._metrics.ws_opened.inc(opened)
            self._ring.add(("ws", "opened"), opened)
        if closed:
            self._closed("reported", closed)
        if errors:
            self._ring.add(("ws_errors", instance), errors, errors)
        self._ring.add(("ws_report", instance), 1)

    def live(self) -> dict[str, Any]:
        """Return the state other processes need for the shared view."""
        return {
            "active": self.active,
            "peak": self.peak,
            "reports": {k: [v.active, v.at] for k, v in self.reports.items()},
        }
