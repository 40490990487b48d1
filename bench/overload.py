"""Overload: the launch's mix at twice what the service can serve, with and without emergency mode.

1. A fresh ``barberpro serve`` (one worker, SQLite) holding a day of events, so that its
   business-intelligence report costs what it costs on launch day.
2. Capacity: ``--clients`` closed-loop clients send the mix for ``--seconds``; the rate they
   reach is the service's capacity on this machine (the baseline of the run).
3. The same mix open-loop at ``--factor`` (2) times that capacity for ``--seconds``, first
   without emergency mode, then with it forced on (stage 2, ``POST /optimization/emergency``).
   Per class: answers, p50/p99 of the answers, shed (503 with ``X-BarberPro-Shed``), failures
   and timeouts.

The mix: event ingestion (session starts, actions, funnel steps) 70%, signed MercadoPago
webhooks 5%, dashboards 10%, business-intelligence reports 15%.

Target: with emergency mode, MercadoPago webhooks and ingestion keep p99 <= 150 ms and none are
shed. Traffic goes to 127.0.0.1 only, bounded in count (rate x seconds) and time.

    .venv/bin/python bench/overload.py [--seconds 15] [--factor 2] [--preload 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server import running_server, server_env  # noqa: E402

from barberpro.payments.mercadopago.signature import header_value  # noqa: E402

TOKEN = "bench-overload-admin-token-0123456789abcdef"
SECRET = "bench-overload-webhook-secret"
API = "/api/v1"
MIX = (("ingest", 0.70), ("webhook", 0.05), ("dashboard", 0.10), ("report", 0.15))


def request_for(kind: str, rng: random.Random) -> tuple[str, str, dict[str, str], bytes | None]:
    """Return (method, path, headers, body) of one request of ``kind``."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    if kind == "ingest":
        session = f"s-{rng.randrange(50_000)}"
        route, body = rng.choice(
            (
                ("session/start", {"session_id": session}),
                ("action", {"session_id": session, "action": "view_provider"}),
                ("funnel", {"session_id": session, "step": rng.randint(1, 3)}),
            )
        )
        headers = auth | {"content-type": "application/json"}
        return "POST", f"{API}/analytics/{route}", headers, orjson.dumps(body)
    if kind == "webhook":
        data_id = str(rng.randrange(10**9, 10**10))
        request_id = str(uuid.uuid4())
        ts = str(int(time.time() * 1000))
        headers = {
            "content-type": "application/json",
            "x-request-id": request_id,
            "x-signature": header_value(SECRET, data_id=data_id, request_id=request_id, ts=ts),
        }
        body = orjson.dumps(
            {"type": "payment", "action": "payment.updated", "data": {"id": data_id}}
        )
        return "POST", f"{API}/webhooks/mercadopago?data.id={data_id}&type=payment", headers, body
    if kind == "dashboard":
        return "GET", f"{API}/monitoring/dashboard?window=1m", auth, None
    return "GET", f"{API}/analytics/business-intelligence?providers=20", auth, None


class Tally:
    """Answers per class."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.shed: dict[str, int] = defaultdict(int)
        self.failed: dict[str, int] = defaultdict(int)
        self.sent: dict[str, int] = defaultdict(int)


async def one(
    session: aiohttp.ClientSession, url: str, kind: str, rng: random.Random, tally: Tally
) -> None:
    method, path, headers, body = request_for(kind, rng)
    tally.sent[kind] += 1
    began = time.perf_counter()
    try:
        async with session.request(method, url + path, headers=headers, data=body) as answer:
            await answer.read()
            ms = (time.perf_counter() - began) * 1000
            if answer.status == 503 and "x-barberpro-shed" in answer.headers:
                tally.shed[kind] += 1
            elif answer.status >= 400:
                tally.failed[kind] += 1
            else:
                tally.ms[kind].append(ms)
    except (TimeoutError, aiohttp.ClientError):
        tally.failed[kind] += 1


def _kinds(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for kind, share in MIX:
        total += share
        if roll < total:
            return kind
    return MIX[-1][0]


async def closed_loop(url: str, clients: int, seconds: float) -> float:
    """Return the requests/s ``clients`` closed-loop clients reach."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                await one(session, url, _kinds(rng), rng, tally)

        began = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.monotonic() - began
    return sum(len(v) for v in tally.ms.values()) / elapsed


