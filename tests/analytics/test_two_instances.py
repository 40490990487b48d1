"""Two instances writing one PostgreSQL database at once: each event stored once, every figure
as the reference computes it from the events."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from barberpro.db import tables
from barberpro.db.engine import create_engine
from tests.analytics import reference
from tests.analytics.generate import chunks, generate
from tests.analytics.reference import Reference, parse_range
from tests.analytics.test_reports_exact import API, RANGES, ROUTES, _range_header, diff, reports
from tests.server import running_server, server_env

LANES = 6  # concurrent senders, alternating between the two instances
SIZE = 12  # events per request at most
BOTH_EVERY = 4  # every 4th request of a lane goes to both instances at once, as a retry would


def _key(kind: str, body: dict[str, Any]) -> str:
    return body["session_id"] if kind == "session_start" else body["event_id"]


async def _send(
    http: httpx.AsyncClient, url: str, how: str, items: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, str, int, bool]]:
    """Post one request; return (instance, key, status, duplicate) of each item."""
    if how == "single":
        ((kind, body),) = items
        answer = await http.post(url + ROUTES[kind], json=body)
        results = [answer.json() | {"status": answer.status_code}]
    else:
        events = [{"type": kind, **body} for kind, body in items]
        answer = await http.post(url + API + "/batch", json={"events": events})
        assert answer.status_code == 207, answer.text
        results = answer.json()["results"]
    return [
        (url, _key(kind, body), result["status"], result["duplicate"])
        for (kind, body), result in zip(items, results, strict=True)
    ]


@pytest.mark.slow
async def test_two_instances_store_each_event_once_and_agree_with_the_reference(
    postgres_url: str,
) -> None:
    """Six senders spread a stream (duplicates, late events, refunds...) over two instances,
    a quarter of the requests to both at once: every key is stored by exactly one answer,
    the database holds each event once, and both instances' reports equal the reference."""
    stream = generate(seed=11)
    sends = stream.sends()
    # Small requests, so that the two writers' transactions interleave all along.
    requests = [
        ("single", items) if len(items) == 1 else ("batch", items)
        for _, batch in chunks(sends, seed=11)
        for items in (batch[i : i + SIZE] for i in range(0, len(batch), SIZE))
    ]
    env = server_env(database_url=postgres_url, mp_worker_enabled="false")
    with ExitStack() as stack:
        servers = [stack.enter_context(running_server(env)) for _ in range(2)]
        urls = [server.url for server in servers]
        answers: list[tuple[str, str, int, bool]] = []
        async with httpx.AsyncClient(timeout=30) as http:

            async def lane(j: int) -> None:
                for n, (how, items) in enumerate(requests[j::LANES]):
                    here, there = urls[j % 2], urls[1 - j % 2]
                    if n % BOTH_EVERY == 0:
                        both = await asyncio.gather(
                            _send(http, here, how, items), _send(http, there, how, items)
                        )
                        answers.extend(both[0] + both[1])
                    else:
                        answers.extend(await _send(http, here, how, items))

            await asyncio.gather(*(lane(j) for j in range(LANES)))

            stored: dict[str, int] = defaultdict(int)
            by_instance: dict[str, int] = defaultdict(int)
            for url, key, status, duplicate in answers:
                assert status in (200, 201, 202), (key, status)
                assert (status == 200) is duplicate, (key, status, duplicate)
                stored[key] += not duplicate
                by_instance[url] += not duplicate
            # Both wrote a good share, and the requests sent to both met as duplicates.
            assert min(by_instance[url] for url in urls) > len(sends) / 3, by_instance
            assert sum(duplicate for *_, duplicate in answers) > len(requests) / LANES
            keys = {_key(kind, body) for kind, body in sends}
            assert set(stored) == keys
            assert [k for k, n in stored.items() if n != 1] == []

            ref = Reference(stream.bodies)
            now = reference.micros(datetime.now(UTC))
            problems: list[str] = []
            for url in urls:
                http.base_url = httpx.URL(url)
                for start, end in RANGES:
                    span = parse_range(start, end)
                    dash, bi = await reports(http, start, end)
                    label = f"{url} [{start} .. {end}]"
                    header = {"range": _range_header(span)}
                    expected_dash = header | ref.dashboard(span, now=now)
                    expected_bi = header | ref.business_intelligence(span, now=now)
                    problems += [f"{label} dashboard {p}" for p in diff(expected_dash, dash)]
                    problems += [f"{label} bi {p}" for p in diff(expected_bi, bi)]
            assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:100])

    # Each event once in the database; each session start once among the sessions.
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            events = (await conn.execute(select(func.count()).select_from(tables.events))).scalar()
            started = await conn.execute(
                select(func.count()).select_from(tables.sessions).where(tables.sessions.c.explicit)
            )
    finally:
        await engine.dispose()
    assert events == len({_key(k, b) for k, b in sends if k != "session_start"})
    assert started.scalar() == len({_key(k, b) for k, b in sends if k == "session_start"})
