"""What every in-process tracker holds: the process's ring of windows, its metrics, a clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from barberpro.monitoring.metrics import Metrics
from barberpro.monitoring.windows import Ring


class RingRecorder:
    """Base of the trackers that count into the windows and the Prometheus metrics."""

    def __init__(
        self, *, ring: Ring, metrics: Metrics, clock: Callable[[], float] = time.time
    ) -> None:
        self._ring = ring
        self._metrics = metrics
        self._clock = clock