async def open_loop(url: str, rate: float, seconds: float, seed: int) -> Tally:
    """Send the mix at ``rate`` requests/s for ``seconds``, whatever the answers take."""
    tally = Tally()
    rng = random.Random(seed)
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=1024)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        tasks = set()
        began = time.monotonic()
        count = int(rate * seconds)
        for i in range(count):
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(session, url, _kinds(rng), rng, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return tally


async def preload(url: str, events: int) -> None:
    """Store ``events`` events through the batch route, so the reports have a day to read."""
    rng = random.Random(3)
    auth = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    async with aiohttp.ClientSession() as session:
        for start in range(0, events, 1000):
            batch = []
            for i in range(start, min(events, start + 1000)):
                s = f"p-{i // 8}"
                step = rng.randint(1, 5)
                batch.append(
                    {"type": "funnel", "session_id": s, "step": step}
                    if i % 2
                    else {"type": "action", "session_id": s, "action": "view_provider"}
                )
            async with session.post(
                f"{url}{API}/analytics/batch", data=orjson.dumps({"events": batch}), headers=auth
            ) as answer:
                answer.raise_for_status()


async def emergency(url: str, enabled: bool) -> None:
    """Force emergency mode on or off."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"enabled": enabled, "reason": "bench/overload.py"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}{API}/optimization/emergency", json=body, headers=auth) as answer,
    ):
        answer.raise_for_status()


def report(name: str, tally: Tally) -> None:
    """Print one phase's answers per class."""
    print(f"\n{name}")
    print(
        f"  {'class':<10} {'sent':>6} {'answered':>8} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'shed':>6} {'failed':>6}"
    )
    for kind, _share in MIX:
        ms = sorted(tally.ms[kind])
        p50 = statistics.median(ms) if ms else float("nan")
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
        print(
            f"  {kind:<10} {tally.sent[kind]:>6} {len(ms):>8} {p50:>9.1f} {p99:>9.1f} "
            f"{tally.shed[kind]:>6} {tally.failed[kind]:>6}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--preload", type=int, default=20_000)
    args = parser.parse_args()
    database = Path("/tmp") / f"overload-{uuid.uuid4().hex}.db"
    settings = {
        "database_url": f"sqlite+aiosqlite:///{database}",
        "admin_token": TOKEN,
        "mp_webhook_secret": SECRET,
        "mp_worker_enabled": "false",
    }
    try:
        # Without: the engine off, so that it cannot enter emergency mode by itself.
        with running_server(server_env(**settings, optimization_enabled="false")) as server:
            asyncio.run(preload(server.url, args.preload))
            capacity = asyncio.run(closed_loop(server.url, args.clients, args.seconds))
            rate = capacity * args.factor
            print(
                f"capacity (closed loop, {args.clients} clients): {capacity:.0f} requests/s; "
                f"offered {rate:.0f}/s ({args.factor:g}x) for {args.seconds:g} s"
            )
            without = asyncio.run(open_loop(server.url, rate, args.seconds, seed=1))
        report("without emergency mode (engine off)", without)
        with running_server(server_env(**settings)) as server:
            asyncio.run(emergency(server.url, True))
            with_it = asyncio.run(open_loop(server.url, rate, args.seconds, seed=1))
        report("with emergency mode (forced, stage 2)", with_it)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    for kind in ("ingest", "webhook"):
        ms = sorted(with_it.ms[kind])
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
        ok = p99 <= 150 and with_it.shed[kind] == 0 and with_it.failed[kind] == 0
        print(f"target {kind}: p99 {p99:.1f} ms <= 150, none shed: {'met' if ok else 'missed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
