"""The process seen from the system: memory (of the cgroup limit), CPU, loop lag, GC, files."""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from barberpro import background
from barberpro.monitoring.metrics import Metrics

CGROUP_V2_LIMIT = Path("/sys/fs/cgroup/memory.max")
CGROUP_V1_LIMIT = Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")


def memory_limit(
    *, v2: Path = CGROUP_V2_LIMIT, v1: Path = CGROUP_V1_LIMIT, machine: int | None = None
) -> tuple[int, str]:
    """Return (bytes, source): the cgroup's memory limit when it has one, else the machine's.

    cgroup v2 writes ``max`` when unlimited; v1 writes a huge number, so any limit above the
    machine's memory means "no limit".
    """
    total = machine if machine is not None else int(psutil.virtual_memory().total)
    for path, source in ((v2, "cgroup"), (v1, "cgroup")):
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and 0 < int(raw) < total:
            return int(raw), source
    return total, "machine"


@dataclass(slots=True)
class SystemSample:
    """One reading of the process."""

    memory_percent: float = 0.0
    rss_bytes: int = 0
    memory_limit_bytes: int = 0
    memory_limit_source: str = "machine"
    cpu_percent: float = 0.0
    loop_lag_ms: float = 0.0
    loop_lag_max_ms: float = 0.0
    gc_collections: tuple[int, int, int] = (0, 0, 0)
    gc_pending: tuple[int, int, int] = (0, 0, 0)
    open_files: int = 0
    threads: int = 0
    at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the sample as JSON-able values."""
        data = asdict(self)
        data["gc_collections"] = list(self.gc_collections)
        data["gc_pending"] = list(self.gc_pending)
        return data


class SystemSampler:
    """Samples the process every ``interval_s`` and measures the event loop's lag meanwhile.

    The lag is how much later than asked a ``sleep(interval)`` wakes up: the time the loop was
    busy with something else (a blocking call, a long computation) while this task was due.
    """

    def __init__(self, *, metrics: Metrics, interval_s: float = 1.0) -> None:
        self._metrics = metrics
        self._interval = interval_s
        self._process = psutil.Process()
        self._limit, self._limit_source = memory_limit()
        self._task: asyncio.Task[None] | None = None
        self._lags: list[float] = []
        self.latest = SystemSample()
        self._process.cpu_percent(None)  # the first call only sets the baseline

    def sample(self, lag_s: float = 0.0) -> SystemSample:
        """Read the process now, publish the gauges, and return the reading."""
        proc = self._process
        with proc.oneshot():
            rss = int(proc.memory_info().rss)
            cpu = float(proc.cpu_percent(None))
            try:
                files = int(proc.num_fds())
            except (AttributeError, psutil.Error):
                files = 0
            threads = int(proc.num_threads())
        self._lags.append(lag_s)
        del self._lags[:-60]
        stats = gc.get_stats()
        sample = SystemSample(
            memory_percent=100.0 * rss / self._limit if self._limit else 0.0,
            rss_bytes=rss,
            memory_limit_bytes=self._limit,
            memory_limit_source=self._limit_source,
            cpu_percent=cpu,
            loop_lag_ms=lag_s * 1000.0,
            loop_lag_max_ms=max(self._lags) * 1000.0,
            gc_collections=(
                int(stats[0]["collections"]),
                int(stats[1]["collections"]),
                int(stats[2]["collections"]),
            ),
            gc_pending=gc.get_count(),
            open_files=files,
            threads=threads,
            at=time.time(),
        )
        self.latest = sample
        m = self._metrics
        m.memory_percent.set(sample.memory_percent)
        m.resident_memory.set(rss)
        m.cpu_percent.set(cpu)
        m.loop_lag.set(lag_s)
        return sample

    async def start(self) -> None:
        """Start sampling in the background."""
        self.sample()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="barberpro-system-sampler")

    async def stop(self) -> None:
        """Stop sampling."""
        await background.cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self._interval)
            lag = max(0.0, loop.time() - asked - self._interval)
            self.sample(lag)
