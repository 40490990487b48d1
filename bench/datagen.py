"""Seeded, realistic analytics events for the benchmarks, as the clients would POST them.

``generate(n, days=..., seed=..., end_us=...)`` yields ``n`` distinct events (plus a few resent
duplicates, flagged) in the order they would reach the service over the last ``days`` ART days
ending at ``end_us``: mostly time-ordered, with about 1% arriving late (phones coming back
online). What it models:

- sessions: 80% mobile; CABA and Buenos Aires heavy, then Córdoba, Santa Fe, Mendoza and the
  rest; referral by WhatsApp, Instagram, Google, direct, Facebook and others (as real clients
  send them: utm sources, referrer URLs, Android app referrers); about 60% logged in, with
  returning users days or weeks later (so retention has cohorts); 2% without ``session/start``.
- actions, and the five-step funnel with realistic drop-offs and delays (some payments by cash
  ticket complete hours later, a few after the 24 h window).
- MercadoPago payments: approvals, rejections (worse with 6 and 12 cuotas), in-process and
  pending states, later refunds and chargebacks; mostly ARS, a few USD.
- provider metrics for about 2,000 providers with provinces and cities (bookings completed,
  cancelled, no-shows, ratings) and ``argentina/activity`` (search, booking, provider_active,
  client_signup).

Nothing here touches the database: ``bench/analytics.py`` validates and loads the bodies.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import accumulate
from typing import Any

from barberpro.analytics.rows import Prepared
from barberpro.argentina import classify_referral
from barberpro.argentina.timezone import DAY_US, HOUR_US, art_day, day_date, day_start_us

SECOND = 1_000_000
MINUTE = 60 * SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ART_OFFSET = timezone(timedelta(hours=-3))

# Share of sessions by province (ISO 3166-2:AR), roughly by population and internet use.
DEMAND: dict[str, float] = {
    "AR-B": 30, "AR-C": 26, "AR-X": 9, "AR-S": 8, "AR-M": 5, "AR-T": 3, "AR-E": 2.8,
    "AR-A": 2.4, "AR-N": 2, "AR-H": 2, "AR-W": 2, "AR-G": 1.5, "AR-J": 1.5, "AR-Q": 1.4,
    "AR-R": 1.3, "AR-Y": 1.2, "AR-U": 1.1, "AR-P": 1, "AR-D": 0.9, "AR-K": 0.7, "AR-F": 0.6,
    "AR-L": 0.6, "AR-Z": 0.5, "AR-V": 0.4,
}  # fmt: skip
# Providers signed up so far: the capital over-supplied, Buenos Aires province under-supplied,
# and two southern provinces with demand but nobody yet (the "underserved" recommendation).
SUPPLY: dict[str, float] = {
    **DEMAND, "AR-C": 34, "AR-B": 21, "AR-X": 10, "AR-S": 9, "AR-M": 6, "AR-Z": 0, "AR-V": 0,
}  # fmt: skip
CITIES: dict[str, tuple[str, ...]] = {
    "AR-C": ("Palermo", "Belgrano", "Caballito", "Recoleta", "Almagro", "Villa Crespo", "Flores"),
    "AR-B": ("La Plata", "Mar del Plata", "Quilmes", "Lanús", "Morón", "San Isidro", "Tigre"),
    "AR-X": ("Córdoba", "Villa Carlos Paz", "Río Cuarto"),
    "AR-S": ("Rosario", "Santa Fe", "Rafaela"),
    "AR-M": ("Mendoza", "Godoy Cruz", "San Rafael"),
    "AR-T": ("San Miguel de Tucumán",),
    "AR-E": ("Paraná", "Concordia"),
    "AR-A": ("Salta",),
    "AR-N": ("Posadas",),
    "AR-H": ("Resistencia",),
    "AR-W": ("Corrientes",),
    "AR-Q": ("Neuquén",),
    "AR-R": ("Bariloche", "Viedma"),
    "AR-U": ("Comodoro Rivadavia",),
}
# How some clients spell a province instead of its code (the schema normalises them).
SPELLINGS = {"AR-C": "CABA", "AR-B": "Buenos Aires", "AR-X": "Córdoba", "AR-S": "Santa Fe"}

# Relative traffic by ART hour of day and by weekday (Monday first); +30% growth over the span.
HOURLY = (
    0.6, 0.35, 0.2, 0.15, 0.12, 0.15, 0.3, 0.6, 0.9, 1.1, 1.3, 1.4,
    1.3, 1.2, 1.1, 1.1, 1.2, 1.4, 1.6, 1.7, 1.6, 1.4, 1.1, 0.85,
)  # fmt: skip
WEEKDAY = (0.95, 0.95, 1.0, 1.05, 1.2, 1.25, 0.7)

# Referral blocks as clients send them, with the channel classify_referral gives each.
REFERRALS: dict[str, tuple[dict[str, str], ...]] = {
    "whatsapp": (
        {"referrer_url": "android-app://com.whatsapp/"},
        {"source": "wa", "medium": "social"},
        {"landing_url": "https://barberpro.com.ar/?utm_source=whatsapp&utm_medium=share"},
    ),
    "instagram": (
        {"referrer_url": "https://l.instagram.com/"},
        {"source": "ig", "medium": "social", "campaign": "verano"},
    ),
    "google": (
        {"referrer_url": "https://www.google.com.ar/"},
        {"source": "google", "medium": "cpc", "campaign": "barberias-caba"},
    ),
    "direct": ({},),
    "facebook": ({"referrer_url": "https://lm.facebook.com/"}, {"source": "fb"}),
    "other": ({"referrer_url": "https://www.clarin.com/"}, {"source": "newsletter"}),
}
CHANNEL_WEIGHTS = {
    "whatsapp": 30,
    "instagram": 25,
    "google": 18,
    "direct": 15,
    "facebook": 8,
    "other": 4,
}
DEVICES = (
    ("mobile", "android", "chrome", 58),
    ("mobile", "android", "samsung", 8),
    ("mobile", "ios", "safari", 14),
    ("desktop", "windows", "chrome", 11),
    ("desktop", "macos", "safari", 3),
    ("desktop", "linux", "firefox", 2),
    ("tablet", "android", "chrome", 2.5),
    ("tablet", "ipados", "safari", 1.5),
)
ACTIONS = (
    ("app.open", 20), ("home.view", 16), ("filter.price", 8), ("filter.distance", 6),
    ("map.open", 7), ("gallery.view", 9), ("reviews.read", 8), ("favorite.add", 4),
    ("share:whatsapp", 3), ("service.select", 6), ("notifications.open", 3),
    ("profile.edit", 1.5), ("promo.view", 4), ("chat.open", 2),
)  # fmt: skip
PROVIDER_ACTIONS = (("agenda.open", 5), ("slot.block", 2), ("profile.edit", 1), ("payout.view", 1))
SERVICES = (
    ("corte", 9000, 40),
    ("corte_barba", 13000, 25),
    ("barba", 6000, 12),
    ("color", 22000, 6),
    ("kids", 7000, 9),
    ("afeitado", 8000, 8),
)
# (payment_type, payment_method ids, weight, base rejection rate)
METHODS = (
    ("credit_card", ("visa", "master", "amex", "naranja", "cabal"), 55, 0.10),
    ("debit_card", ("debvisa", "debmaster", "maestro"), 19, 0.08),
    ("account_money", ("account_money",), 20, 0.03),
    ("ticket", ("rapipago", "pagofacil"), 6, 0.0),
)
INSTALLMENTS = ((1, 45), (3, 30), (6, 15), (12, 10))
INSTALLMENT_PENALTY = {1: 0.0, 3: 0.03, 6: 0.09, 12: 0.2}

# Funnel: probability of going on to each next step, and median delay (seconds) before it.
SEARCH_SESSION = 0.72
NEXT_STEP = {2: (0.60, 40), 3: (0.50, 75), 4: (0.65, 50)}
DUPLICATE_RATE = 0.002  # resent by a client that missed the answer
LATE_RATE = 0.01  # held by an offline phone for minutes to hours


def _check_referrals() -> None:
    """Fail early if a referral template no longer classifies as the channel it stands for."""
    for channel, blocks in REFERRALS.items():
        for block in blocks:
            got = classify_referral(
                source=block.get("source"),
                medium=block.get("medium"),
                referrer_url=block.get("referrer_url"),
                landing_url=block.get("landing_url"),
            )
            if got != channel:
                raise AssertionError(f"referral {block} is {got}, expected {channel}")


@dataclass(frozen=True, slots=True)
class Generated:
    """One body to submit; ``duplicate`` marks a resend of an event already generated."""

    body: dict[str, Any]
    duplicate: bool


@dataclass(slots=True)
class _User:
    user_id: str
    province: str
    city: str | None
    device: tuple[str, str, str]
    last_visit: int


@dataclass(frozen=True, slots=True)
class _Provider:
    provider_id: str
    province: str
    city: str | None
    price_factor: float


class _Picker:
    """Weighted choice by bisection over cumulative weights (rng.choices re-sums every call)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect_right(self.cum, rng.random() * self.cum[-1])]


