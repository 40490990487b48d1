"""Seeded analytics events for the benchmarks: the simulator's traffic model, as clients POST them.

``generate(n, days=..., seed=..., end_us=...)`` yields ``n`` distinct events (plus the resent
duplicates, flagged) of the simulator's launch (`barberpro.simulator.traffic`) over the last
``days`` ART days ending at ``end_us``, in the order they reach the service (`Stream.sends`:
mostly in time order, some late, some sent twice). The model is sized for ``n``: its clients,
anonymous visitors and standalone payments in its own proportions, barbers as many as a
marketplace of that size has (one per 150 events, 20 to 2,000), MercadoPago's numeric payment
ids. Then trimmed to exactly ``n``: what happens after ``end_us`` is not sent (it has not
happened yet), nor the few events made beyond ``n`` (actions first, then market activity).

Nothing here touches the database: ``bench/analytics.py`` validates and loads the bodies.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from barberpro.analytics.rows import Prepared
from barberpro.argentina import classify_referral
from barberpro.simulator import people
from barberpro.simulator.stream import ART, Shape, Stream
from barberpro.simulator.traffic import Traffic

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Dropped first when the model made more than asked: the events that say least.
_DROP_ORDER = ("action", "activity")


@dataclass(frozen=True, slots=True)
class Generated:
    """One body to submit; ``duplicate`` marks a resend of an event already generated."""

    body: dict[str, Any]
    duplicate: bool


def _check_referrals() -> None:
    """Fail early if a referral form of the model no longer classifies as the channel it is."""
    for channel, (forms, _) in people.REFERRALS.items():
        for form in forms:
            got = classify_referral(
                source=form.get("source"),
                medium=form.get("medium"),
                referrer_url=form.get("referrer_url"),
                landing_url=form.get("landing_url"),
            )
            if got != channel:
                raise AssertionError(f"referral {form} is {got}, expected {channel}")


def shape(users: int, *, start: datetime, days: float, barbers: int) -> Shape:
    """The model's launch at real time over ``days`` from ``start``, for ``users`` clients."""
    return Shape(
        start=start,
        days=days,
        scale=1.0,
        users=users,
        anonymous=max(1, users // 2),
        standalone_payments=max(1, users * 2 // 7),
        barbers=barbers,
        mp_ids=True,
    )


def build(events: int, *, days: int, seed: int, end: datetime) -> Stream:
    """The model's stream over the ``days`` ART days ending at ``end``, with ``events`` or more
    events before ``end``.

    Sized by two small trials: the events grow with the clients (and their visitors and
    payments) on top of what the barbers and the market make whatever the clients.
    """
    first = end.astimezone(ART).date() - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=ART)
    span = (end - start) / timedelta(days=1)
    barbers = min(2000, max(20, events // 150))

    def made(users: int) -> tuple[Stream, int]:
        stream = Traffic(seed, shape(users, start=start, days=span, barbers=barbers)).build()
        return stream, sum(e.at <= end for e in stream.events)

    trial = min(2000, max(20, events // 40))
    (_, low), (_, high) = made(trial), made(2 * trial)
    per_user = max((high - low) / trial, 1.0)
    users = max(4, math.ceil((events - (low - per_user * trial)) / per_user * 1.02))
    for _ in range(8):
        stream, count = made(users)
        if count >= events:
            return stream
        users = math.ceil(users * events / max(count, 1) * 1.02)
    raise RuntimeError(f"the model made {count} events, short of {events}")


def left_out(stream: Stream, events: int, *, end: datetime, seed: int) -> set[int]:
    """The indexes of the events not to send, so that exactly ``events`` are."""
    out: set[int] = set()
    started: set[str] = set()
    for i, e in enumerate(stream.events):
        if e.at > end:
            out.add(i)
        elif e.kind == "session_start":  # two sessions that drew the same id: one goes implicit
            if e.body["session_id"] in started:
                out.add(i)
            started.add(e.body["session_id"])
    surplus = len(stream.events) - len(out) - events
    rng = random.Random(seed)
    for rank in range(len(_DROP_ORDER) + 1):
        if surplus <= 0:
            break
        pool = [i for i, e in enumerate(stream.events) if i not in out and _rank(e.kind) == rank]
        chosen = rng.sample(pool, min(surplus, len(pool)))
        out.update(chosen)
        surplus -= len(chosen)
    return out


def _rank(kind: str) -> int:
    return _DROP_ORDER.index(kind) if kind in _DROP_ORDER else len(_DROP_ORDER)


def generate(events: int, *, days: int, seed: int, end_us: int) -> Iterator[Generated]:
    """Yield ``events`` distinct events (and flagged resends) ending at ``end_us``."""
    _check_referrals()
    end = _EPOCH + timedelta(microseconds=end_us)
    stream = build(events, days=days, seed=seed, end=end)
    out = left_out(stream, events, end=end, seed=seed + 1)
    seen: set[int] = set()
    for _, index in stream.sends():
        if index in out:
            continue
        kind, body = stream.sent(index)
        yield Generated({"type": kind, **body}, index in seen)
        seen.add(index)


# The flat file DuckDB scans: the stored row of every event, session starts included (their
# event_id is the session id and occurred_at their start).
FLAT_COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "type": "VARCHAR",
    "occurred_at": "BIGINT",
    "session_id": "VARCHAR",
    "user_id": "VARCHAR",
    "user_type": "VARCHAR",
    "device_type": "VARCHAR",
    "referral_channel": "VARCHAR",
    "action": "VARCHAR",
    "step": "SMALLINT",
    "booking_id": "VARCHAR",
    "provider_id": "VARCHAR",
    "provider_event": "VARCHAR",
    "rating": "SMALLINT",
    "payment_id": "VARCHAR",
    "amount_cents": "BIGINT",
    "currency": "VARCHAR",
    "status": "VARCHAR",
    "payment_method": "VARCHAR",
    "payment_type": "VARCHAR",
    "installments": "SMALLINT",
    "commission_cents": "BIGINT",
    "province": "VARCHAR",
    "city": "VARCHAR",
    "activity": "VARCHAR",
    "count": "INTEGER",
}
_EVENT_TAIL = tuple(FLAT_COLUMNS)[8:]  # action .. count


def flat_row(item: Prepared) -> list[Any]:
    """Return the flat-file row of a prepared event or session start."""
    row = item.row
    if item.kind == "session":
        return [
            row["session_id"],
            "session_start",
            row["started_at"],
            row["session_id"],
            row["user_id"],
            row["user_type"],
            row["device_type"],
            row["referral_channel"],
            *[None] * 14,  # action .. commission_cents
            row["province"],
            row["city"],
            None,
            None,
        ]
    head = [row["event_id"], row["type"], row["occurred_at"], row["session_id"], row["user_id"]]
    return [*head, None, None, None, *(row[c] for c in _EVENT_TAIL)]
