"""End to end: the real ``barberpro serve`` process, the stand-in on loopback, real databases.

"Exactly once" is counted where it matters: every acknowledged webhook's payment is stored as
one revenue event (none missing, none twice), every notification row ends done, and the
monitoring layer records one successful processing per webhook. Fetches from the stand-in are
at least once: an answer that arrives after the client gave up is fetched again.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from barberpro.db import tables
from barberpro.db.engine import create_engine
from barberpro.payments.mercadopago.sandbox import Sandbox, serving
from tests.payments.conftest import ACCESS_TOKEN, SECRET, wait_for
from tests.server import Server, free_port, running_server, server_env

pytestmark = pytest.mark.slow

WEBHOOK = "/api/v1/webhooks/mercadopago"
N = tables.mp_notifications


def _env(database_url: str, api_url: str, **extra: str) -> dict[str, str]:
    settings = {
        "database_url": database_url,
        "env": "development",
        "log_level": "warning",
        "mp_api_url": api_url,
        "mp_webhook_secret": SECRET,
        "mp_access_token": ACCESS_TOKEN,
        "mp_retry_base_s": "0.05",
        "mp_retry_cap_s": "1",
        "mp_call_backoff_base_s": "0.02",
        "mp_call_backoff_cap_s": "2",
        "mp_breaker_reset_s": "0.5",
        "mp_poll_s": "0.05",
        # Generous: on a busy machine a slow answer is not what these tests are about.
        "mp_http_timeout_s": "10",
        "mp_worker_concurrency": "16",
        "mp_max_attempts": "30",
        "mp_lease_s": "60",
    }
    settings.update(extra)
    return server_env(**settings)


@asynccontextmanager
async def _server(env: dict[str, str]) -> AsyncIterator[Server]:
    """``running_server`` started and stopped off the event loop, so the stand-in keeps serving."""
    manager = running_server(env)
    server = await asyncio.to_thread(manager.__enter__)
    try:
        yield server
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def _send_all(
    url: str, sandbox: Sandbox, payment_ids: Sequence[int], *, concurrency: int = 32
) -> list[tuple[dict[str, str], dict[str, str], dict[str, Any]]]:
    """Send one signed webhook per payment; return what was sent. Every answer must be 200."""
    sent = [sandbox.webhook(data_id=str(pid)) for pid in payment_ids]
    gate = asyncio.Semaphore(concurrency)
    wrong: list[str] = []

    async def one(http: httpx.AsyncClient, query: Any, headers: Any, body: Any) -> None:
        async with gate:
            answer = await http.post(WEBHOOK, params=query, headers=headers, json=body)
        if answer.status_code != 200 or answer.json()["duplicate"]:
            wrong.append(f"{answer.status_code} {answer.text[:200]}")

    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await asyncio.gather(*(one(http, *item) for item in sent))
    assert not wrong, f"{len(wrong)} webhooks not acknowledged, e.g. {wrong[:3]}"
    return sent


class Audit:
    """Reads the notifications, revenue events and payment states straight from the database."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)

    async def statuses(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(N.c.status, func.count()).group_by(N.c.status))
            return {str(s): int(n) for s, n in rows.tuples()}

    async def drained(self, expected: int) -> bool:
        statuses = await self.statuses()
        return statuses.get("done", 0) + statuses.get("dead", 0) >= expected

    async def revenue_per_payment(self) -> dict[str, int]:
        ev = tables.events
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(ev.c.payment_id, func.count())
                .where(ev.c.type == "revenue")
                .group_by(ev.c.payment_id)
            )
            return {str(p): int(n) for p, n in rows.tuples()}

    async def payment_states(self) -> dict[str, str]:
        pay = tables.payments
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(pay.c.payment_id, pay.c.status))
            return {str(p): str(s) for p, s in rows.tuples()}

    async def close(self) -> None:
        await self.engine.dispose()