def iso(micros: int, *, art: bool = False) -> str:
    """Return ``micros`` as an ISO 8601 datetime, in UTC or with ART's -03:00 offset."""
    moment = _EPOCH + timedelta(microseconds=micros)
    return (moment.astimezone(_ART_OFFSET) if art else moment).isoformat()


@dataclass
class Generator:
    """The event stream; iterate it once."""

    events: int
    days: int
    seed: int
    end_us: int
    providers: int = 0  # default: 2,000, fewer for small streams (one per 150 events)
    rng: random.Random = field(init=False)
    start_us: int = field(init=False)

    def __post_init__(self) -> None:
        _check_referrals()
        self.rng = random.Random(self.seed)
        if self.providers <= 0:
            self.providers = min(2000, max(20, self.events // 150))
        self.start_us = day_start_us(art_day(self.end_us) - self.days + 1)
        self._heap: list[tuple[int, int, dict[str, Any], bool]] = []
        self._seq = itertools.count()
        self._payment_ids = itertools.count(1_300_000_000)
        self._users: list[_User] = []
        self._user_ids = itertools.count(1)
        self._province = _Picker(list(DEMAND), list(DEMAND.values()))
        self._channel = _Picker(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))
        self._device = _Picker([d[:3] for d in DEVICES], [d[3] for d in DEVICES])
        self._action = _Picker([a for a, _ in ACTIONS], [w for _, w in ACTIONS])
        self._provider_action = _Picker(
            [a for a, _ in PROVIDER_ACTIONS], [w for _, w in PROVIDER_ACTIONS]
        )
        self._service = _Picker([s[:2] for s in SERVICES], [s[2] for s in SERVICES])
        self._method = _Picker(list(METHODS), [m[2] for m in METHODS])
        self._installments = _Picker([i for i, _ in INSTALLMENTS], [w for _, w in INSTALLMENTS])
        self._make_providers()

    # -- the world ----------------------------------------------------------------------------

    def _make_providers(self) -> None:
        rng = self.rng
        supply = _Picker(list(SUPPLY), list(SUPPLY.values()))
        self._all_providers: list[_Provider] = []
        by_province: dict[str, list[_Provider]] = {}
        weights: dict[str, list[float]] = {}
        for i in range(self.providers):
            province = supply(rng)
            provider = _Provider(
                provider_id=f"prov-{i + 1:05d}",
                province=province,
                city=self._city(province),
                price_factor=round(rng.uniform(0.75, 1.6), 2) * (1.2 if province == "AR-C" else 1),
            )
            self._all_providers.append(provider)
            by_province.setdefault(province, []).append(provider)
            weights.setdefault(province, []).append(rng.paretovariate(1.3))
        self._providers_in = {p: _Picker(by_province[p], weights[p]) for p in by_province}
        self._any_provider = _Picker(
            [pr for p in by_province for pr in by_province[p]],
            [w for p in by_province for w in weights[p]],
        )

    def _city(self, province: str) -> str | None:
        cities = CITIES.get(province)
        if not cities or self.rng.random() < 0.1:
            return None
        return cities[min(int(self.rng.expovariate(1.0)), len(cities) - 1)]

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _gap(self, median_s: float, sigma: float = 0.9) -> int:
        """A log-normal delay with the given median, in microseconds."""
        return int(self.rng.lognormvariate(0, sigma) * median_s * SECOND)

    # -- the stream ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Generated]:
        slots = self._slots()
        total = sum(w for _, _, w in slots)
        produced, emitted, cumulative, day = 0, 0, 0.0, None
        for start, end, weight in slots:
            if art_day(start) != day:
                day = art_day(start)
                produced += self._providers_active(day)
            cumulative += weight
            target = self.events * cumulative / total
            while produced < target:
                produced += self._session(start + int(self.rng.random() * (end - start)))
            while self._heap and self._heap[0][0] < end:
                _, _, body, duplicate = heapq.heappop(self._heap)
                yield Generated(body, duplicate)
                emitted += not duplicate
                if emitted >= self.events:
                    return
        while self._heap and emitted < self.events:
            _, _, body, duplicate = heapq.heappop(self._heap)
            yield Generated(body, duplicate)
            emitted += not duplicate

    def _slots(self) -> list[tuple[int, int, float]]:
        """Every hour from the first day's ART midnight to ``end_us``, with its traffic weight."""
        slots = []
        span = self.end_us - self.start_us
        for start in range(self.start_us, self.end_us, HOUR_US):
            end = min(start + HOUR_US, self.end_us)
            day = art_day(start)
            hour = (start - day_start_us(day)) // HOUR_US
            growth = 0.85 + 0.3 * (start - self.start_us) / span
            weight = HOURLY[hour] * WEEKDAY[day_date(day).weekday()] * growth
            slots.append((start, end, weight * (end - start) / HOUR_US))
        return slots

    def _push(self, at: int, body: dict[str, Any], *, late: bool = False) -> int:
        """Queue ``body`` happening at ``at``; return 1 if it happens before the end, else 0."""
        if at > self.end_us:
            return 0
        rng = self.rng
        body["timestamp"] = iso(at, art=rng.random() < 0.3)
        arrival = at
        if late and rng.random() < LATE_RATE:
            arrival = at + int(rng.uniform(1, 360) * MINUTE)
            if arrival > self.end_us:
                return 0  # still on the phone
        heapq.heappush(self._heap, (arrival, next(self._seq), body, False))
        if rng.random() < DUPLICATE_RATE:
            again = arrival + int(rng.uniform(1, 120) * SECOND)
            if again <= self.end_us:
                heapq.heappush(self._heap, (again, next(self._seq), body, True))
        return 1

    def _providers_active(self, day: int) -> int:
        """Each provider with any business that day reports itself active once."""
        rng, count = self.rng, 0
        base = day_start_us(day)
        for provider in self._all_providers:
            if rng.random() < 0.55:
                at = base + int(rng.uniform(8, 21) * HOUR_US)
                count += self._push(
                    at,
                    {
                        "type": "activity",
                        "event_id": self._uuid(),
                        "activity": "provider_active",
                        "province": provider.province,
                        "city": provider.city,
                    },
                )
        return count

    def _user(self, at: int) -> tuple[_User, bool]:
        """A returning user (last seen at least ~20 h ago), else a new one."""
        rng = self.rng
        if self._users and rng.random() < 0.62:
            for _ in range(3):
                user = self._users[int(len(self._users) * rng.random() ** 0.7)]
                if user.last_visit < at - 20 * HOUR_US:
                    user.last_visit = at
                    return user, False
        province = self._province(rng)
        user = _User(
            user_id=f"u-{next(self._user_ids):07d}",
            province=province,
            city=self._city(province),
            device=self._device(rng),
            last_visit=at,
        )
        self._users.append(user)
        return user, True

    def _session(self, t0: int) -> int:
        """Generate one session starting at ``t0``; return how many events it produced."""
        rng = self.rng
        sid = self._uuid()
        provider_session = rng.random() < 0.03
        user: _User | None = None
        new_user = False
        if provider_session:
            provider = self._any_provider(rng)
            user_id: str | None = provider.provider_id
            province, city = provider.province, provider.city
            device = self._device(rng)
        elif rng.random() < 0.6:
            user, new_user = self._user(t0)
            user_id = user.user_id
            same_place = rng.random() < 0.9
            province = user.province if same_place else self._province(rng)
            city = user.city if same_place else self._city(province)
            device = user.device if rng.random() < 0.85 else self._device(rng)
        else:
            user_id = None
            province = self._province(rng)
            city = self._city(province)
            device = self._device(rng)
        channel = "direct" if not new_user and rng.random() < 0.3 else self._channel(rng)
        count = 0
        if rng.random() < 0.98:  # the rest are implicit sessions, known only from their events
            referral = dict(rng.choice(REFERRALS[channel]))
            count += self._push(
                t0,
                {
                    "type": "session_start",
                    "session_id": sid,
                    "user_id": user_id,
                    "anonymous_id": None if user_id else f"anon-{sid[:8]}",
                    "user_type": "provider" if provider_session else "client",
                    "device": {"type": device[0], "os": device[1], "browser": device[2]},
                    "location": {
                        "province": SPELLINGS.get(province, province)
                        if rng.random() < 0.2
                        else province,
                        "city": city,
                    },
                    "referral": referral,
                },
            )
        length = self._gap(240, 1.0)
        pick = self._provider_action if provider_session else self._action
        for _ in range(1 + min(int(rng.expovariate(1 / 3.4)), 40)):
            count += self._push(
                t0 + int(rng.random() * length),
                {
                    "type": "action",
                    "event_id": self._uuid(),
                    "session_id": sid,
                    "user_id": user_id,
                    "action": pick(rng),
                    "properties": {"screen": rng.choice(("home", "search", "provider"))},
                },
                late=True,
            )
        if not provider_session and rng.random() < SEARCH_SESSION:
            count += self._funnel(sid, user_id, province, city, t0 + self._gap(20), new_user)
        elif new_user:
            count += self._activity("client_signup", province, city, t0 + 30 * SECOND)
        return count

    def _activity(self, kind: str, province: str, city: str | None, at: int) -> int:
        body = {
            "type": "activity",
            "event_id": self._uuid(),
            "activity": kind,
            "province": province,
            "city": city,
        }
        return self._push(at, body)

    def _step(self, sid: str, user_id: str | None, step: str, at: int, **ids: str) -> int:
        body: dict[str, Any] = {
            "type": "funnel",
            "event_id": self._uuid(),
            "session_id": sid,
            "user_id": user_id,
            "step": step,
            **ids,
        }
        return self._push(at, body, late=True)

    def _funnel(
        self, sid: str, user_id: str | None, province: str, city: str | None, t: int, new: bool
    ) -> int:
        """Searches, then maybe provider view, slot, booking and payment."""
        rng = self.rng
        count = 0
        if new:
            count += self._activity("client_signup", province, city, t)
        searches = 1 + (rng.random() < 0.3) + (rng.random() < 0.27)
        for _ in range(searches):
            count += self._step(sid, user_id, "search", t)
            if rng.random() < 0.5:
                count += self._activity("search", province, city, t)
            t += self._gap(50)
        local = province in self._providers_in and rng.random() < 0.8
        provider = self._providers_in[province](rng) if local else self._any_provider(rng)
        service, price = self._service(rng)
        booking_id = f"bk-{self._uuid()[:13]}"
        ids = {"provider_id": provider.provider_id}
        for step, name in ((2, "provider_view"), (3, "slot_selected"), (4, "booking_created")):
            chance, median = NEXT_STEP[step]
            if rng.random() >= chance:
                return count
            t += self._gap(median)
            if step == 3:
                ids["service_id"] = service
            if step == 4:
                ids["booking_id"] = booking_id
            count += self._step(sid, user_id, name, t, **ids)
        if rng.random() < 0.8:
            count += self._activity("booking", province, city, t)
        amount = round(price * provider.price_factor, -2)
        count += self._appointment(provider, booking_id, amount, t)
        return count + self._payment(sid, user_id, provider, booking_id, amount, t, ids)

    def _appointment(self, provider: _Provider, booking_id: str, amount: float, t: int) -> int:
        """The booked visit: completed (maybe rated), cancelled or a no-show."""
        rng = self.rng
        day = art_day(t + 2 * HOUR_US) + int(rng.expovariate(1 / 1.5))
        at = max(day_start_us(day) + int(rng.uniform(9, 20.5) * HOUR_US), t + HOUR_US)
        outcome = rng.random()
        kind = "booking_completed" if outcome < 0.85 else "booking_cancelled"
        if outcome >= 0.95:
            kind = "no_show"
        base = {
            "type": "provider_metrics",
            "provider_id": provider.provider_id,
            "booking_id": booking_id,
            "province": provider.province,
            "city": provider.city,
        }
        count = self._push(
            at,
            {**base, "event_id": self._uuid(), "event": kind}
            | ({"amount": f"{amount:.2f}"} if kind == "booking_completed" else {}),
        )
        if kind == "booking_completed" and rng.random() < 0.45:
            stars = rng.choices((5, 4, 3, 2, 1), (55, 30, 10, 3, 2))[0]
            later = at + self._gap(3 * 3600, 1.2)
            count += self._push(
                later, {**base, "event_id": self._uuid(), "event": "rating", "rating": stars}
            )
        return count

    def _payment(
        self,
        sid: str,
        user_id: str | None,
        provider: _Provider,
        booking_id: str,
        amount: float,
        t: int,
        ids: dict[str, str],
    ) -> int:
        """MercadoPago attempts until one is approved or the client gives up."""
        rng = self.rng
        if rng.random() < 0.1:
            return 0  # pays at the shop
        count = 0
        usd = rng.random() < 0.02
        currency, value = ("USD", round(amount / 1100, 2)) if usd else ("ARS", amount)
        explicit_fee = rng.random() < 0.7
        fee_rate = rng.choice((0.10, 0.12))
        kind, methods, _, reject = self._method(rng)
        for attempt in range(3):
            installments = self._installments(rng) if kind == "credit_card" else 1
            if attempt:
                installments = min(installments, 3)
            t += self._gap(60)
            body: dict[str, Any] = {
                "type": "revenue",
                "payment_id": str(next(self._payment_ids)),
                "booking_id": booking_id,
                "provider_id": provider.provider_id,
                "user_id": user_id,
                "amount": f"{value:.2f}",
                "currency": currency,
                "payment_method": rng.choice(methods),
                "payment_type": kind,
                "installments": installments,
                "province": provider.province,
            }
            if explicit_fee:
                body["commission"] = f"{round(value * fee_rate, 2):.2f}"

            def status(name: str, at: int, body: dict[str, Any] = body) -> int:
                return self._push(at, {**body, "event_id": self._uuid(), "status": name})

            if kind == "ticket":  # cash at Rapipago/Pago Fácil: pending until paid, or expires
                count += status("pending", t)
                if rng.random() < 0.25:
                    return count + status("cancelled", t + 3 * DAY_US)
                t += self._gap(5 * 3600, 1.1)
            elif rng.random() < 0.15:
                count += status("in_process", t)
                t += self._gap(90)
            if rng.random() < reject + INSTALLMENT_PENALTY[installments]:
                count += status("rejected", t)
                if rng.random() < 0.4:
                    return count  # gives up
                kind, methods, _, reject = self._method(rng)
                continue
            count += status("approved", t)
            count += self._step(sid, user_id, "payment_completed", t + self._gap(3), **ids)
            if rng.random() < 0.035:
                count += status("refunded", t + int(rng.uniform(0.5, 12) * DAY_US))
            elif rng.random() < 0.006:
                count += status("charged_back", t + int(rng.uniform(8, 40) * DAY_US))
            return count
        return count


def generate(events: int, *, days: int, seed: int, end_us: int) -> Iterator[Generated]:
    """Yield ``events`` distinct events (and flagged resends) ending at ``end_us``."""
    return iter(Generator(events=events, days=days, seed=seed, end_us=end_us))


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
