"""Referral channels: sessions, funnel units, conversions and revenue by first touch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import engagement
from barberpro.analytics.funnel import UNKNOWN
from barberpro.analytics.money import BASE_CURRENCY, ars
from barberpro.analytics.range import Range
from barberpro.analytics.revenue import approved_in
from barberpro.argentina import CHANNELS
from barberpro.db import tables


async def referrals(
    conn: AsyncConnection,
    span: Range,
    units: Mapping[str, tuple[int, int]],
    *,
    mix: engagement.SessionMix | None = None,
) -> list[dict[str, Any]]:
    """Return one row per channel (every named channel always listed, WhatsApp first).

    ``units``: (funnel units, units that completed a payment) by first-touch channel.
    """
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
    channels = list(CHANNELS)
    extra = sorted((set(sessions) | set(units) | set(revenue)) - set(channels))
    rows = []
    for channel in channels + extra:
        reached, converted = units.get(channel, (0, 0))
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
