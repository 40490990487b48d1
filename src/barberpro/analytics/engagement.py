"""Sessions and what people do in them: counts, length, actions, devices, returning clients."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import hourly
from barberpro.analytics.range import Range
from barberpro.db import tables

UNKNOWN = "unknown"


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


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


async def session_split(conn: AsyncConnection, span: Range, column: str) -> dict[str, int]:
    """Return the sessions started in ``span`` counted by one of their columns."""
    s = tables.sessions
    query = (
        select(s.c[column], func.count())
        .where(s.c.started_at >= span.start_us, s.c.started_at < span.end_us)
        .group_by(s.c[column])
    )
    found: dict[str, int] = {}
    for value, count in await conn.execute(query):
        key = value or UNKNOWN
        found[key] = found.get(key, 0) + count
    return found


async def engagement(
    conn: AsyncConnection, span: Range, *, now_us: int, session_timeout_us: int, top: int = 10
) -> dict[str, Any]:
    """Return the engagement section of the reports."""
    s, u = tables.sessions, tables.units
    in_range = (s.c.started_at >= span.start_us, s.c.started_at < span.end_us)
    sessions, total_seconds = (
        await conn.execute(
            select(func.count(), func.sum(s.c.last_seen_at - s.c.started_at)).where(*in_range)
        )
    ).one()
    active = (
        await conn.execute(
            select(func.count()).where(s.c.last_seen_at >= now_us - session_timeout_us)
        )
    ).scalar_one()
    returning = (
        await conn.execute(
            select(func.count(distinct(s.c.user_id)))
            .select_from(s.join(u, u.c.unit == s.c.user_id))
            .where(
                *in_range, s.c.user_type.is_distinct_from("provider"), u.c.first_at < span.start_us
            )
        )
    ).scalar_one()
    actions = await action_counts(conn, span)
    action_total = sum(actions.values())
    devices = await session_split(conn, span, "device_type")
    top_actions = sorted(actions.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {
        "sessions": sessions,
        "active_sessions": active,
        "avg_session_seconds": None if not sessions else int(total_seconds or 0) / sessions / 1e6,
        "actions": action_total,
        "actions_per_session": None if not sessions else action_total / sessions,
        "top_actions": [{"action": a, "count": c} for a, c in top_actions],
        "devices": [
            {"device_type": d, "sessions": c, "share": _share(c, sessions)}
            for d, c in sorted(devices.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "returning_clients": returning,
    }
