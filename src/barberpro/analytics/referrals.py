"""Referral channels: sessions, funnel units, conversions and revenue by first touch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import engagement, revenue
from barberpro.analytics.funnel_definition import UNKNOWN
from barberpro.analytics.money import ars
from barberpro.analytics.range import Range
from barberpro.api.numbers import rate
from barberpro.argentina import CHANNELS


async def referrals(
    conn: AsyncConnection,
    span: Range,
    units: Mapping[str, tuple[int, int]],
    *,
    mix: engagement.SessionMix | None = None,
    found: revenue.Ledger | None = None,
) -> list[dict[str, Any]]:
    """Return one row per channel (every named channel always listed, WhatsApp first).

    ``units``: (funnel units, units that completed a payment) by first-touch channel.
    """
    if mix is None:
        mix = await engagement.session_mix(conn, span)
    sessions = mix.split("referral_channel")
    if found is None:
        found = await revenue.ledger(conn, span)
    # Each payment holds its payer's first-touch channel (kept by triggers, migration 0007);
    # a payer never seen in a session has none and counts as unknown.
    amounts: dict[str, int] = {}
    for channel, cents in found.channels.items():
        key = channel or UNKNOWN
        amounts[key] = amounts.get(key, 0) + cents
    channels = list(CHANNELS)
    extra = sorted((set(sessions) | set(units) | set(amounts)) - set(channels))
    rows = []
    for channel in channels + extra:
        reached, converted = units.get(channel, (0, 0))
        rows.append(
            {
                "channel": channel,
                "sessions": sessions.get(channel, 0),
                "units": reached,
                "units_converted": converted,
                "conversion_rate": rate(converted, reached),
                "revenue_ars": ars(amounts.get(channel, 0)),
            }
        )
    return rows
