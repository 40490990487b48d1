"""The ASGI application: ``create_app(settings)`` wires the parts; nothing connects at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro import __version__, web
from barberpro import optimization as optimization_parts
from barberpro.alerts import router as alerts_router
from barberpro.alerts.metrics import AlertsGauge
from barberpro.alerts.service import Alerts, notifiers_from, rules_from
from barberpro.analytics import identity_router, read_router, rollups
from barberpro.analytics.ingest import EventWriter
from barberpro.analytics.router import Ingestor, build_router
from barberpro.api import docs, errors, lean, openapi
from barberpro.api.auth import TokenAuth
from barberpro.argentina.timezone import HOUR_US
from barberpro.config import Settings
from barberpro.db import migrate
from barberpro.db.engine import create_engine, create_writer_engine
from barberpro.db.groupcommit import GroupCommit
from barberpro.db.retention import Retention
from barberpro.kv import Backend, SharedState
from barberpro.monitoring import dashboard
from barberpro.monitoring import router as monitoring_router
from barberpro.monitoring.health import HealthChecker, HealthLimits, database_disk_path
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.ledger import OpsLedger
from barberpro.monitoring.middleware import MonitoringMiddleware
from barberpro.monitoring.service import Monitor, MonitorConfig
from barberpro.monitoring.signals import MonitorSignals
from barberpro.monitoring.windows import SLOT_S, Key
from barberpro.optimization import router as optimization_router
from barberpro.optimization.metrics import OptimizationCollector
from barberpro.optimization.middleware import OptimizationMiddleware
from barberpro.payments import router as payments_router
from barberpro.payments.service import PaymentsConfig, PaymentsService
from barberpro.realtime.server import Realtime
from barberpro.report import router as report_router
from barberpro.report.build import sources_from

log = structlog.get_logger(__name__)

#: Paths the HTTP middleware leaves alone: Socket.IO's long-polling requests are held open for
#: up to the ping interval and would read as very slow requests.
UNTIMED_PREFIXES = ("/socket.io",)


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived parts of one running app, reachable as ``app.state.services``."""

    settings: Settings
    engine: AsyncEngine
    shared: SharedState
    auth: TokenAuth
    commits: GroupCommit
    writer: EventWriter
    monitor: Monitor
    realtime: Realtime
    alerts: Alerts
    payments: PaymentsService
    retention: Retention
    health: HealthChecker
    ledger: OpsLedger
    optimization: optimization_parts.Optimization


