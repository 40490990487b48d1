"""Fixtures of the optimization tests: in-process apps on SQLite, slowed reports, polling."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from barberpro.analytics import reports
from barberpro.app import create_app
from barberpro.config import Settings
from tests.monitoring.conftest import settings_for as monitoring_settings

ADMIN = "admin-token"
INGEST = "ingest-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
OPT = "/api/v1/optimization"
DASHBOARD = "/api/v1/analytics/dashboard"
BI = "/api/v1/analytics/business-intelligence"
LAUNCH = "/api/v1/monitoring/launch-report"


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings on ``database_url`` ignoring the developer's environment; the engine off
    unless a test turns it on (``optimization_enabled=True``)."""
    values: dict[str, Any] = {
        "admin_token": ADMIN,
        "ingest_token": INGEST,
        "optimization_enabled": False,
        "max_past_days": 36_500,
    }
    return monitoring_settings(database_url, **{**values, **overrides})


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client (admin token) on a running app; ``client.app`` is the app."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=AUTH, timeout=30
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def opt_app(tmp_path: Path) -> Callable[..., Any]:
    """Start apps on a fresh SQLite file: ``async with opt_app(**settings) as client``."""
    count = 0

    def start(**overrides: Any) -> Any:
        nonlocal count
        count += 1
        url = f"sqlite+aiosqlite:///{tmp_path / f'opt{count}.db'}"
        return serve(settings_for(url, **overrides))

    return start


class Slowed:
    """The two report functions behind the cacheable routes, slowed or failing on demand.

    ``barberpro.analytics.reports.dashboard`` serves GET /analytics/dashboard;
    ``business_intelligence`` serves GET /analytics/business-intelligence and the launch report.
    With ``reuse``, each function computes once and then answers that result after its delay:
    the route costs its sleep and next to no CPU, so its latency hardly moves with the load.
    """

    NAMES = ("dashboard", "business_intelligence")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.delay_s = dict.fromkeys(self.NAMES, 0.0)
        self.failing: set[str] = set()
        self.calls = dict.fromkeys(self.NAMES, 0)
        self.reuse = False
        self._results: dict[str, Any] = {}
        for name in self.NAMES:
            monkeypatch.setattr(reports, name, self._wrap(name, getattr(reports, name)))

    def _wrap(self, name: str, original: Callable[..., Awaitable[Any]]) -> Any:
        async def slowed(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name in self.failing:
                raise RuntimeError(f"{name} failed on purpose")
            if self.delay_s[name]:
                await asyncio.sleep(self.delay_s[name])
            if self.reuse and name in self._results:
                return self._results[name]
            self._results[name] = found = await original(*args, **kwargs)
            return found

        return slowed


@pytest.fixture
def slowed(monkeypatch: pytest.MonkeyPatch) -> Slowed:
    """Slow or break the report functions of the cacheable analytics routes."""
    return Slowed(monkeypatch)


async def wait_for(
    check: Callable[[], Awaitable[Any]], *, within_s: float = 30.0, what: str = "condition"
) -> Any:
    """Poll ``check`` every 0.2 s until it returns something truthy; return it."""
    deadline = time.monotonic() + within_s
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {within_s:g} s")
        await asyncio.sleep(0.2)


async def actions(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """The audit log through the API, newest first."""
    answer = await client.get(f"{OPT}/actions", params=params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["actions"]
    return found
