"""Fixtures: the app on every database backend, real PostgreSQL and Redis when reachable.

PostgreSQL and Redis come from ``BARBERPRO_TEST_POSTGRES_URL`` and ``BARBERPRO_TEST_REDIS_URL``
(defaults: the local servers). On a laptop without them their tests are skipped and the
summary says so; with ``CI=true`` an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from barberpro.app import create_app
from barberpro.config import Settings

POSTGRES_URL = os.environ.get(
    "BARBERPRO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BARBERPRO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def _need(url: str, default_port: int, what: str) -> None:
    if _reachable(url, default_port):
        return
    if IN_CI:
        pytest.fail(f"{what} is not reachable at {url}; CI must run its tests", pytrace=False)
    pytest.skip(f"{what} not reachable at {url}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (or, in CI, fail) tests whose server is missing, once per session."""
    del config
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.usefixtures("_postgres_available"))
        if item.get_closest_marker("redis"):
            item.add_marker(pytest.mark.usefixtures("_redis_available"))
        if item.get_closest_marker("redis") or _uses_redis(item):
            # One Redis database for the whole run: with pytest-xdist (make test runs two
            # workers) every test that reaches it runs on the same worker, one at a time.
            item.add_marker(pytest.mark.xdist_group("redis"))


def _uses_redis(item: pytest.Item) -> bool:
    """True when the test's module or the fixtures it asks for reach the Redis server."""
    names = getattr(item, "fixturenames", ())
    return "redis_url" in names or "REDIS_URL" in getattr(item.module, "__dict__", {})


@pytest.fixture(scope="session")
def _postgres_available() -> None:
    _need(POSTGRES_URL, 5432, "PostgreSQL")


@pytest.fixture(scope="session")
def _redis_available() -> None:
    _need(REDIS_URL, 6379, "Redis")


async def _admin(sql: str) -> None:
    import asyncpg

    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url(_postgres_available: None) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"bp_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'barberpro.db'}"


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    """Build Settings on the test's database, ignoring the developer's environment."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": None,
            "admin_token": None,
            "ingest_token": None,
            "env": "development",
            # The suite's events carry fixed, reproducible dates from 2001 on; the 400-day
            # default of production is tested on its own (tests/analytics/test_input_rules.py).
            "max_past_days": 36_500,
            # The optimization engine off unless a test turns it on (tests/server.py says why).
            "optimization_enabled": False,
        }
        values.update(overrides)
        return Settings(**values)

    return build


async def _serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a running app (lifespan included) on the test's database."""
    app = create_app(make_settings())
    async for c in _serve(app):
        c.app = app  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def app_factory(make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """Start apps with custom settings: ``async with app_factory(**settings) as client``."""
    import contextlib

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(make_settings(**overrides))
        async for c in _serve(app):
            c.app = app  # type: ignore[attr-defined]
            yield c

    return start


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which servers the run will use."""
    del config
    pg = "reachable" if _reachable(POSTGRES_URL, 5432) else "NOT reachable (tests skipped)"
    rd = "reachable" if _reachable(REDIS_URL, 6379) else "NOT reachable (tests skipped)"
    return [
        f"postgres: {POSTGRES_URL} {pg}",
        f"redis: {REDIS_URL} {rd}",
        f"CI: {IN_CI} (unreachable servers fail the run in CI)",
    ]
