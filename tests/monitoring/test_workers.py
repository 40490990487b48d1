"""`barberpro serve --workers 2`: one coherent view, no doubled or lost counts."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server import running_server, server_env

pytestmark = pytest.mark.slow

N = 120
ROUTE = "/api/v1/monitoring/test/slow"
SETTLE_S = 20.0  # the dashboard merges the other worker's snapshot, published every 0.2 s here


def _metrics_count(text: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "barberpro_http_requests_total" and sample.labels["route"] == ROUTE:
                total += sample.value
    return total


def _dashboard_count(body: dict[str, object]) -> int:
    routes = body["http"]["routes"]  # type: ignore[index]
    return sum(r["count"] for r in routes if r["route"] == ROUTE)


async def _send(url: str) -> tuple[list[int], Counter[int]]:
    """N requests over 12 concurrent connections, each on a fresh connection."""
    statuses: list[int] = []
    pids: Counter[int] = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(N):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            # A new connection per request lets the kernel hand it to either worker.
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                answer = await client.get(ROUTE, params={"ms": 5})
                statuses.append(answer.status_code)
                pids[answer.json()["pid"]] += 1

    await asyncio.gather(*(worker() for _ in range(12)))
    return statuses, pids


async def test_two_workers_count_every_request_once(tmp_path: Path) -> None:
    """/metrics and the dashboard both count exactly N requests served by two workers."""
    env = server_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        test_routes="true",
        monitoring_share_interval_s="0.2",
        mp_worker_enabled="false",
        alert_enabled="false",
        instance_name="api-test",
    )
    with running_server(env, workers=2) as server:
        statuses, pids = await _send(server.url)
        assert statuses == [200] * N
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            metrics = [_metrics_count((await client.get("/metrics")).text) for _ in range(6)]
            deadline = time.monotonic() + SETTLE_S
            seen: list[int] = []
            served: dict[str, int] = {}
            while time.monotonic() < deadline:
                body = (await client.get("/api/v1/monitoring/dashboard?window=15m")).json()
                seen.append(_dashboard_count(body))
                served = {p["id"]: p["http_requests"] for p in body["processes"]}
                if seen[-1] == N and len(served) >= 2:
                    break
                await asyncio.sleep(0.2)
    # Every scrape, whichever worker answered it, sees all N: the files are merged at scrape.
    assert metrics == [N] * 6
    # The dashboard converges on N and never shows more (a doubled count would overshoot).
    assert seen[-1] == N, server.output()[-3000:]
    assert max(seen) == N
    assert len(served) == 2, served
    # Both workers served part of the load, so the merge was really exercised.
    assert len(pids) == 2, pids
