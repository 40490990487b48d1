"""The launch's traffic model: seeded, realistic events as BarberPro's clients send them.

Everything is fixed by the seed and the `Shape`: ids, instants, bodies. The model works in
*virtual* seconds from the shape's start and places each event at ``start + v * scale``: a
launch-week stream for the tests (scale 1, three weeks) and a launch day squeezed into a two
minute live run (scale 120/86400) come from the same code. No two events share a millisecond,
so the definitions' tie rules ("latest status", "earliest event") never depend on storage order.

What it models: clients in proportion to the 2022 census, writing their province as people type
it; 86% mobile, mostly Android, some in Instagram's in-app browser; referrals as WhatsApp,
Instagram, Google and Facebook really send them; returning clients; sessions walking the 5-step
funnel with drop-offs, gaps, reloads and actions between steps; barbers in proportion to demand
with some provinces under-served; completions, cancellations, no-shows and ratings; payments
with Argentine methods and cuotas, some rejected, refunded or charged back; the market's
searches and bookings. `Stream.sends` orders them as they reach the service: some late, some
sent twice with the same ``event_id``.
"""

from __future__ import annotations

from typing import Any

from barberpro.simulator import census, people
from barberpro.simulator.payments import Payer
from barberpro.simulator.stream import (
    DAY,
    HOUR,
    LAUNCH_WEEK,
    Journey,
    Provider,
    Shape,
    Stream,
    pick,
)


