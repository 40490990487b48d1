"""A live run's plan: a launch day squeezed into ``duration`` seconds, sent at ``rate`` a second.

The plan is a pure function of (seed, duration, rate, payments through MercadoPago or not):
the same arguments give the same events, in the same order, with the same ids and contents.
Instants are relative to the run's start: `Plan.placed` puts them on the clock once the run
begins. The k-th send leaves at ``k / rate`` seconds, so the rate holds whatever the mix; an
event keeps its own instant (a late one was sent after it happened, a session start sometimes
after its first events, a resent one carries its first body again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from barberpro.simulator.stream import ART, DAY, HOUR, Sent, Shape, Stream
from barberpro.simulator.traffic import Traffic

#: Where a plan's instants start before the run places them on the clock.
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Planned:
    """One send: when it leaves (seconds after the start), which event, and whether resent."""

    send: float
    event: int
    resend: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """The stream of a live run and its send schedule."""

    stream: Stream
    sends: tuple[Planned, ...]
    duration: float
    rate: float

    def placed(self, start: datetime) -> list[Sent]:
        """The stream's events with their instants on the clock, ``start`` being the origin."""
        start = start.astimezone(UTC)
        return [Sent(e.kind, start + (e.at - ORIGIN), e.body) for e in self.stream.events]

    def sent(self) -> list[int]:
        """The indexes of the events the plan sends (each once)."""
        return sorted({p.event for p in self.sends})


def live_shape(duration: float, users: int, *, mercadopago: bool, tag: str = "") -> Shape:
    """A launch day in ``duration`` seconds: even traffic, lifecycles within hours."""
    return Shape(
        start=ORIGIN,
        days=1.0,
        scale=duration / DAY,
        users=users,
        anonymous=max(1, users // 2),
        standalone_payments=max(1, users // 8),
        evenings=False,
        appointment=(HOUR / 2, 6 * HOUR),
        rating=(HOUR / 4, 2 * HOUR),
        refund=(HOUR, 8 * HOUR),
        chargeback=(2 * HOUR, 12 * HOUR),
        foreign_currency=0.02,
        commission_given=1.0,
        mp_ids=mercadopago,
        tag=tag,
        resolution=1,  # a thousand events a second and more each keep an instant of their own
    )


def live_plan(seed: int, *, duration: float, rate: float, mercadopago: bool = False) -> Plan:
    """Plan ``round(duration * rate)`` sends over ``duration`` seconds."""
    if duration <= 0 or rate <= 0:
        raise ValueError("the duration and the rate must be positive")
    wanted = max(1, round(duration * rate))
    users = max(4, wanted // 30)
    for _ in range(8):
        shape = live_shape(duration, users, mercadopago=mercadopago, tag=f"{seed}-")
        stream = Traffic(seed, shape).build()
        keyed = [
            (key, index)
            for key, index in stream.sends(late=2 * HOUR)
            if (stream.events[index].at - ORIGIN).total_seconds() < duration
        ]
        if len(keyed) >= wanted:
            break
        users = math.ceil(users * wanted / max(len(keyed), 1) * 1.15)
    else:  # pragma: no cover - the model always grows with its users
        raise RuntimeError("could not plan enough events")
    seen: set[int] = set()
    sends = []
    for k, (_, index) in enumerate(keyed[:wanted]):
        sends.append(Planned(send=k / rate, event=index, resend=index in seen))
        seen.add(index)
    return Plan(stream=stream, sends=tuple(sends), duration=duration, rate=rate)


def timestamp(at: datetime, index: int) -> str:
    """The text of an instant as clients send it: in ART mostly, some in UTC (``Z``), to the
    microsecond (the service keeps microseconds)."""
    if index % 5 == 4:
        return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return at.astimezone(ART).isoformat(timespec="microseconds")
