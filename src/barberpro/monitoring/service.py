"""``services.monitor``: every monitoring part of one process, and the merged view of all."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.config import Settings
from barberpro.kv import KeyValueStore
from barberpro.monitoring.argentina import ArgentinaCounters
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.metrics import FunctionCollector, Metrics
from barberpro.monitoring.middleware import HttpRecorder
from barberpro.monitoring.queries import QueryTimer
from barberpro.monitoring.shared import Peer, SharedView
from barberpro.monitoring.system import SystemSampler
from barberpro.monitoring.webhooks import WebhookTracker
from barberpro.monitoring.websockets import ConnectionTracker
from barberpro.monitoring.windows import Key, Ring, window

log = structlog.get_logger(__name__)

SectionProvider = Callable[[], Awaitable[dict[str, Any]]]
_HTTP = frozenset({"http"})


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """The values the monitor needs from Settings."""

    enabled: bool = True
    slow_query_ms: float = 50.0
    instance: str = "local"
    share_interval_s: float = 1.0
    system_interval_s: float = 1.0
    ws_report_ttl_s: float = 300.0
    # prometheus_client's multiprocess directory (``barberpro serve --workers N``).
    multiprocess_dir: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MonitorConfig:
        """Return the monitoring values of ``settings``."""
        return cls(
            enabled=settings.monitoring_enabled,
            slow_query_ms=settings.slow_query_ms,
            instance=settings.instance_name or default_instance(),
            share_interval_s=settings.monitoring_share_interval_s,
            system_interval_s=settings.system_sample_interval_s,
            ws_report_ttl_s=settings.ws_report_ttl_s,
            # Set by `barberpro serve --workers N` before the workers start (see cli.py).
            multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
        )


@dataclass(frozen=True, slots=True)
class Merged:
    """Every series over one window, all processes merged, and the processes behind it."""

    series: dict[Key, Stat]
    window_s: float
    now: float
    since: float  # the earliest process start, to avoid dividing by time nobody was up
    processes: list[dict[str, Any]]
    live: list[dict[str, Any]]  # live state of every process still publishing, this one first


class Monitor:
    """Owns the ring, the trackers, the metrics and the shared view of one process.

    ``shared`` is the deployment's shared store when other processes publish their windows
    too (None for a single process: nothing to merge).
    """

    def __init__(
        self,
        config: MonitorConfig,
        *,
        shared: KeyValueStore | None = None,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.started = clock()
        self.process_id = f"{config.instance}:{os.getpid()}"
        self.metrics = Metrics(registry, multiprocess_dir=config.multiprocess_dir)
        self.ring = Ring(clock)
        self.http = HttpRecorder(ring=self.ring, metrics=self.metrics)
        self.queries = QueryTimer(
            ring=self.ring, metrics=self.metrics, slow_query_ms=config.slow_query_ms
        )
        self.webhooks = WebhookTracker(ring=self.ring, metrics=self.metrics, clock=clock)
        self.websockets = ConnectionTracker(ring=self.ring, metrics=self.metrics, clock=clock)
        self.argentina = ArgentinaCounters(ring=self.ring, metrics=self.metrics, clock=clock)
        self.system = SystemSampler(metrics=self.metrics, interval_s=config.system_interval_s)
        self.shared = SharedView(
            process_id=self.process_id,
            store=shared,
            export=self._export,
            interval_s=config.share_interval_s,
            clock=clock,
        )
        self._sections: dict[str, SectionProvider] = {}
        self._peers: list[Peer] = []
        self.metrics.add_collector(FunctionCollector(self._collect))

    @property
    def registry(self) -> CollectorRegistry:
        """The registry other domains add their metrics to."""
        return self.metrics.registry

    def attach(self, engine: AsyncEngine | Engine) -> None:
        """Time ``engine``'s statements (skipped when monitoring is disabled)."""
        if self.config.enabled:
            self.queries.attach(engine)

    def dashboard_section(self, name: str, provider: SectionProvider) -> None:
        """Add a section named ``name`` to the dashboard; ``provider`` returns a JSON-able dict."""
        self._sections[name] = provider

    @property
    def sections(self) -> Mapping[str, SectionProvider]:
        """The dashboard sections other domains added."""
        return self._sections

    async def start(self) -> None:
        """Start the system sampler and the snapshot publisher."""
        self.queries.bind(asyncio.get_running_loop())
        await self.system.start()
        await self.shared.start()

    async def stop(self) -> None:
        """Stop the background work; publish a last snapshot; drop this worker's live gauges."""
        await self.system.stop()
        await self.shared.stop()
        self.queries.detach()
        self.metrics.process_exited()

    # -- the merged view ------------------------------------------------------------------

    async def memory_percent(self) -> float:
        """Return the memory share of the fullest instance (its workers' shares added up).

        Workers of one instance share its memory limit, so their shares add up; separate
        instances each have their own limit, and the fullest one is what matters.
        """
        per_instance: dict[str, float] = {}
        for live in await self.live_all():
            name = str(live.get("instance", ""))
            share = float(live["system"]["memory_percent"])
            per_instance[name] = per_instance.get(name, 0.0) + share
        return max(per_instance.values(), default=0.0)

    def live(self) -> dict[str, Any]:
        """Return this process's gauges as other processes need them."""
        checked_out, overflow, capacity = self.queries.pool_usage()
        return {
            "instance": self.config.instance,
            "websocket": self.websockets.live(),
            "in_flight": [[m, r, n] for (m, r), n in self.http.in_flight().items()],
            "system": self.system.latest.as_dict(),
            # A database server's connection pool, the one that can run out (none on SQLite).
            "pool": {
                "checked_out": checked_out,
                "overflow": max(0, overflow),
                "capacity": capacity,
                "saturated_checkouts": self.queries.pool_saturated,
            }
            if self.queries.server_pool
            else None,
            "recent_webhook_failures": list(self.webhooks.recent_failures),
        }

    def _export(self) -> dict[str, Any]:
        return {
            "id": self.process_id,
            "started": self.started,
            "slots": self.ring.export(),
            "live": self.live(),
        }

    async def merged(self, window_s: float, kinds: frozenset[str] | None = None) -> Merged:
        """Return the series of the trailing ``window_s`` seconds, every process merged."""
        peers = await self.shared.peers()
        now = self.clock()
        series = window(
            [self.ring.slots(), *(p.slots for p in peers)],
            now=now,
            window_s=window_s,
            kinds=kinds,
        )
        fresh = self.shared.live_peers(peers)

        def requests(slots: Iterable[tuple[int, Mapping[Key, Stat]]]) -> int:
            found = window([slots], now=now, window_s=window_s, kinds=_HTTP)
            return sum(stat.count for stat in found.values())

        processes = [
            {
                "id": self.process_id,
                "started": self.started,
                "at": now,
                "self": True,
                "http_requests": requests(self.ring.slots()),
            }
        ]
        processes += [
            {
                "id": p.process_id,
                "started": p.started,
                "at": p.at,
                "self": False,
                "http_requests": requests(p.slots),
            }
            for p in peers
        ]
        return Merged(
            series=series,
            window_s=window_s,
            now=now,
            since=min([self.started, *(p.started for p in peers)]),
            processes=processes,
            live=[self.live(), *(p.live for p in fresh)],
        )

    async def live_all(self) -> list[dict[str, Any]]:
        """Return the live state of this process and of every peer still publishing."""
        peers = await self.shared.peers()
        self._peers = peers
        return [self.live(), *(p.live for p in self.shared.live_peers(peers))]

    def _collect(self) -> Iterable[GaugeMetricFamily]:
        """Scrape-time gauges: in-flight requests by route, WebSocket connections by instance."""
        lives = [self.live(), *(p.live for p in self.shared.live_peers(self._peers))]
        in_flight = GaugeMetricFamily(
            "barberpro_http_requests_in_flight",
            "Requests being answered now, by route.",
            labels=["method", "route"],
        )
        totals: dict[tuple[str, str], int] = {}
        for live in lives:
            for method, route, n in live.get("in_flight", []):
                totals[(method, route)] = totals.get((method, route), 0) + int(n)
        for (method, route), n in sorted(totals.items()):
            in_flight.add_metric([method, route], n)
        yield in_flight
        active = GaugeMetricFamily(
            "barberpro_websocket_connections_active",
            "Open WebSocket connections, by instance (ours and those external servers report).",
            labels=["instance"],
        )
        for instance, n in sorted(self.connections_by_instance(lives).items()):
            active.add_metric([instance], n)
        yield active

    def connections_by_instance(self, lives: list[dict[str, Any]]) -> dict[str, int]:
        """Return open connections per instance: ours summed over workers, reports' latest."""
        own = sum(int(live.get("websocket", {}).get("active", 0)) for live in lives)
        found = {self.config.instance: own}
        latest: dict[str, tuple[float, int]] = {}
        now = self.clock()
        for live in lives:
            for instance, (active, at) in live.get("websocket", {}).get("reports", {}).items():
                if now - at > self.config.ws_report_ttl_s:
                    continue  # that server stopped reporting: its connections are not known
                if instance not in latest or at > latest[instance][0]:
                    latest[instance] = (at, int(active))
        for instance, (_at, active) in latest.items():
            found[instance] = found.get(instance, 0) + active
        return found

    async def refresh_peers(self) -> None:
        """Re-read peers' snapshots (so a scrape shows their gauges)."""
        self._peers = await self.shared.peers()


def default_instance() -> str:
    """Return this machine's host name, the default instance label."""
    return socket.gethostname() or "local"
