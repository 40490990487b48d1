"""Referral channels: sessions, funnel units, conversions and revenue by first touch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import engagement
from barberpro.analytics.funnel import UNKNOWN, UnitPath
from barberpro.analytics.funnel_math import LAST_STEP
from barberpro.analytics.money import BASE_CURRENCY, ars
from barberpro.analytics.range import Range
from barberpro.analytics.revenue import approved_in
from barberpro.argentina import CHANNELS
from barberpro.db import tables


async def referrals(
    conn: AsyncConnection,
    span: Range,
    paths: Sequence[UnitPath],
    *,
    mix: engagement.SessionMix | None = None,
) -> list[dict[str, Any]]:
    """Return one row per channel (every named channel always listed, WhatsApp first)."""
    if mix is None:
        mix = await engagement.session_mix(conn, span)
    sessions = mix.split("referral_channel")
    p, u = tables.payments, tables.units
    revenue = {
        channel or UNKNOWN: int(amount or 0)
        for channel, amount in await conn.execute(
            select(u.c.referral_channel, func.sum(p.c.approved_amount_cents))
            .select_from(p.join(u, u.c.unit == p.c.approved_user_id))
            .where(*approved_in(span), p.c.approved_currency == BASE_CURRENCY)
            .group_by(u.c.referral_channel)
        )
    }
    units: dict[str, list[int]] = {}
    for path in paths:
        counts = units.setdefault(path.referral_channel, [0, 0])
        counts[0] += 1
        counts[1] += path.reach == LAST_STEP
    channels = list(CHANNELS)
    extra = sorted((set(sessions) | set(units) | set(revenue)) - set(channels))
    rows = []
    for channel in channels + extra:
        reached, converted = units.get(channel, [0, 0])
        rows.append(
            {
                "channel": channel,
                "sessions": sessions.get(channel, 0),
                "units": reached,
                "units_converted": converted,
                "conversion_rate": converted / reached if reached else None,
                "revenue_ars": ars(revenue.get(channel, 0)),
            }
        )
    return rows
