"""Send a plan to a running service over HTTP, on schedule, and say how it went.

The simulator is a client: it speaks the service's public API (and, with a MercadoPago
stand-in, the stand-in's control API) and nothing else. Each send leaves at its planned time
without waiting for the ones before it (at most ``concurrency`` in flight); a transport error,
a 429 or a 5xx is retried with the same body, which the service stores once. The achieved rate
is measured over the sends and printed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson

from barberpro.simulator.mercadopago import Checkout
from barberpro.simulator.plan import Plan, timestamp
from barberpro.simulator.sockets import Sockets
from barberpro.simulator.stream import Sent

API = "/api/v1/analytics"
ROUTES = {
    "session_start": f"{API}/session/start",
    "action": f"{API}/action",
    "funnel": f"{API}/funnel",
    "provider_metrics": f"{API}/provider/metrics",
    "revenue": f"{API}/revenue",
    "activity": f"{API}/argentina/activity",
}
_RETRIES = 4


@dataclass(slots=True)
class Outcome:
    """What a run sent and how the service answered."""

    start: datetime
    end: datetime
    events: list[Sent]  # every event the run sent, with its instant on the clock
    sends: int = 0
    elapsed: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    sockets: dict[str, int] = field(default_factory=dict)
    payments: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """The sends per second achieved."""
        return self.sends / self.elapsed if self.elapsed > 0 else 0.0


def body_of(event: Sent, index: int) -> dict[str, Any]:
    """The JSON an event is sent with: its body and its instant as a client writes it."""
    return {**event.body, "timestamp": timestamp(event.at, index)}


async def run(
    plan: Plan,
    url: str,
    *,
    token: str | None = None,
    mp_sandbox: str | None = None,
    sockets: int = 0,
    concurrency: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Send ``plan`` to the service at ``url``; return what was sent and how it was answered."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers["Content-Type"] = "application/json"
    # aiohttp rather than httpx for the events: at 64 requests in flight httpx spent 4 ms of
    # CPU per request on the benchmark machine, aiohttp 0.15 ms (docs/BENCHMARKS.md).
    async with aiohttp.ClientSession(
        base_url=url,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=30.0),
        connector=aiohttp.TCPConnector(limit=concurrency),
    ) as client:
        start = datetime.now(UTC)
        start = start.replace(microsecond=start.microsecond // 1000 * 1000)
        events = plan.placed(start)
        outcome = Outcome(
            start=start,
            end=start,
            events=[events[i] for i in plan.sent()],
        )
        checkout = Checkout(mp_sandbox, url) if mp_sandbox else None
        crowd = Sockets(url, token, count=sockets, duration=plan.duration, seed=plan.stream.seed)
        gate = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()
        crowd_task = asyncio.create_task(crowd.run())
        began = time.monotonic()
        for done, planned in enumerate(plan.sends, start=1):
            delay = began + planned.send - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()
            event = events[planned.event]
            body = body_of(event, planned.event)
            if checkout is not None and event.kind == "revenue":
                job = checkout.notify(event, resend=planned.resend)
            else:
                job = _post(client, ROUTES[event.kind], body, outcome)
            task = asyncio.create_task(_released(job, gate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            outcome.sends = done
            if progress is not None:
                progress(done, len(plan.sends))
        outcome.elapsed = time.monotonic() - began
        await asyncio.gather(*tasks)
        if checkout is not None:
            await checkout.settle(token)
            outcome.payments = checkout.counts()
            outcome.failures.extend(checkout.failures)
        outcome.sockets = await crowd_task
    latest = max((e.at for e in outcome.events), default=start)
    outcome.end = max(latest, start) + timedelta(milliseconds=1)
    return outcome


async def _released(job: Any, gate: asyncio.Semaphore) -> None:
    try:
        await job
    finally:
        gate.release()


async def _post(
    client: aiohttp.ClientSession, path: str, body: dict[str, Any], outcome: Outcome
) -> None:
    """POST one event, retrying what a retry can mend (the service stores it once)."""
    rng = random.Random(str(body.get("event_id") or body.get("session_id")))
    data = orjson.dumps(body)
    for attempt in range(_RETRIES):
        try:
            async with client.post(path, data=data) as answer:
                status, text = answer.status, await answer.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            if attempt == _RETRIES - 1:
                outcome.failures.append(f"{path}: {exc.__class__.__name__}")
                return
        else:
            if status != 429 and status < 500:
                outcome.statuses[status] += 1
                if status >= 300:
                    outcome.failures.append(f"{path} {status}: {text[:300]}")
                return
            if attempt == _RETRIES - 1:
                outcome.statuses[status] += 1
                outcome.failures.append(f"{path} {status}: {text[:300]}")
                return
        await asyncio.sleep(0.2 * 2**attempt * (0.5 + rng.random()))
