"""Monitoring: route, query, webhook and WebSocket timing, system health, Prometheus, dashboard.

:func:`build` makes ``services.monitor`` from the settings (before anything connects) and
:func:`install` adds its middleware, routes and the Socket.IO mount to the app.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.monitoring.service import Monitor, MonitorConfig, default_instance

if TYPE_CHECKING:
    from fastapi import FastAPI

    from barberpro.api.auth import TokenAuth
    from barberpro.config import Settings
    from barberpro.kv import KeyValueStore
    from barberpro.monitoring.health import HealthChecker
    from barberpro.realtime.server import Realtime

__all__ = ["Monitor", "MonitorConfig", "build", "health_checker", "install", "realtime"]


class Backlogged(Protocol):
    """Something with a queue of waiting work (the analytics group-commit writer)."""

    @property
    def backlog(self) -> int:
        """Requests waiting."""
        ...


#: Paths the HTTP middleware leaves alone: Socket.IO's long-polling requests are held open for
#: up to the ping interval and would read as very slow requests.
EXCLUDED_PREFIXES = ("/socket.io",)


def build(settings: Settings, *, engine: AsyncEngine) -> Monitor:
    """Return the monitor for ``settings``, already timing ``engine``'s statements."""
    config = MonitorConfig(
        enabled=settings.monitoring_enabled,
        slow_query_ms=settings.slow_query_ms,
        instance=settings.instance_name or default_instance(),
        share_interval_s=settings.monitoring_share_interval_s,
        system_interval_s=settings.system_sample_interval_s,
        ws_report_ttl_s=settings.ws_report_ttl_s,
        redis_url=settings.redis_url,
        # Set by `barberpro serve --workers N` before the workers start (see cli.py).
        multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
    )
    monitor = Monitor(config)
    monitor.attach(engine)
    return monitor


def realtime(settings: Settings, *, monitor: Monitor, auth: TokenAuth) -> Realtime:
    """Return the Socket.IO server, counting its connections into ``monitor``."""
    from barberpro.monitoring import dashboard
    from barberpro.realtime.server import Realtime

    async def push() -> dict[str, object]:
        return await dashboard.build(monitor, window_name="1m", window_s=60)

    return Realtime(
        auth=auth,
        tracker=monitor.websockets,
        redis_url=settings.redis_url,
        dashboard=push,
        push_interval_s=settings.realtime_push_interval_s,
    )


def health_checker(
    settings: Settings,
    *,
    monitor: Monitor,
    engine: AsyncEngine,
    kv: KeyValueStore,
    backlog: Backlogged,
    version: str,
) -> HealthChecker:
    """Return the health checks of this service."""
    from barberpro.monitoring.health import HealthChecker, HealthLimits, database_disk_path

    memory_percent = monitor.memory_percent

    redis_configured = settings.redis_url is not None and settings.redis_url.startswith(
        ("redis://", "rediss://")
    )
    return HealthChecker(
        engine=engine,
        kv=kv if redis_configured else None,
        memory_percent=memory_percent,
        backlog=lambda: backlog.backlog,
        queue_limit=settings.ingest_queue_limit,
        disk_path=database_disk_path(settings.database_url),
        limits=HealthLimits(
            db_timeout_s=settings.health_db_timeout_s,
            memory_degraded_percent=settings.health_memory_degraded_percent,
            memory_critical_percent=settings.health_memory_critical_percent,
            disk_degraded_percent=settings.health_disk_degraded_percent,
            disk_critical_percent=settings.health_disk_critical_percent,
        ),
        version=version,
        started=monitor.started,
    )


def install(
    app: FastAPI,
    *,
    settings: Settings,
    monitor: Monitor,
    realtime: Realtime,
    auth: TokenAuth,
    health: HealthChecker,
) -> None:
    """Add the routes, the Socket.IO mount and the timing middleware (call it last)."""
    from barberpro.monitoring.middleware import MonitoringMiddleware
    from barberpro.monitoring.router import build_metrics_router, build_router

    app.include_router(
        build_router(
            monitor,
            auth,
            health,
            metrics_token=settings.metrics_token,
            test_routes=settings.test_routes,
            test_delay_ms=settings.test_route_delay_ms,
        ),
        prefix="/api/v1",
    )
    app.include_router(build_metrics_router(monitor, auth, settings.metrics_token))
    app.mount("/socket.io", realtime.asgi, name="socket.io")
    if monitor.config.enabled:
        # Added last, so it is the outermost user middleware and times everything inside.
        app.add_middleware(
            MonitoringMiddleware, recorder=monitor.http, exclude_prefixes=EXCLUDED_PREFIXES
        )
