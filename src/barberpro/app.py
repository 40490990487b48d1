"""The ASGI application: ``create_app(settings)`` wires the parts; nothing connects at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro import __version__, monitoring
from barberpro.alerts import router as alerts_router
from barberpro.alerts import service as alerts_service
from barberpro.analytics import read_router, reports, rollups
from barberpro.analytics.ingest import EventWriter
from barberpro.analytics.router import Ingestor, build_router
from barberpro.api import errors, lean, openapi
from barberpro.api.auth import TokenAuth
from barberpro.config import Settings
from barberpro.db import migrate
from barberpro.db.engine import create_engine, create_writer_engine
from barberpro.db.groupcommit import GroupCommit
from barberpro.db.retention import Retention
from barberpro.kv import KeyValueStore, store_from_url
from barberpro.payments import router as payments_router
from barberpro.payments import service as payments_service
from barberpro.realtime.server import Realtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived parts of one running app, reachable as ``app.state.services``."""

    settings: Settings
    engine: AsyncEngine
    kv: KeyValueStore
    commits: GroupCommit
    writer: EventWriter
    auth: TokenAuth
    alerts: alerts_service.Alerts
    payments: payments_service.PaymentsService
    monitor: monitoring.Monitor
    realtime: Realtime
    retention: Retention


def create_app(settings: Settings) -> FastAPI:
    """Return the service for ``settings``; raises ConfigurationError when they cannot run."""
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
    kv = store_from_url(settings.redis_url)
    # The process's single writer: events, rollups and the payments queue share its commits.
    commits = GroupCommit(
        engine,
        max_batch=settings.ingest_max_batch_rows,
        queue_limit=settings.ingest_queue_limit,
        thread_engine=writer_engine,
    )
    # Built first: it times every statement of the engines from the first one on.
    monitor = monitoring.build(settings, engine=engine)
    if writer_engine is not None:
        monitor.attach(writer_engine)
    services = Services(
        settings=settings,
        engine=engine,
        kv=kv,
        commits=commits,
        writer=EventWriter(
            commits,
            rollup_settings=rollups.RollupSettings(
                funnel_window_us=int(settings.funnel_window_hours * 3_600_000_000),
                commission_rate=Decimal(str(settings.commission_rate)),
            ),
        ),
        auth=TokenAuth(admin=settings.admin_token, ingest=settings.ingest_token),
        alerts=alerts_service.build(settings, db=engine, kv=kv),
        payments=payments_service.PaymentsService(
            engine=engine,
            config=payments_service.PaymentsConfig.from_settings(settings),
            commits=commits,
        ),
        monitor=monitor,
        retention=Retention(
            commits, days=settings.retention_days, interval_s=settings.retention_interval_s
        ),
        realtime=monitoring.realtime(
            settings,
            monitor=monitor,
            auth=TokenAuth(admin=settings.admin_token, ingest=settings.ingest_token),
        ),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if services.auth.open:
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
        await services.monitor.start()
        await services.realtime.start()
        await services.alerts.start(services)
        await services.payments.start(services)
        await services.retention.start()
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
            await services.alerts.stop()  # first: its last notifications go out via realtime
            await services.realtime.stop()
            await services.payments.stop()
            await services.retention.stop()
            await services.commits.close()
            await services.monitor.stop()
            await services.kv.close()
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
    )
    app.state.services = services
    errors.install(app)
    openapi.install(app)
    ingestor = Ingestor(
        writer=services.writer,
        max_body_bytes=settings.max_body_bytes,
        max_batch=settings.max_batch_events,
        max_future=timedelta(hours=settings.max_future_hours),
        observe=services.monitor.argentina.observe,
    )
    lean.serve(app, build_router(ingestor, services.auth), prefix="/api/v1")
    report_settings = reports.ReportSettings(
        funnel_window_hours=settings.funnel_window_hours,
        session_timeout_us=int(settings.session_timeout_minutes * 60_000_000),
        market_min_demand=settings.market_min_demand,
    )
    app.include_router(
        read_router.build_router(engine, services.auth, report_settings), prefix="/api/v1"
    )
    app.include_router(alerts_router.build_router(services.alerts, services.auth), prefix="/api/v1")
    app.include_router(
        payments_router.build_router(services.payments, services.auth), prefix="/api/v1"
    )
    # Keep last: the monitoring middleware must be the outermost to time everything inside.
    monitoring.install(
        app,
        settings=settings,
        monitor=services.monitor,
        realtime=services.realtime,
        auth=services.auth,
        health=monitoring.health_checker(
            settings,
            monitor=services.monitor,
            engine=engine,
            kv=kv,
            backlog=services.writer,
            version=__version__,
        ),
    )
    return app


def app_from_env() -> FastAPI:
    """Uvicorn factory: the app for the settings in the environment (one per worker)."""
    return create_app(Settings())