class Traffic(Payer):
    """Builds one stream; every random choice comes from the seeded ``rng``."""

    # --- the stream --------------------------------------------------------------------------

    def build(self) -> Stream:
        """Generate clients, anonymous visitors, barbers, payments and market activity."""
        for i in range(self.shape.users):
            self.user(f"u-{self.shape.tag}{i + 1:05d}")
        for _ in range(self.shape.anonymous):
            self.anonymous()
        for provider in self.providers:
            self.provider_sessions(provider)
            self.walk_ins(provider)
        for _ in range(self.shape.standalone_payments):
            self.standalone_payment()
        self.activity()
        return self.stream

    def user(self, user_id: str) -> None:
        """A client: a home province, an acquisition channel and 1-5 sessions."""
        code = pick(self.rng, self.weights)
        channel = pick(self.rng, [(c, w) for c, (_, w) in people.REFERRALS.items()])
        day = self.some_day()
        journey = Journey()
        for n in range(self.rng.choice([1, 1, 2, 2, 3, 3, 4, 5])):
            if day >= self.shape.days:
                break
            later = channel if n == 0 else pick(self.rng, [(channel, 1), ("direct", 1)])
            self.session(
                self.session_time(day),
                user_id=user_id,
                code=code,
                channel=later,
                journey=journey,
                explicit=self.rng.random() < 0.9,
            )
            day += self.rng.choice([0.0, 0.6, 1, 1, 2, 3, 5, 7, 8])

    def anonymous(self) -> None:
        """A visitor without an account: one session, its own funnel unit."""
        self.session(
            self.session_time(self.some_day()),
            user_id=None,
            code=pick(self.rng, self.weights),
            channel=pick(self.rng, [(c, w) for c, (_, w) in people.REFERRALS.items()]),
            journey=Journey(),
            explicit=self.rng.random() < 0.8,
        )

    def session(
        self,
        start: float,
        *,
        user_id: str | None,
        code: str,
        channel: str,
        journey: Journey,
        explicit: bool,
        go_on: tuple[float, ...] = people.CONTINUE,
    ) -> str:
        """One session: its start (or none: implicit), actions and funnel steps."""
        sid = self.uid() if self.rng.random() < 0.5 else f"s-{self.rng.getrandbits(40):010x}"
        cursor = start
        if explicit:
            location: dict[str, str] = {}
            if self.rng.random() < 0.92:
                location["province"] = self.spelling(code)
                if self.rng.random() < 0.5:
                    location["city"] = self.city(code)
            body: dict[str, Any] = {
                "session_id": sid,
                "user_id": user_id,
                "user_type": "client",
                "device": pick(self.rng, people.DEVICES),
                "location": location,
                "referral": self.rng.choice(people.REFERRALS[channel][0]),
            }
            if user_id is None:
                body["anonymous_id"] = f"anon-{self.rng.getrandbits(32):08x}"
            cursor = self.emit("session_start", start, body) + self.secs(1, 40)
            self.stream.channels[sid] = channel
        length = self.secs(60, 40 * 60)
        for _ in range(self.rng.choice([0, 1, 1, 2, 2, 3, 4, 6])):
            self.emit(
                "action",
                cursor + self.secs(0, length),
                {
                    "session_id": sid,
                    "user_id": user_id,
                    "action": pick(self.rng, people.ACTIONS),
                    "properties": {"screen": self.rng.choice(["home", "map", "profile"])},
                },
            )
        # Some logged-in sessions send their funnel events without user_id: the unit is then
        # the session, not the user.
        funnel_user = user_id if self.rng.random() < 0.95 else None
        if funnel_user is None and user_id is not None:
            journey = Journey()
        if self.rng.random() < 0.8:
            self.funnel(cursor + self.secs(0, 120), sid, funnel_user, journey, code, go_on=go_on)
        elif not explicit:  # an implicit session needs at least one event
            self.emit("action", cursor, {"session_id": sid, "user_id": user_id, "action": "ping"})
        return sid

    def funnel(
        self,
        v: float,
        sid: str,
        user_id: str | None,
        journey: Journey,
        code: str,
        *,
        go_on: tuple[float, ...] = people.CONTINUE,
    ) -> None:
        """Go through the funnel from where the journey stopped, or start over."""
        if journey.stage in (0, 5) or self.rng.random() < 0.3:
            journey.stage = 0
        if self.rng.random() < 0.03:  # a step reported before its search (client clock skew)
            self.step(v - self.secs(5, 60), sid, user_id, 2, journey, code)
        while journey.stage < 5:
            nxt = journey.stage + 1
            if self.rng.random() > go_on[nxt - 1]:
                return
            if journey.stage > 0:
                v += self.secs(8, 15 * 60)
            self.step(v, sid, user_id, nxt, journey, code)
            if self.rng.random() < 0.06:  # the same step again (back button, reload)
                v += self.secs(3, 300)
                self.step(v, sid, user_id, nxt, journey, code)
            journey.stage = nxt

    def barber_for(self, code: str) -> Provider:
        """A barber of the client's province when there is one (mostly), else anyone's."""
        local = self.by_province.get(code)
        if local and self.rng.random() < 0.9:
            return self.rng.choice(local)
        return self.rng.choice(self.providers)

    def step(
        self, v: float, sid: str, user_id: str | None, k: int, journey: Journey, code: str
    ) -> None:
        """Emit funnel step ``k``; a booking at step 4, a payment at step 5."""
        if k == 2 and (journey.provider is None or journey.stage < 2):
            journey.provider = self.barber_for(code)
            journey.service_id = self.rng.choice(people.SERVICES)
        if k == 4:
            journey.booking_id = f"bk-{self.uid()[:8]}"
        provider = journey.provider if k >= 2 else None
        # The API takes a step as a number, a numeric string or its name.
        forms: list[int | str] = [k, k, str(k), people.STEP_NAMES[k - 1]]
        step = self.rng.choice(forms)
        when = self.emit(
            "funnel",
            v,
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
            self.provider_event(provider, "booking_cancelled", when + self.secs(600, 6 * HOUR))
        if k == 5 and provider is not None:
            self.paid_booking(when, sid, user_id, provider, journey.booking_id)

    # --- barbers and the market --------------------------------------------------------------

    def provider_sessions(self, provider: Provider) -> None:
        """Barbers open the app too (provider sessions are not clients)."""
        for _ in range(self.rng.randrange(1, 4)):
            sid = f"ps-{self.rng.getrandbits(40):010x}"
            at = self.emit(
                "session_start",
                self.session_time(self.some_day()),
                {
                    "session_id": sid,
                    "user_id": provider.provider_id,
                    "user_type": "provider",
                    "device": {"type": "desktop", "os": "windows", "browser": "edge"},
                    "location": {"province": self.spelling(provider.province)},
                    "referral": {},
                },
            )
            self.stream.channels[sid] = "direct"
            for _ in range(self.rng.randrange(0, 3)):
                self.emit(
                    "action",
                    at + self.secs(5, 900),
                    {"session_id": sid, "user_id": provider.provider_id, "action": "open_agenda"},
                )

    def walk_ins(self, provider: Provider) -> None:
        """Bookings completed outside the app, and their ratings."""
        for _ in range(self.rng.randrange(0, 4)):
            v = self.session_time(self.some_day())
            self.provider_event(provider, "booking_completed", v)
            if self.rng.random() < 0.4:
                self.provider_event(provider, "rating", v + self.secs(600, 7200), rating=5)

    def activity(self) -> None:
        """Searches and booking attempts per province and day, in proportion to its people."""
        size = max(self.shape.users, 10) / 140
        for day in range(int(self.shape.days) + 1):
            for p in census.PROVINCES:
                for kind, times in (("search", 3), ("booking", 1)):
                    for _ in range(self.rng.randrange(0, times + 1)):
                        top = max(1, round(p.millions * 3 * size))
                        self.activity_event(day, p.code, kind, self.rng.randint(1, top))
                if self.rng.random() < 0.2:
                    kind = pick(
                        self.rng,
                        [("client_signup", 6), ("provider_signup", 2), ("provider_active", 2)],
                    )
                    self.activity_event(day, p.code, kind, self.rng.randint(1, 3))

    def activity_event(self, day: int, code: str, kind: str, count: int) -> None:
        """Emit one argentina/activity event (its province as a code or a clean name)."""
        province = census.BY_CODE[code]
        v = self.session_time(day)
        if v >= self.shape.days * DAY:
            return
        self.emit(
            "activity",
            v,
            {
                "province": self.rng.choice([province.code, province.typed[0]]),
                "city": self.city(code) if self.rng.random() < 0.5 else None,
                "activity": kind,
                "count": count,
            },
        )


def launch_week(seed: int, **sizes: Any) -> Stream:
    """Return the model's three weeks from `LAUNCH_WEEK` (tests/analytics/generate.py adds the
    tests' edge cases to the same stream)."""
    return Traffic(seed, Shape(start=LAUNCH_WEEK, **sizes)).build()
