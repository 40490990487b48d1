"""The traffic model's data and primitives: a stream's shape, its events, and the emitter.

An `Emitter` owns the seeded random generator and places events in time: the model works in
*virtual* seconds from the shape's start and puts each event at ``start + v * scale``. No two
events share a millisecond.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from barberpro.simulator import census

MS = timedelta(milliseconds=1)
ART = timezone(timedelta(hours=-3))
#: The Monday the analytics tests' three-week stream starts on (ART weeks 10-05, 10-12, 10-19).
LAUNCH_WEEK = datetime(2026, 10, 5, tzinfo=ART)
HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True, slots=True)
class Shape:
    """The size and timing of a stream; delays are virtual seconds, ``(low, high)``."""

    start: datetime
    days: float = 21.0
    scale: float = 1.0  # real seconds per virtual second
    users: int = 140
    anonymous: int = 70
    standalone_payments: int = 40
    evenings: bool = True  # sessions mostly in the evening, else evenly over the day
    appointment: tuple[float, float] = (2 * HOUR, 3 * DAY)
    rating: tuple[float, float] = (HOUR / 2, 20 * HOUR)  # after the appointment
    refund: tuple[float, float] = (2 * HOUR, 4 * DAY)
    chargeback: tuple[float, float] = (3 * DAY, 9 * DAY)
    foreign_currency: float = 0.06  # share of payments in USD
    commission_given: float = 0.5  # share of payments that state their commission
    mp_ids: bool = False  # numeric payment ids, as MercadoPago's
    resolution: int = 1000  # microseconds: instants are whole milliseconds, or finer
    tag: str = ""  # before every user, barber and payment id, so that runs do not collide
    barbers: int = 0  # about how many barbers in all; 0: in proportion to the users


@dataclass(frozen=True, slots=True)
class Sent:
    """One event of the stream: its kind (the batch route's ``type``), exact instant and body."""

    kind: str
    at: datetime
    body: dict[str, Any]


@dataclass(slots=True)
class Provider:
    """A barber: id and province."""

    provider_id: str
    province: str


@dataclass(slots=True)
class Journey:
    """How far a unit went in its current booking journey."""

    stage: int = 0
    provider: Provider | None = None
    booking_id: str | None = None
    service_id: str | None = None


@dataclass
class Stream:
    """The unique events of a stream, the channel each session came by, and its send order."""

    seed: int
    shape: Shape
    events: list[Sent] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)  # session_id -> intended channel

    @property
    def bodies(self) -> list[tuple[str, dict[str, Any]]]:
        """Return the unique events as ``(type, body)``."""
        return [(e.kind, e.body) for e in self.events]

    def sent(self, index: int) -> tuple[str, dict[str, Any]]:
        """Return event ``index`` as its client sends it: ``(type, body with its timestamp)``.

        Clients write instants three ways: with ART's offset (60%), in UTC with ``Z`` (25%) or
        naive, which means UTC (15%). Each event keeps its way, a resent one included.
        """
        event = self.events[index]
        roll = (index * 2_654_435_761 + self.seed) % 2**32 / 2**32
        utc = event.at.astimezone(UTC)
        if roll < 0.6:
            text = utc.astimezone(ART).isoformat(timespec="milliseconds")
        elif roll < 0.85:
            text = utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        else:
            text = utc.replace(tzinfo=None).isoformat(timespec="milliseconds")
        return event.kind, {**event.body, "timestamp": text}

    def sends(self, *, late: float = 6 * HOUR) -> list[tuple[float, int]]:
        """Return ``(virtual send time, event index)`` in send order, duplicates included.

        Mostly in time order with a little jitter; 6% arrive late (up to ``late`` virtual
        seconds), 10% of the session starts after their first events, 6% of everything is
        sent a second time, later.
        """
        rng = random.Random(self.seed * 7919 + 1)
        start = self.shape.start
        keyed: list[tuple[float, int]] = []
        for index, event in enumerate(self.events):
            at = (event.at - start).total_seconds() / self.shape.scale
            key = at + rng.uniform(0, late / 12)
            if rng.random() < 0.06 or (event.kind == "session_start" and rng.random() < 0.10):
                key += rng.uniform(late / 10, late)
            keyed.append((key, index))
            if rng.random() < 0.06:
                keyed.append((key + rng.uniform(0, late), index))
        keyed.sort()
        return keyed


def pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...] | list[tuple[Any, int]]) -> Any:
    """Return one item of ``(item, weight)`` pairs."""
    return rng.choices([x for x, _ in weighted], weights=[w for _, w in weighted])[0]


class Emitter:
    """The seeded primitives every part of the model builds on."""

    def __init__(self, seed: int, shape: Shape) -> None:
        self.rng = random.Random(seed)
        self.shape = shape
        self.stream = Stream(seed, shape)
        self.used: set[datetime] = set()
        self.counter = 0
        self.weights = [(p.code, round(p.millions * 100)) for p in census.PROVINCES]
        # Barbers in proportion to their province's people and sign-ups, at least a few in all.
        scale = max(shape.users, 20) / 140
        if shape.barbers > 0:
            scale = shape.barbers / sum(p.millions * p.barbers for p in census.PROVINCES)
        self.providers: list[Provider] = []
        for p in census.PROVINCES:
            for _ in range(round(p.millions * p.barbers * scale)):
                self.providers.append(
                    Provider(f"pr-{shape.tag}{len(self.providers) + 1:03d}", p.code)
                )
        self.by_province: dict[str, list[Provider]] = {}
        for provider in self.providers:
            self.by_province.setdefault(provider.province, []).append(provider)

    # --- primitives --------------------------------------------------------------------------

    def uid(self) -> str:
        """Return a fresh UUID string from the seeded rng."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def place(self, v: float) -> datetime:
        """Return the instant of virtual second ``v``."""
        return self.shape.start + timedelta(seconds=v * self.shape.scale)

    def virtual(self, at: datetime) -> float:
        """Return the virtual second of an instant."""
        return (at - self.shape.start).total_seconds() / self.shape.scale

    def emit(self, kind: str, v: float, body: dict[str, Any]) -> float:
        """Add one event at (about) virtual second ``v``; return its exact virtual second."""
        at = self.place(v).astimezone(UTC)
        step = self.shape.resolution
        at = at.replace(microsecond=at.microsecond // step * step)
        while at in self.used:
            at += timedelta(microseconds=step)
        self.used.add(at)
        body = {k: v for k, v in body.items() if v is not None}
        if kind != "session_start":
            body = {"event_id": self.uid(), **body}
        self.stream.events.append(Sent(kind, at, body))
        return self.virtual(at)

    def spelling(self, code: str) -> str:
        """Return one of the ways people write a province; now and then one nobody can read."""
        if self.rng.random() < 0.015:
            return str(self.rng.choice(census.UNRECOGNISABLE))
        return str(self.rng.choice(census.BY_CODE[code].typed))

    def city(self, code: str) -> str:
        return str(self.rng.choice(census.BY_CODE[code].cities))

    def secs(self, lo: float, hi: float) -> float:
        """Return a random virtual duration between ``lo`` and ``hi`` seconds."""
        return self.rng.uniform(lo, hi)

    def session_time(self, day: float) -> float:
        """Return a start on virtual day ``day``: mostly in the evening, or evenly spread."""
        if not self.shape.evenings:
            return int(day) * DAY + self.secs(0, DAY)
        hours = [(h, 1) for h in range(8)] + [(h, 5) for h in range(8, 17)]
        hour = int(pick(self.rng, [*hours, *((h, 9) for h in range(17, 23)), (23, 6)]))
        return int(day) * DAY + hour * HOUR + self.secs(0, 3599)

    def some_day(self, lo: float = 0.0) -> float:
        return self.rng.uniform(lo, self.shape.days)

    def provider_event(
        self,
        provider: Provider,
        event: str,
        v: float,
        amount: str | None = None,
        rating: int | None = None,
    ) -> None:
        """Emit a provider metric, with the province most of the time."""
        located = self.rng.random() < 0.75
        self.emit(
            "provider_metrics",
            v,
            {
                "provider_id": provider.provider_id,
                "event": event,
                "amount": amount,
                "rating": rating,
                "province": self.spelling(provider.province) if located else None,
                "city": self.city(provider.province)
                if located and self.rng.random() < 0.4
                else None,
            },
        )

    def money(self, currency: str) -> Decimal:
        """Return an amount; a quarter end in 5 centavos (commission rounding half up)."""
        cents = (
            self.rng.randrange(800, 6000)
            if currency == "USD"
            else self.rng.randrange(400_000, 3_500_000)
        )
        if self.rng.random() < 0.25:
            cents = cents // 10 * 10 + 5
        return Decimal(cents) / 100
