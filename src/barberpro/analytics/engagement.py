"""Sessions and what people do in them: counts, length, actions, devices, returning clients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import hourly
from barberpro.analytics.funnel_definition import UNKNOWN
from barberpro.analytics.range import Range, whole_days
from barberpro.api.numbers import rate
from barberpro.argentina.timezone import ART_DAYS
from barberpro.db import tables


def _share(part: int, whole: int) -> float | None:
    return rate(part, whole)


async def action_counts(conn: AsyncConnection, span: Range) -> dict[str, int]:
    """Return how many times each action happened in ``span``."""
    ah, ev = tables.action_hourly, tables.events
    found = await hourly.sums(
        conn,
        span,
        keys=1,
        from_rollup=lambda lo, hi: (
            select(ah.c.action, func.sum(ah.c.count))
            .where(ah.c.hour >= lo, ah.c.hour < hi)
            .group_by(ah.c.action)
        ),
        from_events=lambda a, b: (
            select(ev.c.action, func.count())
            .where(ev.c.type == "action", ev.c.occurred_at >= a, ev.c.occurred_at < b)
            .group_by(ev.c.action)
        ),
    )
    return {key[0]: values[0] for key, values in found.items()}


class MixGroup(NamedTuple):
    """Sessions sharing a device, channel, province and city, and their summed length."""

    device_type: str | None
    referral_channel: str | None
    province: str | None
    city: str | None
    sessions: int
    duration_us: int


@dataclass(frozen=True, slots=True)
class SessionMix:
    """The sessions started in a range, counted by device, channel, province and city.

    One grouped scan of the range's sessions serves every section that splits them
    (engagement, referrals, market), instead of one scan each.
    """

    groups: tuple[MixGroup, ...]

    @property
    def sessions(self) -> int:
        """Sessions started in the range."""
        return sum(group.sessions for group in self.groups)

    @property
    def duration_us(self) -> int:
        """Their lengths (last event - start), summed."""
        return sum(group.duration_us for group in self.groups)

    def split(self, column: str) -> dict[str, int]:
        """Return the sessions counted by ``device_type`` or ``referral_channel``."""
        found: dict[str, int] = {}
        for group in self.groups:
            key = getattr(group, column) or UNKNOWN
            found[key] = found.get(key, 0) + group.sessions
        return found

    def places(self) -> dict[tuple[str | None, str], int]:
        """Return the sessions counted by (province, city), city '' when unknown."""
        found: dict[tuple[str | None, str], int] = {}
        for group in self.groups:
            key = (group.province, group.city or "")
            found[key] = found.get(key, 0) + group.sessions
        return found


async def session_mix(conn: AsyncConnection, span: Range) -> SessionMix:
    """Return the sessions started in ``span`` by device, channel, province and city.

    Whole ART days come from the ``session_days`` rollup ('' there stands for none), the rest
    of the range from the sessions themselves.
    """
    s, sd = tables.sessions, tables.session_days
    names = MixGroup._fields[:4]
    found = await hourly.sums(
        conn,
        span,
        keys=len(names),
        from_rollup=lambda lo, hi: (
            select(
                *(func.nullif(sd.c[name], "") for name in names),
                func.sum(sd.c.sessions),
                func.sum(sd.c.duration_us),
            )
            .where(sd.c.day >= lo, sd.c.day < hi)
            .group_by(*(sd.c[name] for name in names))
            .having(func.sum(sd.c.sessions) > 0)
        ),
        from_events=lambda a, b: (
            select(
                *(s.c[name] for name in names),
                func.count(),
                func.sum(s.c.last_seen_at - s.c.started_at),
            )
            .where(s.c.started_at >= a, s.c.started_at < b)
            .group_by(*(s.c[name] for name in names))
        ),
        bucket=ART_DAYS,
    )
    return SessionMix(tuple(MixGroup(*key, *values) for key, values in found.items()))


async def engagement(
    conn: AsyncConnection,
    span: Range,
    *,
    now_us: int,
    session_timeout_us: int,
    top: int = 10,
    mix: SessionMix | None = None,
    returning: bool = True,
) -> dict[str, Any]:
    """Return the engagement section of the reports (``mix``: the range's, if already read).

    ``returning=False`` leaves out ``returning_clients`` (the dashboard does not show it): over
    whole days a count of ``client_days`` rows, over a datetime range a join of the range's
    sessions to ``units``, which grows with every unit ever seen.
    """
    s = tables.sessions
    if mix is None:
        mix = await session_mix(conn, span)
    sessions, total_us = mix.sessions, mix.duration_us
    active = (
        await conn.execute(
            select(func.count()).where(s.c.last_seen_at >= now_us - session_timeout_us)
        )
    ).scalar_one()
    actions = await action_counts(conn, span)
    action_total = sum(actions.values())
    devices = mix.split("device_type")
    top_actions = sorted(actions.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    found: dict[str, Any] = {
        "sessions": sessions,
        "active_sessions": active,
        "avg_session_seconds": None if not sessions else round(total_us / sessions / 1e6, 3),
        "actions": action_total,
        "actions_per_session": rate(action_total, sessions),
        "top_actions": [{"action": a, "count": c} for a, c in top_actions],
        "devices": [
            {"device_type": d, "sessions": c, "share": _share(c, sessions)}
            for d, c in sorted(devices.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }
    if returning:
        found["returning_clients"] = await returning_clients(conn, span)
    return found


async def returning_clients(conn: AsyncConnection, span: Range) -> int:
    """Return the clients (non-provider users) of the range's sessions first seen before it.

    Whole ART days count from ``client_days`` (sessions by day and client, with the client's
    first day); other ranges join their sessions to ``units``.
    """
    days = whole_days(span)
    if days is not None:
        cd = tables.client_days
        first, last = days
        clients = cd.c.user_id if first == last else distinct(cd.c.user_id)
        query = select(func.count(clients)).where(
            cd.c.day >= first, cd.c.day <= last, cd.c.first_day < first, cd.c.sessions > 0
        )
    else:
        s, u = tables.sessions, tables.units
        query = (
            select(func.count(distinct(s.c.user_id)))
            .select_from(s.join(u, u.c.unit == s.c.user_id))
            .where(
                s.c.started_at >= span.start_us,
                s.c.started_at < span.end_us,
                s.c.user_type.is_distinct_from("provider"),
                u.c.first_at < span.start_us,
            )
        )
    return int((await conn.execute(query)).scalar_one())
