"""Apps for the parity tests: one on SQLite, one on PostgreSQL, each with its client and engine."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.app import create_app
from barberpro.config import Settings
from tests.conftest import POSTGRES_URL


@dataclass(frozen=True, slots=True)
class Backend:
    """A running app on one database: its HTTP client and its engine."""

    name: str
    client: httpx.AsyncClient
    engine: AsyncEngine


@contextlib.asynccontextmanager
async def serve(name: str, url: str) -> AsyncIterator[Backend]:
    """Run an app (lifespan included, so migrated) on ``url``, ignoring the environment's
    tokens and Redis."""
    values: dict[str, Any] = {
        "database_url": url,
        "redis_url": None,
        "admin_token": None,
        "ingest_token": None,
        "env": "development",
        "sqlite_synchronous": "OFF",  # durability is not under test, and fsyncs would dominate
        "alert_enabled": False,
        "max_past_days": 36_500,  # the streams go back before 1970; the default refuses them
    }
    app = create_app(Settings(**values))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Backend(name=name, client=client, engine=app.state.services.engine)


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def icu_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database collating text by ICU's en-US, dropped afterwards.

    Production databases usually collate by locale ('a' < 'B' < 'c'); SQLite and Python compare
    code points ('B' < 'a'). Test servers are often created with C, where the two agree and SQL
    that forgot ``COLLATE "C"`` would still pass.
    """
    name = f"bp_parity_{uuid.uuid4().hex[:12]}"
    await _admin(
        f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
    )
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