async def _metric(url: str, name: str, labels: dict[str, str]) -> float | None:
    """Return one sample of the server's /metrics, None when it is not exposed."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        answer = await http.get("/metrics")
    if answer.status_code != 200:
        return None
    for line in answer.text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return None


async def test_a_thousand_webhooks_with_transient_failures_are_processed_exactly_once(
    database_url: str,
) -> None:
    """1,000 webhooks, 20% of API calls failing (5xx, 429 + Retry-After): each stored once."""
    sandbox = Sandbox(access_token=ACCESS_TOKEN, webhook_secret=SECRET, seed=11)
    sandbox.set_faults(error_rate=0.10, rate_limit_rate=0.10, retry_after_s=1, seed=11)
    ids = list(range(3_000_000, 3_001_000))
    audit = Audit(database_url)
    try:
        env = {"mp_worker_concurrency": "64"}  # the 429s' Retry-After waits overlap
        async with serving(sandbox.app) as api, _server(_env(database_url, api, **env)) as server:
            started = time.monotonic()
            sent = await _send_all(server.url, sandbox, ids)
            acked = time.monotonic() - started
            # MercadoPago redelivers: the same notifications again are recognised, not requeued.
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                for query, headers, body in sent[:100]:
                    again = await http.post(WEBHOOK, params=query, headers=headers, json=body)
                    assert again.json()["duplicate"] is True
            await wait_for(lambda: audit.drained(len(ids)), within_s=90, what="1,000 processed")
            drained = time.monotonic() - started
            successes = await _metric(
                server.url,
                "barberpro_payment_webhooks_total",
                {"provider": "mercadopago", "event_type": "payment", "outcome": "success"},
            )
        print(
            f"\n1,000 webhooks: acknowledged in {acked:.2f} s ({len(ids) / acked:.0f}/s), "
            f"all processed in {drained:.2f} s ({len(ids) / drained:.0f}/s); "
            f"stand-in answers {dict(sandbox.requests)}, "
            f"payments fetched more than once: {sum(n > 1 for n in sandbox.served.values())}"
        )
        assert await audit.statuses() == {"done": len(ids)}
        expected = {str(pid): 1 for pid in ids}
        assert await audit.revenue_per_payment() == expected
        assert await audit.payment_states() == {str(pid): "approved" for pid in ids}
        # Each payment fetched (a fetch whose answer came too late is retried, so at least once).
        assert all(sandbox.served[str(pid)] >= 1 for pid in ids)
        injected = sandbox.requests["5xx"] + sandbox.requests["429"]
        assert injected >= 100, f"only {injected} faults were injected"
        # The monitoring layer saw each webhook succeed exactly once.
        assert successes == len(ids)
    finally:
        await audit.close()


async def test_queue_drains_after_the_api_comes_back(database_url: str) -> None:
    """With the stand-in down webhooks queue up and the breaker opens; back up, all drain once."""
    sandbox = Sandbox(access_token=ACCESS_TOKEN, webhook_secret=SECRET, seed=12)
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    ids = list(range(4_000_000, 4_000_150))
    audit = Audit(database_url)
    try:
        async with _server(_env(database_url, api)) as server:
            async with serving(sandbox.app, port=port):
                pass  # up once, then down: connections are refused from here on
            await _send_all(server.url, sandbox, ids)
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:

                async def breaker_opened() -> bool:
                    circuit = (await http.get("/api/v1/payments/status")).json()["circuit"]
                    return int(circuit["opened_count"]) >= 1

                await wait_for(breaker_opened, what="the circuit breaker to open")
                assert (await audit.statuses()).get("done", 0) == 0
                assert (await audit.statuses()).get("dead", 0) == 0
                async with serving(sandbox.app, port=port):
                    await wait_for(lambda: audit.drained(len(ids)), within_s=60, what="drain")
                status = (await http.get("/api/v1/payments/status")).json()
        assert await audit.statuses() == {"done": len(ids)}
        expected = {str(pid): 1 for pid in ids}
        assert await audit.revenue_per_payment() == expected
        assert all(sandbox.served[str(pid)] >= 1 for pid in ids)
        assert status["dead_letters"] == 0
        assert status["circuit"]["state"] == "closed"
    finally:
        await audit.close()


async def test_a_sigkilled_service_loses_nothing_of_its_full_queue(database_url: str) -> None:
    """SIGKILL with most notifications still queued; after restart each is processed once."""
    sandbox = Sandbox(access_token=ACCESS_TOKEN, webhook_secret=SECRET, seed=13)
    sandbox.set_faults(latency_ms=500)
    ids = list(range(5_000_000, 5_000_200))
    audit = Audit(database_url)
    extra = {"mp_worker_concurrency": "4", "mp_lease_s": "2"}
    try:
        async with serving(sandbox.app) as api:
            env = _env(database_url, api, **extra)
            async with _server(env) as server:
                await _send_all(server.url, sandbox, ids)
                await asyncio.to_thread(server.kill)
            before = await audit.statuses()
            assert sum(before.values()) == len(ids), "an acknowledged webhook was not stored"
            waiting = before.get("pending", 0) + before.get("processing", 0)
            assert waiting >= len(ids) // 2, f"the queue was not full at the kill: {before}"
            sandbox.set_faults(latency_ms=0)
            async with _server({**env, "BARBERPRO_MP_WORKER_CONCURRENCY": "32"}):
                await wait_for(lambda: audit.drained(len(ids)), within_s=60, what="drain")
        assert await audit.statuses() == {"done": len(ids)}
        assert await audit.revenue_per_payment() == {str(pid): 1 for pid in ids}
        assert len(await audit.payment_states()) == len(ids)
        assert all(sandbox.served[str(pid)] >= 1 for pid in ids)
    finally:
        await audit.close()