def create_app(settings: Settings) -> FastAPI:
    """Return the service for ``settings``; raises ConfigurationError when they cannot run.

    The one place the parts are made and wired: each is built once, here, and handed to the
    parts that use it.
    """
    settings.check()
    engine = create_engine(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    writer_engine = create_writer_engine(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    shared = SharedState(settings.state_url)
    auth = TokenAuth(admin=settings.admin_token, ingest=settings.ingest_token)
    # The process's single writer: events, rollups and the payments queue share its commits.
    commits = GroupCommit(
        engine,
        max_batch=settings.ingest_max_batch_rows,
        queue_limit=settings.ingest_queue_limit,
        thread_engine=writer_engine,
    )
    # Built before anything runs: it times every statement of the engines from the first one.
    monitor = Monitor(
        MonitorConfig.from_settings(settings), shared=shared.store if shared.shared else None
    )
    monitor.attach(engine)
    if writer_engine is not None:
        monitor.attach(writer_engine)
    writer = EventWriter(
        commits,
        rollup_settings=rollups.RollupSettings(
            funnel_window_us=int(settings.funnel_window_hours * HOUR_US),
            commission_rate=Decimal(str(settings.commission_rate)),
        ),
    )

    async def dashboard_push() -> dict[str, object]:
        return await dashboard.build(monitor, window_name="1m", window_s=60)

    realtime = Realtime(
        auth=auth,
        tracker=monitor.websockets,
        manager=shared.socketio_manager("barberpro-socketio"),
        dashboard=dashboard_push,
        push_interval_s=settings.realtime_push_interval_s,
    )
    rules = rules_from(settings)
    alerts = Alerts(
        rules=rules,
        db=engine,
        kv=shared.store,
        source=MonitorSignals(monitor),
        notifiers=notifiers_from(settings, emit=realtime.emit),
        gauge=AlertsGauge(monitor.registry),
        enabled=settings.alert_enabled,
        interval_s=settings.alert_interval_s,
    )
    payments = PaymentsService(
        engine=engine,
        config=PaymentsConfig.from_settings(settings),
        writer=writer,
        commits=commits,
        recorder=monitor.webhooks,
        observe=monitor.argentina.observe,
    )
    monitor.metrics.add_collector(payments.collector)
    sources = sources_from(settings, engine, rules)

    async def series(window_s: float) -> Mapping[Key, Stat]:
        return (await monitor.merged(window_s)).series

    async def gauges() -> dict[str, float]:
        lives = await monitor.live_all()
        lag = max((float(p["system"].get("loop_lag_ms", 0.0)) for p in lives), default=0.0)
        return {"memory_percent": await monitor.memory_percent(), "loop_lag_ms": lag}

    async def instance_memory() -> float:
        """This instance's memory share: its workers' shares added up."""
        lives = await monitor.live_all()
        own = [p for p in lives if p.get("instance") == monitor.config.instance]
        return sum(float(p["system"]["memory_percent"]) for p in own)

    optimization = optimization_parts.build(
        settings,
        db=engine,
        kv=shared.store,
        owner=monitor.process_id,
        series=series,
        gauges=gauges,
        memory_percent=instance_memory,
        local_series=lambda since: local_series(monitor, since),
        thresholds=sources.limits.as_dict(),
        worker=payments.worker,
        client=payments.client,
        slowest=_slowest_of(monitor),
    )

    async def optimization_status() -> dict[str, object]:
        return optimization.optimizer.status()

    monitor.dashboard_section("optimization", optimization_status)
    monitor.metrics.add_collector(OptimizationCollector(optimization.optimizer))
    monitor.dashboard_section("alerts", alerts.dashboard)
    monitor.dashboard_section("payments", payments.summary)
    services = Services(
        settings=settings,
        engine=engine,
        shared=shared,
        auth=auth,
        commits=commits,
        writer=writer,
        monitor=monitor,
        realtime=realtime,
        alerts=alerts,
        payments=payments,
        retention=Retention(
            commits,
            days=settings.retention_days,
            interval_s=settings.retention_interval_s,
            paused=lambda: optimization.toggles.emergency.stage >= 1,
        ),
        health=HealthChecker(
            engine=engine,
            # Only a shared store other instances depend on is worth a health check.
            kv=shared.store if shared.backend is Backend.REDIS else None,
            memory_percent=monitor.memory_percent,
            backlog=lambda: writer.backlog,
            queue_limit=settings.ingest_queue_limit,
            disk_path=database_disk_path(settings.database_url),
            limits=HealthLimits.from_settings(settings),
            version=__version__,
            started=monitor.started,
        ),
        ledger=OpsLedger(
            ring=monitor.ring,
            engine=engine,
            process=f"{monitor.process_id}:{int(monitor.started)}",
            live=monitor.live,
            interval_s=settings.ops_flush_interval_s,
            collect=monitor.config.enabled,
        ),
        optimization=optimization,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for warning in settings.warnings():
            log.warning(warning)
        if auth.open:
            log.warning(
                "no tokens configured: every route is open; set BARBERPRO_ADMIN_TOKEN and "
                "BARBERPRO_INGEST_TOKEN outside development"
            )
        if settings.migrate_on_start:
            await migrate.upgrade(engine)
        else:  # `barberpro serve` migrated before starting its workers; else an operator did
            current, head = await migrate.revision(engine)
            if current != head:
                raise RuntimeError(
                    f"the database schema is at {current or 'nothing'} and this code needs "
                    f"{head}: run `barberpro migrate` (or set BARBERPRO_MIGRATE_ON_START=true)"
                )
        await monitor.start()
        await realtime.start()
        await alerts.start()
        await payments.start()
        await services.retention.start()
        await optimization.start()
        if monitor.config.enabled:
            await services.ledger.start()
        # What start-up made (modules, the app, its routes, models, compiled statements) lives
        # as long as the process: freezing it keeps it out of the collector's full passes,
        # which otherwise walk it all (about 150,000 objects, 80 ms with everything else
        # waiting) every so often under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await alerts.stop()  # first: its last notifications go out via realtime
            await optimization.stop()
            await realtime.stop()
            await payments.stop()
            await services.retention.stop()
            if monitor.config.enabled:
                await services.ledger.stop()  # its last hours, before the engine goes
            await commits.close()
            await monitor.stop()  # publishes its last snapshot to the shared state
            await shared.close()
            await engine.dispose()
            if writer_engine is not None:
                writer_engine.dispose()

    app = FastAPI(
        title="BarberPro backend",
        version=__version__,
        description="Launch-day monitoring, alerts, MercadoPago payments and real-user analytics.",
        lifespan=lifespan,
        # Our own monitoring times every request; FastAPI's OpenTelemetry hook would only
        # look up an unconfigured provider (an environment read) on each one.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Served by barberpro.api.docs from the package's own assets, never a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    web.install(app)
    ingestor = Ingestor(
        writer=writer,
        max_body_bytes=settings.max_body_bytes,
        max_batch=settings.max_batch_events,
        max_future=timedelta(hours=settings.max_future_hours),
        max_past=timedelta(days=settings.max_past_days),
        identity_key=settings.identity_key,
        observe=monitor.argentina.observe,
    )
    lean.serve(app, build_router(ingestor, auth), prefix="/api/v1", token=True)
    report_settings = sources.settings
    app.include_router(read_router.build_router(engine, auth, report_settings), prefix="/api/v1")
    app.include_router(alerts_router.build_router(alerts, auth), prefix="/api/v1")
    app.include_router(payments_router.build_router(payments, auth), prefix="/api/v1")
    app.include_router(
        monitoring_router.build_router(
            monitor,
            auth,
            services.health,
            metrics_token=settings.metrics_token,
            test_routes=settings.test_routes,
            test_delay_ms=settings.test_route_delay_ms,
        ),
        prefix="/api/v1",
    )
    app.include_router(report_router.build_router(sources, auth), prefix="/api/v1")
    app.include_router(identity_router.build_router(auth), prefix="/api/v1")
    app.include_router(
        monitoring_router.build_metrics_router(monitor, auth, settings.metrics_token)
    )
    slowest = _slowest_of(monitor)
    app.include_router(
        optimization_router.build_router(
            optimization.optimizer, auth, slowest=slowest, errors=optimization.errors
        ),
        prefix="/api/v1",
    )
    app.mount("/socket.io", realtime.asgi, name="socket.io")
    app.add_middleware(
        OptimizationMiddleware,
        toggles=optimization.toggles,
        cache=optimization.cache,
        limiter=optimization.limiter,
        auth=auth,
        record=lambda route, outcome, ms: monitor.ring.record(("cache", route, outcome), ms),
        errors=optimization.errors,
        exclude_prefixes=UNTIMED_PREFIXES,
    )
    if monitor.config.enabled:
        # Added last, so it is the outermost user middleware and times everything inside.
        app.add_middleware(
            MonitoringMiddleware,
            recorder=monitor.http,
            exclude_prefixes=UNTIMED_PREFIXES,
            access_log=settings.access_log,
        )
    return app


def local_series(monitor: Monitor, since: float) -> dict[Key, Stat]:
    """This process's own series of the slots from ``since`` on (no other process's)."""
    found: dict[Key, Stat] = {}
    for slot, series in monitor.ring.slots():
        if (slot + 1) * SLOT_S <= since:
            continue
        for key, stat in series.items():
            into = found.get(key)
            if into is None:
                into = found[key] = Stat(stat.edges)
            into.merge(stat)
    return found


def _slowest_of(monitor: Monitor) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
    async def slowest() -> list[dict[str, Any]]:
        """The 10 slowest query shapes of the last 15 minutes, every process merged."""
        found = dashboard.db_section(await monitor.merged(900, frozenset({"db"})), [])
        return list(found["slowest"])

    return slowest


def app_from_env() -> FastAPI:
    """Uvicorn factory: the app for the settings in the environment (one per worker)."""
    return create_app(Settings())
