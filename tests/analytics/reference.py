"""A plain-Python recomputation of both analytics reports, transcribed from docs/ANALYTICS.md.

Input: the events exactly as a test sent them, ``(type, body)`` pairs (``type`` as in the batch
route: session_start, action, funnel, provider_metrics, revenue, activity), duplicates included.
Output: the figures of ``GET /analytics/dashboard`` and ``GET /analytics/business-intelligence``
as plain dicts. No SQL, no import from ``barberpro``: this file must be able to disagree with it.

Where the doc names no order for a list, the reference returns it sorted by a key given in
``UNORDERED`` and the tests sort the report's list by the same key before comparing.

Readings chosen where docs/ANALYTICS.md leaves a choice (readings, not the doc's words):
- A session's user is its ``session/start``'s ``user_id``; an implicit session's user is the
  ``user_id`` of its events. Its start is the earliest of its start and its events.
- ``referral`` classification: the ``source`` field, else ``utm_source`` of the landing URL, then
  the referrer host; a source that names no known channel falls back to the referrer.
- ``refunds_ars``: a payment's first ``refunded`` event, counted when it lies in the range (a
  later refund inside the range does not count); the same for ``charged_back``.
- Commission taken back: a payment with an ``approved`` event (at any time) loses its first
  approval's commission at its first return, the earlier of its first ``refunded`` and first
  ``charged_back`` events (the refund on equal times), when that return lies in the range; ARS
  when the approval is in ARS.
- Provinces: a text docs/API.md's forms do not name (a typo, "mi casa") is no province, as if
  absent: ``unknown`` in breakdowns, in no market row.
- Market: one row per ISO province with a non-zero figure; sessions without a province are in
  no row (no ``unknown`` province) but counted by ``sessions_without_province``, provider
  sessions included. Cities likewise.
- A provider is listed when it has a provider event in the range, an ARS payment on the gross
  basis, or ARS returned or taken back in the range; payments in other currencies do not list it.
- ``active_providers`` counts revenue events of any status that name the provider and province.
- Retention lists every week from the week of ``from`` to the week of the range's last instant,
  a cohort without clients included (its rates ``None``).
- Rates with a zero denominator are ``None``; so is ``avg_session_seconds`` without sessions.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qs, urlsplit

ART = timezone(timedelta(hours=-3))
SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STEPS = ("search", "provider_view", "slot_selected", "booking_created", "payment_completed")
CHANNELS = ("whatsapp", "instagram", "facebook", "google", "direct", "other")
UNKNOWN = "unknown"

# How each list without an order in the doc is sorted here (and in the report, by the tests).
UNORDERED: dict[str, tuple[str, ...]] = {
    "engagement.devices": ("device_type",),
    "revenue.by_method": ("payment_method", "payment_type"),
    "revenue.other_currencies": ("currency",),
    "market.provinces": ("province",),
    "market.cities": ("province", "city"),
    "regions": ("province",),
    "funnel.breakdowns.*": ("value",),
}

# ISO 3166-2:AR: the 24 provinces by code and name.
PROVINCES: dict[str, str] = {
    "AR-A": "Salta",
    "AR-B": "Buenos Aires",
    "AR-C": "Ciudad Autónoma de Buenos Aires",
    "AR-D": "San Luis",
    "AR-E": "Entre Ríos",
    "AR-F": "La Rioja",
    "AR-G": "Santiago del Estero",
    "AR-H": "Chaco",
    "AR-J": "San Juan",
    "AR-K": "Catamarca",
    "AR-L": "La Pampa",
    "AR-M": "Mendoza",
    "AR-N": "Misiones",
    "AR-P": "Formosa",
    "AR-Q": "Neuquén",
    "AR-R": "Río Negro",
    "AR-S": "Santa Fe",
    "AR-T": "Tucumán",
    "AR-U": "Chubut",
    "AR-V": "Tierra del Fuego",  # ISO's name; in full, "..., Antártida e Islas del Atlántico Sur"
    "AR-W": "Corrientes",
    "AR-X": "Córdoba",
    "AR-Y": "Jujuy",
    "AR-Z": "Santa Cruz",
}
# docs/API.md, "Provinces": the code, the name with or without accents or capitals, and the forms
# people type (its examples, and those the tests send), compared folded (see `_folded`).
_TYPED = {
    "AR-B": ("bs as", "pcia de bs as", "pba", "provincia de buenos aires", "prov de buenos aires"),
    "AR-C": ("caba", "capital", "capital federal", "ciudad de buenos aires"),
    "AR-X": ("cba", "provincia de cordoba"),
    "AR-S": ("sta fe",),
    "AR-M": ("mza",),
    "AR-T": ("tucu",),
    "AR-G": ("stgo del estero", "sgo del estero"),
    "AR-W": ("ctes",),
    "AR-Q": ("nqn",),
    "AR-Z": ("sta cruz",),
    "AR-V": ("tierra del fuego antartida e islas del atlantico sur", "tdf"),
}


def _folded(text: str) -> str:
    """Return ``text`` without accents, case, dots or repeated spaces ("C.A.B.A." is "caba")."""
    return " ".join(text.translate(_FOLD).lower().replace(".", "").split())


_FOLD = str.maketrans("áéíóúüñÁÉÍÓÚÜÑ", "aeiouunAEIOUUN")
_ALIASES = {_folded(name): code for code, name in PROVINCES.items()}
_ALIASES |= {form: code for code, forms in _TYPED.items() for form in forms}

_WHATSAPP = {"whatsapp", "wa", "wa.me", "whatsapp.com", "web.whatsapp.com", "api.whatsapp.com"}
_WHATSAPP |= {"com.whatsapp", "l.wl.co"}
_INSTAGRAM = {"instagram", "ig", "instagram.com", "l.instagram.com", "com.instagram.android"}
_FACEBOOK = {"facebook", "fb", "facebook.com", "m.facebook.com", "l.facebook.com", "fb.com"}
_FACEBOOK |= {"lm.facebook.com", "com.facebook.katana"}
# Android apps refer as android-app://<package>/: the package stands for the host.
_GOOGLE = {"google", "google.com", "google.com.ar", "com.google.android.googlequicksearchbox"}


def province_code(value: str | None) -> str | None:
    """Return the ISO code of a province as people type it; None when absent or not recognised.

    docs/API.md: a province that is not recognised is stored as unknown (no province).
    """
    if value is None:
        return None
    text = value.strip()
    if text.upper() in PROVINCES:
        return text.upper()
    return _ALIASES.get(_folded(text))


def _channel_of_token(token: str) -> str | None:
    token = token.strip().lower()
    if token.startswith("www."):
        token = token[4:]
    for channel, names in (
        ("whatsapp", _WHATSAPP),
        ("instagram", _INSTAGRAM),
        ("facebook", _FACEBOOK),
        ("google", _GOOGLE),
    ):
        if token in names:
            return channel
    return None


def classify_referral(referral: dict[str, Any]) -> str:
    """Return the channel: the source (or the landing URL's utm_source), then the referrer host."""
    source = referral.get("source")
    if source is None and referral.get("landing_url"):
        utm = parse_qs(urlsplit(referral["landing_url"]).query).get("utm_source")
        source = utm[0] if utm else None
    if source:
        found = _channel_of_token(source)
        if found:
            return found
    url = referral.get("referrer_url")
    if not url:
        return "other" if source else "direct"
    host = (urlsplit(url).hostname or url).lower()
    return _channel_of_token(host) or "other"


def micros(moment: datetime) -> int:
    """Return epoch microseconds; a naive datetime is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def parse_time(text: str) -> int:
    """Return the epoch microseconds of an event's ISO timestamp (naive means UTC)."""
    return micros(datetime.fromisoformat(text))


def art_date(at: int) -> date:
    """Return the ART calendar date of an instant."""
    return datetime.fromtimestamp(at // SECOND, ART).date()


def art_hour(at: int) -> int:
    """Return the ART hour of day (0-23)."""
    return datetime.fromtimestamp(at // SECOND, ART).hour


def art_monday(at: int) -> date:
    """Return the Monday opening the ART week of an instant."""
    day = art_date(at)
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range [lo, hi) of epoch microseconds."""

    lo: int
    hi: int

    def __contains__(self, at: object) -> bool:
        return isinstance(at, int) and self.lo <= at < self.hi


def parse_range(start: str, end: str) -> Span:
    """Return the range of ``from``/``to``: ISO dates are whole ART days, datetimes instants."""

    def bound(text: str, *, is_end: bool) -> int:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text) + timedelta(days=1 if is_end else 0)
            return micros(datetime(day.year, day.month, day.day, tzinfo=ART))
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ART)
        return micros(moment)

    return Span(bound(start, is_end=False), bound(end, is_end=True))


def _ars(cents: int) -> float:
    return round(cents / 100, 2)


def _rate(num: float, den: float) -> float | None:
    # docs/ANALYTICS.md, "Numbers": every rate to 4 decimals.
    return None if den == 0 else round(num / den, 4)


def _cents(amount: str | float | int) -> int:
    return int(Decimal(str(amount)) * 100)


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings the figures depend on (the app's defaults)."""

    window_hours: float = 24
    commission_rate: str = "0.10"
    market_min_demand: int = 20
    session_timeout_minutes: float = 30


@dataclass(slots=True)
class Session:
    """A session as the doc defines it."""

    session_id: str
    explicit: bool = False
    user_id: str | None = None
    user_type: str | None = None
    device: str | None = None
    province: str | None = None
    city: str | None = None
    channel: str | None = None
    start: int | None = None
    end: int | None = None

    def see(self, at: int) -> None:
        """Widen the span to include ``at``."""
        self.start = at if self.start is None else min(self.start, at)
        self.end = at if self.end is None else max(self.end, at)


@dataclass(frozen=True, slots=True)
class Event:
    """One stored (deduplicated) event: its type, id, time and body."""

    type: str
    event_id: str
    at: int
    body: dict[str, Any]

    def get(self, key: str) -> Any:
        """Return a body field (None when absent)."""
        return self.body.get(key)


@dataclass(frozen=True, slots=True)
class Chain:
    """A unit's chosen chain: the step-1 event id and the times of the steps reached."""

    event_id: str
    times: tuple[int, ...]


@dataclass(slots=True)
class Approval:
    """A payment on the gross basis: its first approved event."""

    payment_id: str
    event: Event
    cents: int
    currency: str
    commission_cents: int


@dataclass
class Reference:
    """All figures of both reports, recomputed from what was sent."""

    sent: list[tuple[str, dict[str, Any]]]
    settings: Settings = field(default_factory=Settings)
    sessions: dict[str, Session] = field(init=False, default_factory=dict)
    events: list[Event] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        starts: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        for kind, body in self.sent:
            if kind == "session_start":
                starts.setdefault(body["session_id"], body)
                continue
            if body["event_id"] in seen:
                continue
            seen.add(body["event_id"])
            self.events.append(Event(kind, body["event_id"], parse_time(body["timestamp"]), body))
        for sid, body in starts.items():
            s = Session(sid, explicit=True, user_id=body.get("user_id"))
            s.user_type = body.get("user_type", "client")
            s.device = (body.get("device") or {}).get("type")
            location = body.get("location") or {}
            s.province = province_code(location.get("province"))
            s.city = location.get("city")
            s.channel = classify_referral(body.get("referral") or {})
            s.see(parse_time(body["timestamp"]))
            self.sessions[sid] = s
        for ev in sorted(self.events, key=lambda e: e.at):
            sid = ev.get("session_id")
            if sid is None:
                continue
            s = self.sessions.setdefault(sid, Session(sid))
            s.see(ev.at)
            if not s.explicit and s.user_id is None and ev.get("user_id"):
                s.user_id = ev.get("user_id")
        self._by_type: dict[str, list[Event]] = defaultdict(list)
        for ev in self.events:
            self._by_type[ev.type].append(ev)
        self._first_touch: dict[str, Session | None] = {}

    # --- units and first touch -------------------------------------------------------------

    def of(self, kind: str) -> list[Event]:
        """Return the stored events of one type."""
        return self._by_type[kind]

    def first_touch(self, unit: str) -> Session | None:
        """Return the session with the smallest (start, session_id) among the unit's sessions."""
        if unit not in self._first_touch:
            mine = [s for s in self.sessions.values() if s.session_id == unit or s.user_id == unit]
            mine.sort(key=lambda s: (s.start or 0, s.session_id))
            self._first_touch[unit] = mine[0] if mine else None
        return self._first_touch[unit]

    def touch_value(self, unit: str, what: str) -> str:
        """Return the first touch's province, device or referral channel, else 'unknown'."""
        s = self.first_touch(unit)
        if s is None:
            return UNKNOWN
        value = {"province": s.province, "device": s.device, "referral_channel": s.channel}[what]
        return value or UNKNOWN

    @staticmethod
    def unit_of(ev: Event) -> str:
        """Return the event's unit: its user_id, else its session_id."""
        return str(ev.get("user_id") or ev.get("session_id"))

    def started_in(self, span: Span) -> list[Session]:
        """Return the sessions whose start lies in the range."""
        return [s for s in self.sessions.values() if s.start in span]

    # --- funnel ------------------------------------------------------------------------------

    def step_events(self) -> dict[str, list[tuple[int, int, str]]]:
        """Return each unit's funnel events as (step, time, event_id)."""
        found: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for ev in self.of("funnel"):
            found[self.unit_of(ev)].append((_step_number(ev.get("step")), ev.at, ev.event_id))
        return found

    def chosen_chains(self, span: Span) -> dict[str, Chain]:
        """Return each unit of the range with its chosen chain."""
        window = int(self.settings.window_hours * HOUR)
        chosen: dict[str, Chain] = {}
        for unit, evs in self.step_events().items():
            candidates = [
                (t, eid, funnel_chain(evs, t, window))
                for step, t, eid in evs
                if step == 1 and t in span
            ]
            if not candidates:
                continue
            best = min(candidates, key=lambda c: (-len(c[2]), c[0], c[1]))
            chosen[unit] = Chain(best[1], best[2])
        return chosen

    def funnel(self, span: Span, *, breakdowns: bool) -> dict[str, Any]:
        """Return the funnel of the range, with its three breakdowns when asked."""
        chains = self.chosen_chains(span)
        out: dict[str, Any] = {
            "window_hours": float(self.settings.window_hours),
            "units": len(chains),
            "steps": funnel_steps(chains.values()),
        }
        if breakdowns:
            out["breakdowns"] = {}
            for what in ("province", "device", "referral_channel"):
                groups: dict[str, list[Chain]] = defaultdict(list)
                for unit, chain in chains.items():
                    groups[self.touch_value(unit, what)].append(chain)
                out["breakdowns"][what] = [
                    {
                        "value": value,
                        **({"name": PROVINCES.get(value)} if what == "province" else {}),
                        "units": len(group),
                        "steps": funnel_steps(group),
                    }
                    for value, group in sorted(groups.items())
                ]
        return out

    # --- engagement --------------------------------------------------------------------------

    def engagement(self, span: Span, *, now: int) -> dict[str, Any]:
        """Return sessions, their length, actions, devices and returning clients."""
        started = self.started_in(span)
        n = len(started)
        actions = [ev for ev in self.of("action") if ev.at in span]
        counts = Counter(str(ev.get("action")) for ev in actions)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        devices = Counter(s.device or UNKNOWN for s in started)
        timeout = int(self.settings.session_timeout_minutes * 60 * SECOND)
        returning = set()
        for s in started:
            if s.user_id and s.user_type != "provider":
                first = self.first_touch(s.user_id)
                if first is not None and first.start is not None and first.start < span.lo:
                    returning.add(s.user_id)
        lengths = [(s.end or 0) - (s.start or 0) for s in started]
        return {
            "sessions": n,
            "active_sessions": sum(
                1 for s in self.sessions.values() if s.end is not None and now - s.end < timeout
            ),
            "avg_session_seconds": round(sum(lengths) / n / SECOND, 3) if n else None,
            "actions": len(actions),
            "actions_per_session": _rate(len(actions), n),
            "top_actions": [{"action": a, "count": c} for a, c in top],
            "devices": [
                {"device_type": d, "sessions": c, "share": _rate(c, n)}
                for d, c in sorted(devices.items())
            ],
            "returning_clients": len(returning),
        }

    # --- retention ---------------------------------------------------------------------------

    def retention(self, span: Span) -> dict[str, Any]:
        """Return the weekly cohorts of the range's weeks with their periods."""
        weeks_of: dict[str, set[date]] = defaultdict(set)
        for ev in self.of("funnel"):
            if _step_number(ev.get("step")) == 5:
                weeks_of[self.unit_of(ev)].add(art_monday(ev.at))
        cohort_of = {unit: min(weeks) for unit, weeks in weeks_of.items()}
        first_week = art_monday(span.lo)
        last_week = art_monday(span.hi - 1)
        cohorts = []
        week = first_week
        while week <= last_week:
            members = [u for u, w in cohort_of.items() if w == week]
            periods = []
            n, current = 0, week
            while current <= last_week:
                clients = sum(1 for u in members if current in weeks_of[u])
                periods.append(
                    {
                        "week": n,
                        "week_start": current.isoformat(),
                        "clients": clients,
                        "rate": _rate(clients, len(members)),
                    }
                )
                n, current = n + 1, current + timedelta(days=7)
            cohorts.append(
                {"cohort_week": week.isoformat(), "clients": len(members), "periods": periods}
            )
            week += timedelta(days=7)
        return {"cohorts": cohorts}

    # --- revenue -----------------------------------------------------------------------------

    def payments(self) -> dict[str, list[Event]]:
        """Return each payment's status events, in time order."""
        found: dict[str, list[Event]] = defaultdict(list)
        for ev in self.of("revenue"):
            found[str(ev.get("payment_id"))].append(ev)
        for evs in found.values():
            evs.sort(key=lambda e: e.at)
        return found

    def approvals(self, span: Span) -> list[Approval]:
        """Return the payments whose first approved event lies in the range (any currency)."""
        rate = Decimal(self.settings.commission_rate)
        found = []
        for pid, evs in self.payments().items():
            approved = [e for e in evs if e.get("status") == "approved"]
            if not approved or approved[0].at not in span:
                continue
            ev = approved[0]
            cents = _cents(ev.get("amount"))
            if ev.get("commission") is not None:
                commission = _cents(ev.get("commission"))
            else:
                commission = int((cents * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            currency = str(ev.get("currency") or "ARS").upper()
            found.append(Approval(pid, ev, cents, currency, commission))
        return found

    def returns(self, span: Span) -> list[tuple[Approval, int, int]]:
        """Return, per approved payment with a first refund or chargeback in the range, its first
        approval, the ARS money those returned in the range and the commission taken back."""
        rate = Decimal(self.settings.commission_rate)
        found = []
        for pid, evs in self.payments().items():
            approved = next((e for e in evs if e.get("status") == "approved"), None)
            if approved is None:
                continue
            first = {
                s: next((e for e in evs if e.get("status") == s), None)
                for s in ("refunded", "charged_back")
            }
            returned = sum(
                _cents(e.get("amount"))
                for e in first.values()
                if e is not None and e.at in span and _currency(e) == "ARS"
            )
            refund, chargeback = first["refunded"], first["charged_back"]
            earliest = (
                refund
                if refund is not None and (chargeback is None or refund.at <= chargeback.at)
                else chargeback
            )
            cents = _cents(approved.get("amount"))
            if approved.get("commission") is not None:
                commission = _cents(approved.get("commission"))
            else:
                commission = int((cents * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            currency = str(approved.get("currency") or "ARS").upper()
            back = commission if earliest is not None and earliest.at in span else 0
            if returned or back:
                found.append((Approval(pid, approved, cents, currency, commission), returned, back))
        return found

    def revenue(self, span: Span) -> dict[str, Any]:
        """Return gross, commission, refunds, chargebacks, hours, methods, cuotas, currencies."""
        approvals = self.approvals(span)
        ars = [a for a in approvals if a.currency == "ARS"]
        gross = sum(a.cents for a in ars)
        deductions = {"refunded": 0, "charged_back": 0}
        rejected: Counter[int] = Counter()
        for evs in self.payments().values():
            for status in deductions:
                first = next((e for e in evs if e.get("status") == status), None)
                if first is not None and first.at in span and _currency(first) == "ARS":
                    deductions[status] += _cents(first.get("amount"))
            latest = evs[-1]
            if latest.get("status") == "rejected" and latest.at in span:
                rejected[int(latest.get("installments") or 1)] += 1
        hours = [{"hour": h, "gross_ars": 0.0, "payments": 0} for h in range(24)]
        hour_cents = [0] * 24
        methods: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for a in ars:
            h = art_hour(a.event.at)
            hour_cents[h] += a.cents
            hours[h]["payments"] = int(hours[h]["payments"]) + 1
            key = (str(a.event.get("payment_method")).lower(), str(a.event.get("payment_type")))
            methods[key][0] += 1
            methods[key][1] += a.cents
        for h in range(24):
            hours[h]["gross_ars"] = _ars(hour_cents[h])
        approved_by_plan = Counter(int(a.event.get("installments") or 1) for a in approvals)
        plans = sorted(set(approved_by_plan) | set(rejected))
        others: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for a in approvals:
            if a.currency != "ARS":
                others[a.currency][0] += 1
                others[a.currency][1] += a.cents
                others[a.currency][2] += a.commission_cents
        for a, _, back in self.returns(span):
            if a.currency != "ARS" and back:
                others[a.currency][2] -= back
        return {
            "currency": "ARS",
            "gross_ars": _ars(gross),
            "commission_ars": _ars(
                sum(a.commission_cents for a in ars)
                - sum(back for a, _, back in self.returns(span) if a.currency == "ARS")
            ),
            "refunds_ars": _ars(deductions["refunded"]),
            "chargebacks_ars": _ars(deductions["charged_back"]),
            "net_ars": _ars(gross - deductions["refunded"] - deductions["charged_back"]),
            "payments_approved": len(ars),
            "hourly_art": hours,
            "by_method": [
                {
                    "payment_method": m,
                    "payment_type": t,
                    "payments": count,
                    "gross_ars": _ars(cents),
                    "share": _rate(cents, gross),
                }
                for (m, t), (count, cents) in sorted(methods.items())
            ],
            "installments": [
                {
                    "installments": p,
                    "approved": approved_by_plan[p],
                    "rejected": rejected[p],
                    "approval_rate": _rate(approved_by_plan[p], approved_by_plan[p] + rejected[p]),
                }
                for p in plans
            ],
            "other_currencies": [
                {"currency": c, "payments": n, "gross": _ars(g), "commission": _ars(k)}
                for c, (n, g, k) in sorted(others.items())
            ],
        }

    # --- providers ---------------------------------------------------------------------------

    def providers(self, span: Span, *, limit: int = 100) -> list[dict[str, Any]]:
        """Return the provider leaderboard of the range."""
        rows: dict[str, dict[str, Any]] = {}

        def row(pid: str) -> dict[str, Any]:
            return rows.setdefault(
                pid,
                {
                    "provider_id": pid,
                    "bookings_completed": 0,
                    "cancellations": 0,
                    "no_shows": 0,
                    "gross": 0,
                    "commission": 0,
                    "returned": 0,
                    "ratings_list": [],
                    "hours": Counter(),
                },
            )

        names = {
            "booking_completed": "bookings_completed",
            "booking_cancelled": "cancellations",
            "no_show": "no_shows",
        }
        for ev in self.of("provider_metrics"):
            if ev.at not in span:
                continue
            r = row(str(ev.get("provider_id")))
            kind = ev.get("event")
            if kind in names:
                r[names[kind]] += 1
            if kind == "booking_completed":
                r["hours"][art_hour(ev.at)] += 1
            if kind == "rating":
                r["ratings_list"].append(int(ev.get("rating")))
        for a in self.approvals(span):
            pid = a.event.get("provider_id")
            if pid is None or a.currency != "ARS":
                continue
            r = row(str(pid))
            r["gross"] += a.cents
            r["commission"] += a.commission_cents
        for a, returned, back in self.returns(span):
            pid = a.event.get("provider_id")
            back = back if a.currency == "ARS" else 0
            if pid is None or not (returned or back):
                continue
            r = row(str(pid))
            r["returned"] += returned
            r["commission"] -= back
        out = []
        for r in rows.values():
            ratings = r["ratings_list"]
            peaks = sorted(r["hours"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            out.append(
                {
                    "provider_id": r["provider_id"],
                    "bookings_completed": r["bookings_completed"],
                    "cancellations": r["cancellations"],
                    "no_shows": r["no_shows"],
                    "gross_ars": _ars(r["gross"]),
                    "commission_ars": _ars(r["commission"]),
                    "net_ars": _ars(r["gross"] - r["returned"] - r["commission"]),
                    "rating_avg": round(sum(ratings) / len(ratings), 2) if ratings else None,
                    "ratings": len(ratings),
                    "peak_hours_art": [h for h, _ in peaks],
                    "_gross": r["gross"],
                }
            )
        out.sort(key=lambda r: (-r["_gross"], r["provider_id"]))
        for r in out:
            del r["_gross"]
        return out[:limit]

    # --- market ------------------------------------------------------------------------------

    def market(self, span: Span) -> dict[str, Any]:
        """Return demand, sessions and active providers per province and per city."""
        prov: dict[str, Counter[str]] = defaultdict(Counter)
        city: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        without = 0
        for s in self.started_in(span):
            if s.province:
                prov[s.province]["sessions"] += 1
                if s.city:
                    city[(s.province, s.city)]["sessions"] += 1
            else:
                without += 1
        for ev in self.of("activity"):
            kind = ev.get("activity")
            if ev.at not in span or kind not in ("search", "booking"):
                continue
            code = province_code(ev.get("province"))
            assert code is not None
            count, figure = int(ev.get("count") or 1), _DEMAND[kind]
            prov[code][figure] += count
            if ev.get("city"):
                city[(code, ev.get("city"))][figure] += count
        days_lo = (span.lo - 3 * HOUR) // DAY * DAY + 3 * HOUR
        days_hi = ((span.hi - 1) - 3 * HOUR) // DAY * DAY + 3 * HOUR + DAY
        active: dict[str, set[str]] = defaultdict(set)
        for ev in self.of("provider_metrics") + self.of("revenue"):
            code = province_code(ev.get("province"))
            pid = ev.get("provider_id")
            if code and pid and days_lo <= ev.at < days_hi:
                active[code].add(str(pid))
        provinces = []
        for code in sorted(set(prov) | set(active)):
            c = prov[code]
            demand = c["searches"] + c["bookings"]
            n = len(active[code])
            provinces.append(
                {
                    "province": code,
                    "sessions": c["sessions"],
                    "searches": c["searches"],
                    "bookings": c["bookings"],
                    "demand": demand,
                    "active_providers": n,
                    "demand_per_provider": _rate(demand, n),
                    "underserved": False,
                }
            )
        eligible = [p for p in provinces if p["demand"] >= self.settings.market_min_demand]
        unserved = [p for p in eligible if p["active_providers"] == 0]
        if unserved:
            for p in unserved:
                p["underserved"] = True
        elif eligible:
            top = max(p["demand_per_provider"] for p in eligible)
            for p in eligible:
                p["underserved"] = p["demand_per_provider"] == top
        cities = [
            {
                "province": code,
                "city": name,
                "sessions": c["sessions"],
                "searches": c["searches"],
                "bookings": c["bookings"],
            }
            for (code, name), c in sorted(city.items())
        ]
        return {
            "min_demand": self.settings.market_min_demand,
            "provinces": provinces,
            "cities": cities,
            "sessions_without_province": without,
        }

    # --- referrals ---------------------------------------------------------------------------

    def referrals(self, span: Span) -> list[dict[str, Any]]:
        """Return one row per channel: sessions, funnel units and conversions, revenue."""
        sessions = Counter(s.channel or UNKNOWN for s in self.started_in(span))
        units: Counter[str] = Counter()
        converted: Counter[str] = Counter()
        for unit, chain in self.chosen_chains(span).items():
            channel = self.touch_value(unit, "referral_channel")
            units[channel] += 1
            converted[channel] += len(chain.times) == len(STEPS)
        revenue: Counter[str] = Counter()
        for a in self.approvals(span):
            user = a.event.get("user_id")
            if a.currency == "ARS" and user:
                revenue[self.touch_value(str(user), "referral_channel")] += a.cents
        channels = list(CHANNELS)
        if sessions[UNKNOWN] or units[UNKNOWN]:
            channels.append(UNKNOWN)
        return [
            {
                "channel": c,
                "sessions": sessions[c],
                "units": units[c],
                "units_converted": converted[c],
                "conversion_rate": _rate(converted[c], units[c]),
                "revenue_ars": _ars(revenue[c]),
            }
            for c in channels
        ]

    # --- recommendations ---------------------------------------------------------------------

    def recommendations(self, span: Span) -> dict[str, Any]:
        """Return exactly what each recommendation must state (docs/ANALYTICS.md).

        funnel_leak: per scope (None, None) for all units, (breakdown, value) for each value
        short of all units, with >= 10 units and a drop: its largest drop (earliest on ties);
        underserved: the evidence of each province with demand >= min and no barber or at least
        the demand per barber of those provinces together, ranked; installments: the plans with
        >= 10 attempts approved < 80%; referral_channels: the best and worst named channels with
        >= 20 units, when their test gives p < 0.05; peak_hours: the three busiest hours and
        every hour tied with the third.
        """
        funnel = self.funnel(span, breakdowns=True)
        scopes = [(None, None, funnel["steps"])] + [
            (what, g["value"], g["steps"])
            for what, groups in funnel["breakdowns"].items()
            for g in groups
            if g["units"] != funnel["units"]
        ]
        leaks = {}
        for what, value, steps in scopes:
            drops = [s["drop_off"] for s in steps[1:]]
            if steps[0]["units"] < 10 or max(drops) == 0:
                continue
            to = steps[1 + drops.index(max(drops))]
            before = steps[to["step"] - 2]
            leaks[(what, value)] = {
                "units": steps[0]["units"],
                "from_step": before["name"],
                "to_step": to["name"],
                "units_before": before["units"],
                "units_after": to["units"],
                "drop_off": to["drop_off"],
            }
        market = self.market(span)
        revenue = self.revenue(span)
        return {
            "funnel_leak": leaks,
            "underserved_province": _underserved(market),
            "installments_low_approval": {
                p["installments"]
                for p in revenue["installments"]
                if p["approved"] + p["rejected"] >= 10 and p["approval_rate"] < 0.8
            },
            "referral_channels": _channels(self.referrals(span)),
            "peak_hours": _peaks(revenue),
        }

    # --- the two reports ---------------------------------------------------------------------

    def dashboard(self, span: Span, *, now: int) -> dict[str, Any]:
        """Return the figures of GET /analytics/dashboard."""
        return {
            "funnel": self.funnel(span, breakdowns=False),
            # The dashboard leaves out returning_clients (BI only).
            "engagement": {
                k: v for k, v in self.engagement(span, now=now).items() if k != "returning_clients"
            },
            "referrals": self.referrals(span),
            "revenue": self.revenue(span),
            "regions": self.market(span)["provinces"],
        }

    def business_intelligence(
        self, span: Span, *, now: int, providers: int = 100
    ) -> dict[str, Any]:
        """Return the figures of GET /analytics/business-intelligence."""
        return {
            "funnel": self.funnel(span, breakdowns=True),
            "engagement": self.engagement(span, now=now),
            "retention": self.retention(span),
            "providers": self.providers(span, limit=providers),
            "revenue": self.revenue(span),
            "market": self.market(span),
            "referrals": self.referrals(span),
        }


def _underserved(market: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the evidence of each underserved province, by code, with its rank."""
    rows = [p for p in market["provinces"] if p["demand"] >= market["min_demand"] and p["demand"]]
    served = [p for p in rows if p["active_providers"]]
    demand = sum(p["demand"] for p in served)
    barbers = sum(p["active_providers"] for p in served)
    pressed = [
        p
        for p in rows
        if not p["active_providers"]
        or Fraction(p["demand"], p["active_providers"]) >= Fraction(demand, barbers)
    ]
    pressed.sort(
        key=lambda p: (
            (0, -p["demand"], 0)
            if not p["active_providers"]
            else (1, -Fraction(p["demand"], p["active_providers"]), -p["demand"]),
            p["province"],
        )
    )
    return {
        p["province"]: {k: v for k, v in p.items() if k not in ("underserved", "sessions")}
        | {
            "min_demand": market["min_demand"],
            "rank": rank,
            "provinces_ranked": len(pressed),
            "benchmark_demand_per_provider": _rate(demand, barbers),
        }
        for rank, p in enumerate(pressed, start=1)
    }


def _channels(referrals: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the best and worst channels and their test, when significant; else None."""
    rows = [r for r in referrals if r["channel"] != UNKNOWN and r["units"] >= 20]
    if len(rows) < 2:
        return None

    def conversion(r: dict[str, Any]) -> Fraction:
        return Fraction(r["units_converted"], r["units"])

    order = CHANNELS.index
    best = max(rows, key=lambda r: (conversion(r), r["units"], -order(r["channel"])))
    worst = min(rows, key=lambda r: (conversion(r), -r["units"], order(r["channel"])))
    if conversion(best) == conversion(worst):
        return None
    s1, n1, s2, n2 = (
        best["units_converted"],
        best["units"],
        worst["units_converted"],
        worst["units"],
    )
    successes, total = s1 + s2, n1 + n2
    expected = [n * k / total for n in (n1, n2) for k in (successes, total - successes)]
    if min(expected) < 5:
        test, p_value = "fisher_exact", hypergeometric_p(s1, n1, s2, n2)
    else:
        pooled = successes / total
        z = (s1 / n1 - s2 / n2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
        test, p_value = "two_proportion_z", 2 * (1 - statistics.NormalDist().cdf(abs(z)))
    if p_value >= 0.05:
        return None
    return {
        "best": best["channel"],
        "worst": worst["channel"],
        "significance": {"test": test, "p_value": round(p_value, 4), "alpha": 0.05},
    }


def hypergeometric_p(s1: int, n1: int, s2: int, n2: int) -> float:
    """Return Fisher's two-sided p-value by enumerating every table with the same margins."""
    successes = s1 + s2

    def probability(x: int) -> Fraction:
        ways = math.comb(n1, x) * math.comb(n2, successes - x)
        return Fraction(ways, math.comb(n1 + n2, successes))

    tables = [probability(x) for x in range(n1 + 1) if 0 <= successes - x <= n2]
    observed = probability(s1)
    return float(sum(p for p in tables if p <= observed))


def _peaks(revenue: dict[str, Any]) -> dict[str, Any] | None:
    """Return the three busiest hours and every hour tied with the third, as (hour, count)."""
    busy = sorted(
        ((h["hour"], h["payments"]) for h in revenue["hourly_art"] if h["payments"]),
        key=lambda hc: (-hc[1], hc[0]),
    )
    if not busy:
        return None
    third = busy[min(3, len(busy)) - 1][1]
    hours = [hc for hc in busy if hc[1] >= third]
    counts = [c for _, c in hours]
    return {"hours": hours, "tied": len(set(counts)) < len(counts)}


_DEMAND = {"search": "searches", "booking": "bookings"}


def _currency(ev: Event) -> str:
    return str(ev.get("currency") or "ARS").upper()


def _step_number(step: Any) -> int:
    if isinstance(step, str) and not step.isdigit():
        return STEPS.index(step.strip().lower()) + 1
    return int(step)


def funnel_reach(evs: list[tuple[int, int, str]], t1: int, window: int) -> int:
    """Return, by brute force over every chain, the furthest step reached from a start at t1."""

    def deepest(step: int, prev: int) -> int:
        best = step - 1
        for s, t, _ in evs:
            if s == step and prev <= t <= t1 + window:
                best = max(best, step if step == len(STEPS) else deepest(step + 1, t))
        return best

    return deepest(2, t1)


def funnel_chain(evs: list[tuple[int, int, str]], t1: int, window: int) -> tuple[int, ...]:
    """Return the greedy chain from a start at t1 (earliest next step at or after the previous).

    It reaches as far as any chain (checked against the brute force): taking the earliest
    allowed event for a step leaves every later event available for the steps after it.
    """
    times = [t1]
    for step in range(2, len(STEPS) + 1):
        nxt = [t for s, t, _ in evs if s == step and times[-1] <= t <= t1 + window]
        if not nxt:
            break
        times.append(min(nxt))
    assert len(times) == funnel_reach(evs, t1, window), "greedy chain is not the furthest"
    return tuple(times)


def funnel_steps(chains: Iterable[Chain]) -> list[dict[str, Any]]:
    """Return the per-step figures of a set of units' chosen chains."""
    chains = list(chains)
    units = [sum(1 for c in chains if len(c.times) >= k) for k in range(1, len(STEPS) + 1)]
    out = []
    for k in range(1, len(STEPS) + 1):
        n = units[k - 1]
        if k == 1:
            gaps: list[int] = []
            prev = n
            conv_prev: float | None = 1.0 if n else None
        else:
            prev = units[k - 2]
            gaps = [c.times[k - 1] - c.times[k - 2] for c in chains if len(c.times) >= k]
            conv_prev = _rate(n, prev)
        out.append(
            {
                "step": k,
                "name": STEPS[k - 1],
                "units": n,
                "conversion_from_previous": conv_prev,
                "conversion_from_start": _rate(n, units[0]),
                "drop_off": prev - n,
                "drop_off_rate": _rate(prev - n, prev),
                "median_seconds_from_previous": (
                    round(statistics.median(gaps) / SECOND, 3) if gaps else None
                ),
            }
        )
    return out
