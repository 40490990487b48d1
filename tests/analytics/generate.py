"""The launch-week stream the exact-figure tests send: the simulator's traffic model, plus edges.

`generate` builds the model's three ART weeks from Monday 2026-10-05 (`LAUNCH_WEEK`, at real
time: scale 1) and adds what only the tests need: events a few seconds either side of every
instant the tests cut a range at (`EDGES`), and a launch push whose two channels convert very
differently (`CAMPAIGN`), last, so that the events before it stay as the model makes them.
Everything is fixed by the seed: ids, instants (no two share a millisecond), bodies, their
``timestamp`` texts (ART offset, ``Z`` or naive UTC) and the order a test sends them in.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from barberpro.simulator import census, people
from barberpro.simulator.stream import ART, HOUR, LAUNCH_WEEK, Journey, Sent, Shape, Stream, pick
from barberpro.simulator.traffic import Traffic

# Instants the tests cut ranges at (day, week and datetime bounds); a scenario straddles each.
EDGES = [
    datetime(2026, 10, 8, tzinfo=ART),
    datetime(2026, 10, 9, 10, 37, tzinfo=ART),
    datetime(2026, 10, 12, tzinfo=ART),
    datetime(2026, 10, 13, tzinfo=ART),
    datetime(2026, 10, 13, 2, 7, 30, tzinfo=UTC),
    datetime(2026, 10, 13, 23, 41, tzinfo=UTC),
    datetime(2026, 10, 15, tzinfo=ART),
    datetime(2026, 10, 16, 21, 13, tzinfo=ART),
]
# A launch push: shared WhatsApp links whose visitors mostly book, Facebook ads whose visitors
# mostly leave after searching. (chance of going on to each step, new users).
CAMPAIGN = {
    "whatsapp": ((1.0, 0.95, 0.9, 0.95, 0.95), 40),
    "facebook": ((1.0, 0.45, 0.5, 0.6, 0.6), 40),
}
# How late the test's sends arrive: up to 30 h late, resent up to 30 h after the first.
LATE = 30 * HOUR


class LaunchWeek(Traffic):
    """The model's stream, then the edges and the campaign."""

    def build(self) -> Stream:
        super().build()
        for i, edge in enumerate(EDGES):
            self.edge(i, self.virtual(edge))
        self.campaign()
        return self.stream

    def campaign(self) -> None:
        """The launch push: new users of two channels converting very differently."""
        for channel, (go_on, users) in CAMPAIGN.items():
            for i in range(users):
                self.session(
                    self.session_time(self.rng.uniform(2, 12)),
                    user_id=f"c-{channel}-{i + 1:03d}",
                    code=pick(self.rng, self.weights),
                    channel=channel,
                    journey=Journey(),
                    explicit=True,
                    go_on=go_on,
                )

    def edge(self, i: int, v: float) -> None:
        """Events a few seconds either side of a range bound (virtual second ``v``), and on it."""
        provider = self.rng.choice(self.providers)
        user, sid = f"edge-u-{i}", f"edge-s-{i}"
        body = self.payment_body(f"mp-edge-{i}", user, provider, "ARS")
        body.pop("commission", None)
        self.emit("revenue", v, {**body, "status": "approved"})  # exactly on the bound
        self.emit("revenue", v + 20, {**body, "status": "approved"})  # notified again
        self.emit("revenue", v + 40, {**body, "status": "refunded"})
        # First approved before the bound, notified again after it: it belongs before.
        early = self.payment_body(f"mp-edge-{i}-early", None, provider, "ARS")
        self.emit("revenue", v - 10, {**early, "status": "approved"})
        self.emit("revenue", v + 7, {**early, "status": "approved"})
        self.emit("revenue", v + 9, {**early, "status": "charged_back"})
        # Two partial refunds either side of the bound: only the first one counts, before.
        partial = self.payment_body(f"mp-edge-{i}-partial", user, provider, "ARS")
        half = str((Decimal(partial["amount"]) / 2).quantize(Decimal("0.01")))
        self.emit("revenue", v - 50, {**partial, "status": "approved"})
        self.emit("revenue", v - 5, {**partial, "amount": half, "status": "refunded"})
        self.emit("revenue", v + 25, {**partial, "amount": half, "status": "refunded"})
        late = self.payment_body(f"mp-edge-{i}-rejected", None, provider, "ARS")
        self.emit("revenue", v - 30, {**late, "status": "in_process"})
        plan = {"installments": 12} if late["payment_type"] == "credit_card" else {}
        self.emit("revenue", v + 15, {**late, **plan, "status": "rejected"})
        self.provider_event(provider, "booking_completed", v)
        self.provider_event(provider, "booking_completed", v - 1)
        self.provider_event(provider, "rating", v + 5, rating=1 + i % 5)
        code = self.rng.choice(census.PROVINCES).code
        typed = census.BY_CODE[code].typed  # the activity feed takes known provinces only
        search = {"province": self.rng.choice(typed), "activity": "search", "count": 5}
        self.emit("activity", v, search)
        booking = {"province": self.rng.choice(typed), "activity": "booking", "count": 3}
        self.emit("activity", v - 1, booking)
        # A session whose first event comes 2 s before its start: it started before the bound.
        self.emit("action", v - 2, {"session_id": sid, "user_id": user, "action": "open_app"})
        self.emit(
            "session_start",
            v + 3,
            {
                "session_id": sid,
                "user_id": user,
                "device": {"type": "mobile"},
                "location": {"province": self.spelling(code), "city": self.city(code)},
                "referral": self.rng.choice(people.REFERRALS["instagram"][0]),
            },
        )
        # A search before the bound whose next steps come after it, then a fresh start after it.
        journey = Journey()
        for k, offset in ((1, -300), (2, 120), (1, 180), (2, 240), (3, 360), (4, 420), (5, 540)):
            journey.stage = k - 1
            self.step(v + offset, sid, user, k, journey, code)


@dataclass
class Launch:
    """The stream as a test sends it: each event's ``(type, body)``, timestamp included."""

    model: Stream
    bodies: list[tuple[str, dict[str, Any]]]

    @property
    def events(self) -> list[Sent]:
        """The unique events with their exact instants (bodies with their timestamp)."""
        return [
            Sent(e.kind, e.at, b) for e, (_, b) in zip(self.model.events, self.bodies, strict=True)
        ]

    def sends(self) -> list[tuple[str, dict[str, Any]]]:
        """Return the events in the order a test sends them, with duplicates (the model's)."""
        return [self.bodies[index] for _, index in self.model.sends(late=LATE)]


def generate(seed: int = 20261005, **sizes: int) -> Launch:
    """Return the seeded stream (about 4,700 events); ``sizes`` are the model's, as ``users``."""
    stream = LaunchWeek(seed, Shape(start=LAUNCH_WEEK, days=21, scale=1, **sizes)).build()
    return Launch(stream, [stream.sent(i) for i in range(len(stream.events))])


def chunks(
    sends: list[tuple[str, dict[str, Any]]], seed: int
) -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """Split the sends into requests: ("batch", items) or ("single", [item]), in order."""
    rng = random.Random(seed)
    i = 0
    while i < len(sends):
        if rng.random() < 0.15:
            yield "single", [sends[i]]
            i += 1
            continue
        size = rng.randint(20, 400)
        yield "batch", sends[i : i + size]
        i += size
