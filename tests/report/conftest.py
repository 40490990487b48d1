"""Fixtures of the launch report's tests: a launch day served by real servers on PostgreSQL, and
an app on SQLite for the answers that need no traffic.

The launch day is built once for the package (two server starts, a few seconds of simulated
traffic): the first server takes the traffic and writes its hours every 0.5 s; once it has
stopped (writing its last hours) a second one serves the reports. The second flushes only when
it stops, so while the tests run the database holds exactly what the first server answered,
and the HTTP report and the CLI's read the same rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from barberpro.argentina.timezone import ART
from barberpro.config import Settings
from barberpro.db import migrate
from barberpro.db.engine import create_engine
from barberpro.simulator.plan import live_plan
from barberpro.simulator.run import ROUTES, run
from barberpro.simulator.truth import Truth
from tests.conftest import POSTGRES_URL
from tests.monitoring.conftest import serve
from tests.monitoring.conftest import settings_for as monitoring_settings
from tests.server import Server, running_server, server_env

ADMIN = "report-admin-token-0123456789abcdef0123"
INGEST = "report-ingest-token-0123456789abcdef012"
REPORT = "/api/v1/monitoring/launch-report"
SEED = 21
#: A day before any traffic a test sends.
EMPTY_DAY = date(2025, 6, 15)
SETTLE_S = 15.0  # the most the first server may take to answer, record and write its hours


@dataclass(frozen=True, slots=True)
class LaunchDay:
    """A launch day in the database, and what the first server answered."""

    url: str  # the second server (writes nothing to ops_hours until it stops)
    database_url: str
    day: date
    planned: Counter[str]  # the simulator's requests by route
    answered: int  # every request the first server answered
    truth: dict[str, Any]  # the simulator's own figures for what it sent
    report: dict[str, Any]  # the day's report as JSON, from the second server

    def get(self, path: str, **params: str) -> httpx.Response:
        """GET ``path`` on the second server with the admin token."""
        headers = {"Authorization": f"Bearer {ADMIN}"}
        return httpx.get(self.url + path, params=params, headers=headers, timeout=60)


async def _admin_sql(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def _env(database_url: str, flush_s: str) -> dict[str, str]:
    return server_env(
        database_url=database_url,
        admin_token=ADMIN,
        ingest_token=INGEST,
        ops_flush_interval_s=flush_s,
        alert_enabled="false",  # no transition may land between two reads of the same day
        mp_worker_enabled="false",
        log_level="warning",
    )


def _route_counts(http: dict[str, Any]) -> Counter[str]:
    return Counter({r["route"]: r["count"] for r in http["routes"] if r["method"] == "POST"})


def _own(report: dict[str, Any]) -> int:
    """The launch-report requests a report counts (the polls that came before it)."""
    routes = report["operations"]["http"]["routes"]
    return sum(r["count"] for r in routes if r["route"] == REPORT and r["method"] == "GET")


def _traffic(url: str) -> tuple[date, Counter[str], int, dict[str, Any]]:
    """Simulate on ``url``; return the day, the planned routes, the requests answered, truth."""
    plan = live_plan(SEED, duration=2, rate=40)
    outcome = asyncio.run(run(plan, url, token=INGEST))
    assert outcome.failures == [], outcome.failures[:5]
    assert sum(outcome.statuses.values()) == len(plan.sends), outcome.statuses
    planned = Counter(ROUTES[plan.stream.events[p.event].kind] for p in plan.sends)
    truth = Truth(outcome.events, plan.stream.channels, outcome.start, outcome.end).figures()
    day = outcome.start.astimezone(ART).date()
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        # The dashboard counts every request recorded before it (not itself): wait until the
        # last of the simulator's is (each route's count is its sends: none was retried), then
        # those and this dashboard request are all the server answered so far.
        deadline = time.monotonic() + SETTLE_S
        while True:
            http = client.get("/api/v1/monitoring/dashboard", params={"window": "15m"}).json()
            if _route_counts(http["http"]) == planned or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert _route_counts(http["http"]) == planned
        answered = http["http"]["requests"] + 1
        # The periodic flush: the report comes to count them, its own polls aside.
        polls = 0
        while True:
            found = client.get(REPORT, params={"date": day.isoformat()}).json()
            polls += 1
            if found["operations"]["http"]["requests"] - _own(found) == answered:
                break
            assert time.monotonic() < deadline, found["operations"]["http"]
            time.sleep(0.2)
    return day, planned, answered + polls, truth


@contextlib.contextmanager
def meanwhile(env: dict[str, str]) -> Iterator[Callable[[], Server]]:
    """Start a server in the background; the block gets a function waiting until it answers."""
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(1) as pool:
        starting = pool.submit(stack.enter_context, running_server(env))
        yield starting.result


@pytest.fixture(scope="package")
def launch(_postgres_available: None) -> Iterator[LaunchDay]:
    """A day of simulated traffic on PostgreSQL, and a server to read its report from."""
    name = f"bp_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    database_url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    try:
        asyncio.run(_migrate(database_url))  # first, so the two servers start side by side
        began = datetime.now(UTC)
        with meanwhile(_env(database_url, "3600")) as second:
            with running_server(_env(database_url, "0.5")) as first:
                day, planned, answered, truth = _traffic(first.url)
            # The first server wrote its last hours as it stopped.
            if datetime.now(UTC).astimezone(ART).date() != began.astimezone(ART).date():
                pytest.skip("the traffic crossed ART midnight: it is not one day's")
            url = second().url
            answer = httpx.get(
                f"{url}{REPORT}",
                params={"date": day.isoformat()},
                headers={"Authorization": f"Bearer {ADMIN}"},
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            yield LaunchDay(
                url=url,
                database_url=database_url,
                day=day,
                planned=planned,
                answered=answered,
                truth=truth,
                report=answer.json(),
            )
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """The monitoring tests' settings, with both tokens."""
    return monitoring_settings(
        database_url, **{"admin_token": ADMIN, "ingest_token": INGEST, **overrides}
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def report_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a fresh SQLite file, with an admin and an ingest token (one per module: its
    tests run in the module's event loop)."""
    database = tmp_path_factory.mktemp("report") / "r.db"
    async with serve(settings_for(f"sqlite+aiosqlite:///{database}")) as client:
        yield client
