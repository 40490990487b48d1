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
    p = tables.payments
    # Each payment holds its payer's first-touch channel (kept by triggers, migration 0007);
    # a payer never seen in a session has none and counts as unknown.
    revenue: dict[str, int] = {}
    for found, amount in await conn.execute(
        select(p.c.payer_channel, func.sum(p.c.approved_amount_cents))
        .where(
            *approved_in(span),
            p.c.approved_currency == BASE_CURRENCY,
            p.c.approved_user_id.is_not(None),
        )
        .group_by(p.c.payer_channel)
    ):
        key = found or UNKNOWN
        revenue[key] = revenue.get(key, 0) + int(amount or 0)
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
