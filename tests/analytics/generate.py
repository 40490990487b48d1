"""Seeded, realistic launch-week event streams for the exact-figure tests.

Everything is fixed by the seed: ids, timestamps (explicit, around a base day in the past),
bodies, and the order the test sends them in (mostly chronological with jitter, some events
sent hours late, some sent twice). No two events share a timestamp, so the doc's tie rules
("latest status", "earliest event") never depend on storage order.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

ART = timezone(timedelta(hours=-3))
# A Monday, so the ART weeks of the stream are 10-05, 10-12, 10-19 (and a little of 10-26).
BASE = datetime(2026, 10, 5, tzinfo=ART)
DAYS = 21
MS = timedelta(milliseconds=1)

# (ISO code, spellings a client may send, cities, weight of its users).
PROVINCES: list[tuple[str, list[str], list[str], int]] = [
    (
        "AR-C",
        ["CABA", "Capital Federal", "AR-C", "Ciudad Autónoma de Buenos Aires"],
        ["Palermo", "Recoleta", "Caballito", "Belgrano"],
        30,
    ),
    ("AR-B", ["Buenos Aires", "AR-B"], ["La Plata", "Mar del Plata", "Quilmes"], 22),
    ("AR-X", ["Córdoba", "Cordoba", "AR-X"], ["Córdoba", "Villa Carlos Paz"], 14),
    ("AR-S", ["Santa Fe", "AR-S"], ["Rosario", "Santa Fe"], 10),
    ("AR-M", ["Mendoza", "AR-M"], ["Mendoza", "Godoy Cruz"], 7),
    ("AR-T", ["Tucumán", "Tucuman", "AR-T"], ["San Miguel de Tucumán"], 6),
    ("AR-Q", ["Neuquén", "Neuquen", "AR-Q"], ["Neuquén"], 5),  # demand, no barbers
    ("AR-A", ["Salta", "AR-A"], ["Salta"], 4),
    ("AR-E", ["Entre Ríos", "Entre Rios", "AR-E"], ["Paraná"], 2),  # too little demand
]
PROVIDERS_PER_PROVINCE = {"AR-C": 7, "AR-B": 6, "AR-X": 4, "AR-S": 3, "AR-M": 2, "AR-T": 2}
PROVIDERS_PER_PROVINCE["AR-A"] = 2

REFERRALS: dict[str, list[dict[str, str]]] = {
    "whatsapp": [
        {"referrer_url": "https://wa.me/5491155550000"},
        {"referrer_url": "https://api.whatsapp.com/send?phone=5491155550000"},
        {"source": "whatsapp", "medium": "social"},
        {"landing_url": "https://barberpro.com.ar/?utm_source=whatsapp&utm_medium=share"},
    ],
    "instagram": [
        {"referrer_url": "https://l.instagram.com/?u=https%3A%2F%2Fbarberpro.com.ar"},
        {"source": "ig", "referrer_url": "https://l.instagram.com/"},
        # The source wins over the referrer host.
        {"source": "instagram", "medium": "story", "referrer_url": "https://www.google.com/"},
    ],
    "facebook": [
        {"referrer_url": "https://l.facebook.com/l.php?u=https%3A%2F%2Fbarberpro.com.ar"},
        {"referrer_url": "https://m.facebook.com/"},
        {"source": "facebook", "medium": "cpc", "campaign": "lanzamiento"},
    ],
    "google": [
        {"referrer_url": "https://www.google.com.ar/"},
        {"referrer_url": "https://www.google.com/search?q=barberia+palermo"},
        {"source": "google", "medium": "cpc", "campaign": "barberos"},
    ],
    "direct": [{}, {"landing_url": "https://barberpro.com.ar/"}],
    "other": [
        {"referrer_url": "https://www.clarin.com/sociedad/barberias.html"},
        {"referrer_url": "https://t.co/x1y2z3"},
        {"source": "newsletter", "referrer_url": "https://mail.example.com/inbox"},
    ],
}
CHANNEL_WEIGHTS = {
    "whatsapp": 30,
    "instagram": 25,
    "google": 15,
    "facebook": 10,
    "direct": 12,
    "other": 8,
}
DEVICES = [
    ({"type": "mobile", "os": "android", "browser": "chrome"}, 45),
    ({"type": "mobile", "os": "ios", "browser": "safari"}, 22),
    ({"type": "desktop", "os": "windows", "browser": "chrome"}, 20),
    ({"type": "tablet", "os": "ipados", "browser": "safari"}, 7),
    ({"os": "linux"}, 3),  # no device type: reported as unknown
]
ACTIONS = [
    ("open_app", 30),
    ("search_providers", 25),
    ("view_provider", 22),
    ("read_reviews", 12),
    ("filter_price", 10),
    ("view_map", 8),
    ("favorite_add", 6),
    ("share_profile", 4),
    ("login", 4),
    ("logout", 3),
    ("contact_support", 1),
]
METHODS = [
    ("visa", "credit_card", 30),
    ("master", "credit_card", 22),
    ("naranja", "credit_card", 8),
    ("debvisa", "debit_card", 15),
    ("account_money", "account_money", 18),
    ("rapipago", "ticket", 7),
]
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
STEP_NAMES = ("search", "provider_view", "slot_selected", "booking_created", "payment_completed")
# Probability of going on to step k (index k-1) once the previous step is done.
CONTINUE = (1.0, 0.85, 0.7, 0.75, 0.8)
# A launch push, last in the stream (the events before it stay as they were): shared WhatsApp
# links whose visitors mostly book, Facebook ads whose visitors mostly leave after searching.
CAMPAIGN = {
    "whatsapp": ((1.0, 0.95, 0.9, 0.95, 0.95), 40),
    "facebook": ((1.0, 0.45, 0.5, 0.6, 0.6), 40),
}


def pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    """Return one item of ``(item, weight)`` pairs."""
    return rng.choices([x for x, _ in weighted], weights=[w for _, w in weighted])[0]


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
    """The unique events of a stream, each with its time, plus the seed of its send order."""

    seed: int
    events: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def bodies(self) -> list[tuple[str, dict[str, Any]]]:
        """Return the unique events as ``(type, body)``."""
        return [(kind, body) for _, kind, body in self.events]

    def sends(self) -> list[tuple[str, dict[str, Any]]]:
        """Return the events in the order a test sends them, with duplicates.

        Mostly chronological with up to an hour of jitter; 6% arrive 3-30 h late, 10% of the
        session starts after their events, and 6% of everything is sent a second time.
        """
        rng = random.Random(self.seed * 7919 + 1)
        keyed: list[tuple[float, int, str, dict[str, Any]]] = []
        for index, (at, kind, body) in enumerate(self.events):
            key = at.timestamp() + rng.uniform(-1800, 1800)
            if rng.random() < 0.06 or (kind == "session_start" and rng.random() < 0.10):
                key += rng.uniform(3 * 3600, 30 * 3600)
            keyed.append((key, index, kind, body))
            if rng.random() < 0.06:
                keyed.append((key + rng.uniform(0, 2 * 86400), index, kind, body))
        keyed.sort(key=lambda k: (k[0], k[1]))
        return [(kind, body) for _, _, kind, body in keyed]


class Generator:
    """Builds one stream; every random choice comes from the seeded ``rng``."""

    def __init__(self, seed: int, *, users: int = 140, anonymous: int = 70) -> None:
        self.rng = random.Random(seed)
        self.stream = Stream(seed)
        self.used: set[datetime] = set()
        self.n_users = users
        self.n_anonymous = anonymous
        self.counter = 0
        self.providers: list[Provider] = []
        for code, n in PROVIDERS_PER_PROVINCE.items():
            for _ in range(n):
                self.providers.append(Provider(f"pr-{len(self.providers) + 1:02d}", code))

    # --- primitives --------------------------------------------------------------------------

    def uid(self) -> str:
        """Return a fresh UUID string from the seeded rng."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def stamp(self, at: datetime) -> tuple[datetime, str]:
        """Return a unique millisecond instant near ``at`` and its ISO text (varied offsets)."""
        at = at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)
        while at in self.used:
            at += MS
        self.used.add(at)
        roll = self.rng.random()
        if roll < 0.6:
            text = at.astimezone(ART).isoformat(timespec="milliseconds")
        elif roll < 0.85:
            text = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        else:  # naive timestamps are UTC
            text = at.replace(tzinfo=None).isoformat(timespec="milliseconds")
        return at, text

    def emit(self, kind: str, at: datetime, body: dict[str, Any]) -> datetime:
        """Add one event at (about) ``at``; return its exact instant."""
        exact, text = self.stamp(at)
        body = {k: v for k, v in body.items() if v is not None}
        body["timestamp"] = text
        if kind != "session_start":
            body = {"event_id": self.uid(), **body}
        self.stream.events.append((exact, kind, body))
        return exact

    def spelling(self, code: str) -> str:
        """Return one of the ways a client writes a province."""
        return str(self.rng.choice(next(p[1] for p in PROVINCES if p[0] == code)))

    def city(self, code: str) -> str:
        """Return a city of a province."""
        return str(self.rng.choice(next(p[2] for p in PROVINCES if p[0] == code)))

    def secs(self, lo: float, hi: float) -> timedelta:
        """Return a random duration between ``lo`` and ``hi`` seconds."""
        return timedelta(seconds=self.rng.uniform(lo, hi))

    def session_time(self, day: float) -> datetime:
        """Return a start time on ART day ``day`` (an offset from BASE), mostly in the evening."""
        hour = pick(
            self.rng,
            [(h, 1) for h in range(0, 8)]
            + [(h, 5) for h in range(8, 17)]
            + [(h, 9) for h in range(17, 23)]
            + [(23, 6)],
        )
        return BASE + timedelta(days=int(day), hours=hour) + self.secs(0, 3599)

    # --- the stream --------------------------------------------------------------------------

    def build(self) -> Stream:
        """Generate users, anonymous visitors, barbers, payments and market activity."""
        for i in range(self.n_users):
            self.user(f"u-{i + 1:04d}")
        for _ in range(self.n_anonymous):
            self.anonymous()
        for provider in self.providers:
            self.provider_sessions(provider)
            self.walk_ins(provider)
        for _ in range(40):
            self.standalone_payment()
        self.activity()
        for i, edge in enumerate(EDGES):
            self.edge(i, edge)
        self.campaign()
        return self.stream

    def campaign(self) -> None:
        """The launch push: new users of two channels converting very differently."""
        for channel, (go_on, users) in CAMPAIGN.items():
            for i in range(users):
                code = pick(self.rng, [(p[0], p[3]) for p in PROVINCES])
                self.session(
                    self.session_time(self.rng.uniform(2, 12)),
                    user_id=f"c-{channel}-{i + 1:03d}",
                    code=code,
                    channel=channel,
                    journey=Journey(),
                    explicit=True,
                    go_on=go_on,
                )

    def edge(self, i: int, at: datetime) -> None:
        """Events a few seconds either side of a range bound, and exactly on it."""
        s = timedelta(seconds=1)
        provider = self.providers[i % len(self.providers)]
        body = self.payment_body(f"mp-edge-{i}", f"edge-u-{i}", provider, "ARS")
        body.pop("commission", None)
        self.emit("revenue", at, {**body, "status": "approved"})  # exactly on the bound
        self.emit("revenue", at + 20 * s, {**body, "status": "approved"})  # notified again
        self.emit("revenue", at + 40 * s, {**body, "status": "refunded"})
        # First approved before the bound, notified again after it: it belongs before.
        early = self.payment_body(f"mp-edge-{i}-early", None, provider, "ARS")
        self.emit("revenue", at - 10 * s, {**early, "status": "approved"})
        self.emit("revenue", at + 7 * s, {**early, "status": "approved"})
        self.emit("revenue", at + 9 * s, {**early, "status": "charged_back"})
        # Two partial refunds either side of the bound: only the first one counts, before.
        partial = self.payment_body(f"mp-edge-{i}-partial", f"edge-u-{i}", provider, "ARS")
        half = str((Decimal(partial["amount"]) / 2).quantize(Decimal("0.01")))
        self.emit("revenue", at - 50 * s, {**partial, "status": "approved"})
        self.emit("revenue", at - 5 * s, {**partial, "amount": half, "status": "refunded"})
        self.emit("revenue", at + 25 * s, {**partial, "amount": half, "status": "refunded"})
        late = self.payment_body(f"mp-edge-{i}-rejected", None, provider, "ARS")
        self.emit("revenue", at - 30 * s, {**late, "status": "in_process"})
        self.emit("revenue", at + 15 * s, {**late, "installments": 12, "status": "rejected"})
        self.provider_event(provider, "booking_completed", at)
        self.provider_event(provider, "booking_completed", at - s)
        self.provider_event(provider, "rating", at + 5 * s, rating=1 + i % 5)
        code = self.rng.choice([p[0] for p in PROVINCES])
        self.emit(
            "activity", at, {"province": self.spelling(code), "activity": "search", "count": 5}
        )
        self.emit(
            "activity", at - s, {"province": self.spelling(code), "activity": "booking", "count": 3}
        )
        # A session whose first event comes 2 s before its start: it started before the bound.
        sid = f"edge-s-{i}"
        user = f"edge-u-{i}"
        self.emit("action", at - 2 * s, {"session_id": sid, "user_id": user, "action": "open_app"})
        self.emit(
            "session_start",
            at + 3 * s,
            {
                "session_id": sid,
                "user_id": user,
                "device": {"type": "mobile"},
                "location": {"province": self.spelling(code), "city": self.city(code)},
                "referral": self.rng.choice(REFERRALS["instagram"]),
            },
        )
        # A search before the bound whose next steps come after it, then a fresh start after it.
        journey = Journey()
        for k, offset in ((1, -300), (2, 120), (1, 180), (2, 240), (3, 360), (4, 420), (5, 540)):
            journey.stage = k - 1
            self.step(at + offset * s, sid, user, k, journey)

    def user(self, user_id: str) -> None:
        """A client: a home province, an acquisition channel and 1-5 sessions."""
        code = pick(self.rng, [(p[0], p[3]) for p in PROVINCES])
        channel = pick(self.rng, list(CHANNEL_WEIGHTS.items()))
        day = self.rng.uniform(-1, DAYS - 3)
        journey = Journey()
        for n in range(self.rng.choice([1, 1, 2, 2, 3, 3, 4, 5])):
            if day >= DAYS:
                break
            start = self.session_time(day)
            later = channel if n == 0 else pick(self.rng, [(channel, 1), ("direct", 1)])
            self.session(
                start,
                user_id=user_id,
                code=code,
                channel=later,
                journey=journey,
                explicit=self.rng.random() < 0.82,
            )
            day += self.rng.choice([0.0, 0.6, 1, 1, 2, 3, 5, 7, 8])

    def anonymous(self) -> None:
        """A visitor without an account: one session, its own funnel unit."""
        code = pick(self.rng, [(p[0], p[3]) for p in PROVINCES])
        channel = pick(self.rng, list(CHANNEL_WEIGHTS.items()))
        start = self.session_time(self.rng.uniform(-1, DAYS))
        self.session(
            start,
            user_id=None,
            code=code,
            channel=channel,
            journey=Journey(),
            explicit=self.rng.random() < 0.75,
        )

    def session(
        self,
        start: datetime,
        *,
        user_id: str | None,
        code: str,
        channel: str,
        journey: Journey,
        explicit: bool,
        go_on: tuple[float, ...] = CONTINUE,
    ) -> None:
        """One session: its start (or none: implicit), actions and funnel steps."""
        sid = self.uid() if self.rng.random() < 0.5 else f"s-{self.rng.getrandbits(40):010x}"
        cursor = start
        if explicit:
            location: dict[str, str] = {}
            if self.rng.random() < 0.9:
                location["province"] = self.spelling(code)
                if self.rng.random() < 0.5:
                    location["city"] = self.city(code)
            body: dict[str, Any] = {
                "session_id": sid,
                "user_id": user_id,
                "user_type": "client",
                "device": pick(self.rng, DEVICES),
                "location": location,
                "referral": self.rng.choice(REFERRALS[channel]),
            }
            if user_id is None:
                body["anonymous_id"] = f"anon-{self.rng.getrandbits(32):08x}"
            cursor = self.emit("session_start", start, body) + self.secs(1, 40)
        length = self.secs(60, 40 * 60)
        for _ in range(self.rng.choice([0, 1, 1, 2, 2, 3, 4, 6])):
            self.emit(
                "action",
                cursor + self.secs(0, length.total_seconds()),
                {
                    "session_id": sid,
                    "user_id": user_id,
                    "action": pick(self.rng, ACTIONS),
                    "properties": {"screen": self.rng.choice(["home", "map", "profile"])},
                },
            )
        # Some logged-in sessions send their funnel events without user_id: the unit is then
        # the session, not the user.
        funnel_user = user_id if self.rng.random() < 0.95 else None
        if funnel_user is None and user_id is not None:
            journey = Journey()
        if self.rng.random() < 0.8:
            self.funnel(cursor + self.secs(0, 120), sid, funnel_user, journey, go_on=go_on)
        elif not explicit:  # an implicit session needs at least one event
            self.emit("action", cursor, {"session_id": sid, "user_id": user_id, "action": "ping"})

    def funnel(
        self,
        at: datetime,
        sid: str,
        user_id: str | None,
        journey: Journey,
        *,
        go_on: tuple[float, ...] = CONTINUE,
    ) -> None:
        """Go through the funnel from where the journey stopped, or start over."""
        if journey.stage in (0, 5) or self.rng.random() < 0.3:
            journey.stage = 0
        if self.rng.random() < 0.03:  # a step reported before its search (client clock skew)
            self.step(at - self.secs(5, 60), sid, user_id, 2, journey)
        while journey.stage < 5:
            nxt = journey.stage + 1
            if self.rng.random() > go_on[nxt - 1]:
                return
            if journey.stage > 0:
                at += self.secs(8, 15 * 60)
            self.step(at, sid, user_id, nxt, journey)
            if self.rng.random() < 0.06:  # the same step again (back button, reload)
                at += self.secs(3, 300)
                self.step(at, sid, user_id, nxt, journey)
            journey.stage = nxt

    def step(self, at: datetime, sid: str, user_id: str | None, k: int, journey: Journey) -> None:
        """Emit funnel step ``k``; a booking at step 4, a payment at step 5."""
        if k == 2 and (journey.provider is None or journey.stage < 2):
            journey.provider = self.rng.choice(self.providers)
            journey.service_id = self.rng.choice(["corte", "barba", "corte_barba", "color"])
        if k == 4:
            journey.booking_id = f"bk-{self.uid()[:8]}"
        provider = journey.provider if k >= 2 else None
        # The API takes a step as a number, a numeric string or its name.
        step: int | str = self.rng.choice([k, k, str(k), STEP_NAMES[k - 1]])
        when = self.emit(
            "funnel",
            at,
            {
                "session_id": sid,
                "user_id": user_id,
                "step": step,
                "provider_id": provider.provider_id if provider else None,
                "booking_id": journey.booking_id if k >= 4 else None,
                "service_id": journey.service_id if k >= 2 else None,
            },
        )
        if k == 4 and provider is not None and self.rng.random() < 0.25:
            # A booking never paid: some are cancelled.
            self.provider_event(provider, "booking_cancelled", when + self.secs(600, 20 * 3600))
        if k == 5 and provider is not None:
            self.paid_booking(when, sid, user_id, provider, journey.booking_id)

    # --- payments ----------------------------------------------------------------------------

    def amount(self, currency: str) -> Decimal:
        """Return an amount; a quarter end in 5 centavos (commission rounding half up)."""
        if currency == "USD":
            cents = self.rng.randrange(800, 6000)
        else:
            cents = self.rng.randrange(400_000, 3_500_000)
        if self.rng.random() < 0.25:
            cents = cents // 10 * 10 + 5
        return Decimal(cents) / 100

    def payment_body(
        self, payment_id: str, user_id: str | None, provider: Provider | None, currency: str
    ) -> dict[str, Any]:
        """Return the fields of a payment shared by its status events."""
        method, kind = pick(self.rng, [((m, t), w) for m, t, w in METHODS])
        plans = [(1, 50), (3, 25), (6, 15), (12, 10)] if kind == "credit_card" else [(1, 1)]
        amount = self.amount(currency)
        body: dict[str, Any] = {
            "payment_id": payment_id,
            "user_id": user_id,
            "provider_id": provider.provider_id if provider else None,
            "amount": str(amount),
            "currency": currency if currency != "ARS" or self.rng.random() < 0.7 else None,
            "payment_method": method,
            "payment_type": kind,
            "installments": pick(self.rng, plans),
        }
        if self.rng.random() < 0.5:
            body["commission"] = str((amount * Decimal("0.08")).quantize(Decimal("0.01")))
        if provider is not None and self.rng.random() < 0.7:
            body["province"] = self.spelling(provider.province)
        return body

    def paid_booking(
        self,
        at: datetime,
        sid: str,
        user_id: str | None,
        provider: Provider,
        booking_id: str | None,
    ) -> None:
        """The payment behind a completed booking: its lifecycle and the appointment."""
        self.counter += 1
        pid = f"mp-{self.counter:05d}"
        currency = "USD" if self.rng.random() < 0.06 else "ARS"
        body = self.payment_body(pid, user_id, provider, currency)
        body["booking_id"] = booking_id
        if self.rng.random() < 0.06:  # an earlier attempt with too many cuotas was rejected
            rejected = self.payment_body(f"{pid}-r", user_id, provider, currency)
            rejected["installments"] = self.rng.choice([6, 12, 12])
            self.emit("revenue", at - self.secs(120, 400), {**rejected, "status": "rejected"})
        if self.rng.random() < 0.2:
            status = self.rng.choice(["pending", "in_process"])
            self.emit("revenue", at - self.secs(30, 100), {**body, "status": status})
        approved = self.emit(
            "revenue", at - self.secs(1, 20), {**body, "session_id": sid, "status": "approved"}
        )
        self.lifecycle(body, approved)
        appointment = at + self.secs(2 * 3600, 3 * 86400)
        roll = self.rng.random()
        if roll < 0.85:
            self.provider_event(provider, "booking_completed", appointment, body.get("amount"))
            if self.rng.random() < 0.55:
                self.provider_event(
                    provider,
                    "rating",
                    appointment + self.secs(1800, 20 * 3600),
                    rating=pick(self.rng, [(5, 50), (4, 25), (3, 12), (2, 7), (1, 6)]),
                )
        elif roll < 0.93:
            self.provider_event(provider, "no_show", appointment)
        else:
            self.provider_event(provider, "booking_cancelled", appointment - self.secs(600, 7200))

    def lifecycle(self, body: dict[str, Any], approved: datetime) -> None:
        """What may happen after approval: re-notification, refunds, a chargeback."""
        if self.rng.random() < 0.05:  # MercadoPago notifies the approval again
            self.emit("revenue", approved + self.secs(60, 1800), {**body, "status": "approved"})
        roll = self.rng.random()
        if roll < 0.10:
            amount = Decimal(body["amount"])
            if self.rng.random() < 0.3:
                amount = (amount / 2).quantize(Decimal("0.01"))
            refund = {**body, "amount": str(amount), "status": "refunded"}
            at = self.emit("revenue", approved + self.secs(2 * 3600, 4 * 86400), refund)
            if self.rng.random() < 0.3:  # a second refund: only the first counts
                self.emit("revenue", at + self.secs(3600, 86400), refund)
        elif roll < 0.15:
            at = approved + self.secs(3 * 86400, 9 * 86400)
            self.emit("revenue", at, {**body, "status": "charged_back"})

    def standalone_payment(self) -> None:
        """A payment seen only through MercadoPago (no funnel), sometimes without a user."""
        self.counter += 1
        pid = f"mp-s{self.counter:05d}"
        user = f"u-{self.rng.randrange(self.n_users) + 1:04d}" if self.rng.random() < 0.5 else None
        provider = self.rng.choice(self.providers)
        currency = "USD" if self.rng.random() < 0.1 else "ARS"
        body = self.payment_body(pid, user, provider, currency)
        at = self.session_time(self.rng.uniform(-1, DAYS))
        roll = self.rng.random()
        if roll < 0.55:
            approved = self.emit("revenue", at, {**body, "status": "approved"})
            self.lifecycle(body, approved)
        elif roll < 0.85:
            if self.rng.random() < 0.5:
                self.emit("revenue", at - self.secs(10, 90), {**body, "status": "in_process"})
            self.emit("revenue", at, {**body, "status": "rejected"})
        elif roll < 0.95:  # rejected, then approved on a retry of the same payment
            self.emit("revenue", at, {**body, "status": "rejected"})
            self.emit("revenue", at + self.secs(60, 600), {**body, "status": "approved"})
        else:  # approved, then cancelled: the approval still counts in gross
            self.emit("revenue", at, {**body, "status": "approved"})
            self.emit("revenue", at + self.secs(600, 7200), {**body, "status": "cancelled"})

    # --- barbers and the market --------------------------------------------------------------

    def provider_event(
        self,
        provider: Provider,
        event: str,
        at: datetime,
        amount: str | None = None,
        rating: int | None = None,
    ) -> None:
        """Emit a provider metric, with the province most of the time."""
        located = self.rng.random() < 0.75
        self.emit(
            "provider_metrics",
            at,
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

    def provider_sessions(self, provider: Provider) -> None:
        """Barbers open the app too (provider sessions are not clients)."""
        for _ in range(self.rng.randrange(1, 4)):
            start = self.session_time(self.rng.uniform(0, DAYS))
            sid = f"ps-{self.rng.getrandbits(40):010x}"
            at = self.emit(
                "session_start",
                start,
                {
                    "session_id": sid,
                    "user_id": provider.provider_id,
                    "user_type": "provider",
                    "device": {"type": "desktop", "os": "windows", "browser": "edge"},
                    "location": {"province": self.spelling(provider.province)},
                    "referral": {},
                },
            )
            for _ in range(self.rng.randrange(0, 3)):
                self.emit(
                    "action",
                    at + self.secs(5, 900),
                    {"session_id": sid, "user_id": provider.provider_id, "action": "open_agenda"},
                )

    def walk_ins(self, provider: Provider) -> None:
        """Bookings completed outside the app, and their ratings."""
        for _ in range(self.rng.randrange(0, 6)):
            at = self.session_time(self.rng.uniform(0, DAYS))
            self.provider_event(provider, "booking_completed", at)
            if self.rng.random() < 0.4:
                self.provider_event(provider, "rating", at + self.secs(600, 7200), rating=5)

    def activity(self) -> None:
        """Daily searches, booking attempts and sign-ups per province, with and without city."""
        scale = {"AR-Q": 3.0}
        for day in range(-1, DAYS + 1):
            for code, _, _, weight in PROVINCES:
                if code == "AR-E" and self.rng.random() < 0.8:
                    continue  # Entre Ríos: a little demand, under the threshold
                for kind, times in (("search", 3), ("booking", 1)):
                    for _ in range(self.rng.randrange(0, times + 1)):
                        top = 4 + weight // 2
                        count = int(self.rng.randint(1, top) * scale.get(code, 1))
                        self.activity_event(day, code, kind, count)
                if self.rng.random() < 0.3:
                    kind = pick(
                        self.rng,
                        [("client_signup", 6), ("provider_signup", 2), ("provider_active", 2)],
                    )
                    self.activity_event(day, code, kind, self.rng.randint(1, 3))

    def activity_event(self, day: int, code: str, kind: str, count: int) -> None:
        """Emit one argentina/activity event on ART day ``day``."""
        self.emit(
            "activity",
            self.session_time(day),
            {
                "province": self.spelling(code),
                "city": self.city(code) if self.rng.random() < 0.5 else None,
                "activity": kind,
                "count": count,
            },
        )


def generate(seed: int = 20261005, **sizes: int) -> Stream:
    """Return the seeded stream (about 3,000 events)."""
    return Generator(seed, **sizes).build()


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
