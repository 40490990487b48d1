"""What every figure must be after a simulated launch: the simulator's ground truth.

Computed from what the simulator sent and what it meant (the province each typed text names,
the channel each session came by), by the definitions of docs/ANALYTICS.md, with none of the
service's code. The figures are flat: ``"revenue.gross_ars"``, ``"funnel.steps.3.units"``,
``"funnel.breakdowns.province.AR-C.steps.5.units"``, ``"providers.pr-007.net_ars"``; `flatten`
reads a served report into the same keys, so the two compare name by name.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from barberpro.simulator import census
from barberpro.simulator.figures import ART, CHANNELS, UNKNOWN, micros, province_of, rate
from barberpro.simulator.money import Money
from barberpro.simulator.people import STEP_NAMES
from barberpro.simulator.stream import Sent


@dataclass(slots=True)
class _Session:
    sid: str
    user_id: str | None = None
    explicit: bool = False
    start: datetime | None = None
    end: datetime | None = None
    device: str = UNKNOWN
    province: str | None = None
    channel: str = UNKNOWN

    def see(self, at: datetime) -> None:
        self.start = at if self.start is None or at < self.start else self.start
        self.end = at if self.end is None or at > self.end else self.end


@dataclass
class Truth:
    """The figures of ``[start, end)`` for the events sent (each once)."""

    events: list[Sent]
    channels: dict[str, str]
    start: datetime
    end: datetime
    window_hours: float = 24.0
    sessions: dict[str, _Session] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for e in self.events:
            if e.kind == "session_start":
                body = e.body
                s = self.sessions.setdefault(body["session_id"], _Session(body["session_id"]))
                s.explicit, s.user_id = True, body.get("user_id")
                s.device = (body.get("device") or {}).get("type") or UNKNOWN
                s.province = province_of((body.get("location") or {}).get("province"))
                s.channel = self.channels.get(s.sid, UNKNOWN)
                s.see(e.at)
        for e in sorted(self.events, key=lambda e: e.at):
            sid = e.body.get("session_id") if e.kind != "session_start" else None
            if sid is None:
                continue
            s = self.sessions.setdefault(sid, _Session(sid))
            s.see(e.at)
            if not s.explicit and s.user_id is None and e.body.get("user_id"):
                s.user_id = e.body["user_id"]
        self._touch: dict[str, _Session | None] = {}

    def inside(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def of(self, kind: str) -> list[Sent]:
        return [e for e in self.events if e.kind == kind]

    def touch(self, unit: str) -> _Session | None:
        """The unit's first touch: its session with the smallest (start, session_id)."""
        if unit not in self._touch:
            mine = [s for s in self.sessions.values() if unit in (s.sid, s.user_id)]
            mine.sort(key=lambda s: (s.start or datetime.min.replace(tzinfo=UTC), s.sid))
            self._touch[unit] = mine[0] if mine else None
        return self._touch[unit]

    def touch_value(self, unit: str, what: str) -> str:
        s = self.touch(unit)
        if s is None:
            return UNKNOWN
        value = {"province": s.province, "device": s.device, "referral_channel": s.channel}[what]
        return value or UNKNOWN

    # --- the figures -------------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        """Every figure the simulator can vouch for, by flat name."""
        found: dict[str, Any] = {}
        chains = self.chains()
        found |= _funnel("funnel", chains.values())
        found["funnel.units"] = len(chains)
        for what in ("province", "device", "referral_channel"):
            groups: dict[str, list[tuple[int, ...]]] = defaultdict(list)
            for unit, chain in chains.items():
                groups[self.touch_value(unit, what)].append(chain)
            for value, members in groups.items():
                prefix = f"funnel.breakdowns.{what}.{value}"
                found[f"{prefix}.units"] = len(members)
                found |= _funnel(prefix, members)
        found |= self.engagement()
        found |= self.referrals(chains)
        money = Money(self.of("revenue"), self.of("provider_metrics"), self.start, self.end)
        found |= money.revenue(lambda user: self.touch_value(user, "referral_channel"))
        found |= money.providers()
        found |= self.market()
        return found

    def chains(self) -> dict[str, tuple[int, ...]]:
        """Each unit with a step-1 event in the range: the step times (µs) of its chosen chain."""
        steps: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for e in self.of("funnel"):
            unit = str(e.body.get("user_id") or e.body.get("session_id"))
            steps[unit].append((_step(e.body["step"]), micros(e.at), e.body["event_id"]))
        window = int(self.window_hours * 3_600_000_000)
        chosen: dict[str, tuple[int, ...]] = {}
        lo, hi = micros(self.start), micros(self.end)
        for unit, mine in steps.items():
            best: tuple[int, int, str, tuple[int, ...]] | None = None
            for k, t1, eid in mine:
                if k != 1 or not lo <= t1 < hi:
                    continue
                times = [t1]
                for nxt in range(2, len(STEP_NAMES) + 1):
                    later = [t for s, t, _ in mine if s == nxt and times[-1] <= t <= t1 + window]
                    if not later:
                        break
                    times.append(min(later))
                key = (-len(times), t1, eid, tuple(times))
                if best is None or key[:3] < best[:3]:
                    best = key
            if best is not None:
                chosen[unit] = best[3]
        return chosen

    def started(self) -> list[_Session]:
        return [s for s in self.sessions.values() if s.start is not None and self.inside(s.start)]

    def engagement(self) -> dict[str, Any]:
        started = self.started()
        n = len(started)
        actions = [e for e in self.of("action") if self.inside(e.at)]
        lengths = [micros(s.end) - micros(s.start) for s in started if s.end and s.start]
        found: dict[str, Any] = {
            "engagement.sessions": n,
            "engagement.actions": len(actions),
            "engagement.actions_per_session": rate(len(actions), n),
            "engagement.avg_session_seconds": round(sum(lengths) / n / 1_000_000, 3) if n else None,
        }
        for device, count in Counter(s.device for s in started).items():
            found[f"engagement.devices.{device}.sessions"] = count
            found[f"engagement.devices.{device}.share"] = rate(count, n)
        counts = Counter(str(e.body["action"]) for e in actions)
        for action, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
            found[f"engagement.top_actions.{action}"] = count
        return found

    def referrals(self, chains: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        sessions = Counter(s.channel for s in self.started())
        units: Counter[str] = Counter()
        converted: Counter[str] = Counter()
        for unit, chain in chains.items():
            channel = self.touch_value(unit, "referral_channel")
            units[channel] += 1
            converted[channel] += len(chain) == len(STEP_NAMES)
        found: dict[str, Any] = {}
        for channel in (*CHANNELS, *(c for c in (UNKNOWN,) if sessions[c] or units[c])):
            found[f"referrals.{channel}.sessions"] = sessions[channel]
            found[f"referrals.{channel}.units"] = units[channel]
            found[f"referrals.{channel}.units_converted"] = converted[channel]
            found[f"referrals.{channel}.conversion_rate"] = rate(converted[channel], units[channel])
            found[f"referrals.{channel}.revenue_ars"] = 0.0  # Money adds what each earned
        return found

    def market(self) -> dict[str, Any]:
        """Provinces: sessions, searches, bookings, demand and the barbers active there."""
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        without = 0
        for s in self.started():
            if s.province is None:
                without += 1
            else:
                rows[s.province]["sessions"] += 1
        for e in self.of("activity"):
            field_name = {"search": "searches", "booking": "bookings"}.get(e.body["activity"])
            if field_name and self.inside(e.at):
                rows[_activity_province(e.body["province"])][field_name] += int(e.body["count"])
        active: dict[str, set[str]] = defaultdict(set)
        days = self.art_days()
        for e in [*self.of("provider_metrics"), *self.of("revenue")]:
            code, provider = province_of(e.body.get("province")), e.body.get("provider_id")
            if code and provider and (e.at + ART).date() in days:
                active[code].add(provider)
        found: dict[str, Any] = {"market.sessions_without_province": without}
        for code in set(rows) | set(active):
            row = rows[code]
            demand = row["searches"] + row["bookings"]
            prefix = f"market.provinces.{code}"
            found[f"{prefix}.sessions"] = row["sessions"]
            found[f"{prefix}.searches"] = row["searches"]
            found[f"{prefix}.bookings"] = row["bookings"]
            found[f"{prefix}.demand"] = demand
            found[f"{prefix}.active_providers"] = len(active[code])
        return found

    def art_days(self) -> set[Any]:
        """The ART days the range touches."""
        first = (self.start + ART).date()
        last = (self.end - timedelta(microseconds=1) + ART).date()
        return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def _activity_province(text: str) -> str:
    code = province_of(text) or text
    if code not in census.BY_CODE:
        raise ValueError(f"the activity feed names no province: {text!r}")
    return code


def _step(value: object) -> int:
    if isinstance(value, str) and not value.isdigit():
        return STEP_NAMES.index(value) + 1
    return int(str(value))


def _funnel(prefix: str, chains: Iterable[tuple[int, ...]]) -> dict[str, Any]:
    """The per-step figures of a set of chosen chains."""
    chains = list(chains)
    units = [sum(1 for c in chains if len(c) >= k) for k in range(1, len(STEP_NAMES) + 1)]
    found: dict[str, Any] = {}
    for k in range(1, len(STEP_NAMES) + 1):
        n, previous = units[k - 1], units[k - 2] if k > 1 else units[0]
        gaps = [c[k - 1] - c[k - 2] for c in chains if len(c) >= k] if k > 1 else []
        step = f"{prefix}.steps.{k}"
        found[f"{step}.units"] = n
        found[f"{step}.conversion_from_start"] = rate(n, units[0])
        found[f"{step}.drop_off"] = previous - n
        if k > 1:
            found[f"{step}.conversion_from_previous"] = rate(n, previous)
            found[f"{step}.drop_off_rate"] = rate(previous - n, previous)
            found[f"{step}.median_seconds_from_previous"] = (
                round(statistics.median(gaps) / 1_000_000, 3) if gaps else None
            )
    return found
