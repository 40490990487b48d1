"""Fixtures of the monitoring tests: the app on SQLite only, for tests not about the database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from barberpro.app import create_app
from barberpro.config import Settings


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings on ``database_url`` ignoring the developer's environment."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": None,
        "admin_token": None,
        "ingest_token": None,
        "env": "development",
        "mp_worker_enabled": False,
        "alert_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on a running app (lifespan included); ``client.app`` is the app."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Callable[..., Any]:
    """Start apps on a fresh SQLite file: ``async with sqlite_app(**settings) as client``."""

    def start(**overrides: Any) -> Any:
        return serve(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", **overrides))

    return start
