"""The analytics rollups, kept up to date by the writer and by triggers (migration 0002 on).

Hours are UTC hour numbers, days and weeks ART day and week numbers, all floored from epoch
microseconds as :mod:`barberpro.argentina.timezone` defines them (ART is UTC-3 without DST,
so an hour bucket is also an ART hour). The funnel's chains have a time column per step and a
gap column per step after the first, named by :mod:`barberpro.analytics.funnel_definition`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table, text

from barberpro.analytics.funnel_definition import GAP_COLUMNS, TIME_COLUMNS
from barberpro.db.tables.base import ID, metadata, sqlite_only

# Every funnel step event with its unit (user_id, else session_id).
funnel_events = Table(
    "funnel_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("unit", String(ID), nullable=False),
    Column("step", SmallInteger, nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Index("ix_funnel_events_unit_occurred_at", "unit", "occurred_at"),
)

# One row per step-1 event: how far the unit got from it within the funnel window (greedy
# earliest chain), with the time of each step reached, and the unit's first-touch dimensions
# copied from `units` (kept equal to them by the `units_first_touch` trigger of migration
# 0005), so that a funnel report reads one table.
funnel_starts = Table(
    "funnel_starts",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("unit", String(ID), nullable=False),
    Column(TIME_COLUMNS[0], BigInteger, nullable=False),
    Column("reach", SmallInteger, nullable=False),
    *(Column(name, BigInteger) for name in TIME_COLUMNS[1:]),
    Column("province", String(4)),
    Column("device_type", String(16)),
    Column("referral_channel", String(16)),
    Index("ix_funnel_starts_t1", "t1"),
    Index("ix_funnel_starts_unit", "unit"),
)

# Sessions by the ART day they started on and their device, channel, province and city ('' for
# none), with their summed length (last event - start). Kept by triggers on `sessions`
# (migration 0006) in the statement that changes a session, so no writer can miss it.
session_days = Table(
    "session_days",
    metadata,
    Column("day", Integer, primary_key=True),
    Column("device_type", String(16), primary_key=True),
    Column("referral_channel", String(16), primary_key=True),
    Column("province", String(4), primary_key=True),
    Column("city", String(ID), primary_key=True),
    Column("sessions", BigInteger, nullable=False),
    Column("duration_us", BigInteger, nullable=False),
)

# Each unit's chosen chain of each ART day (furthest reach, then earliest start, among its
# starts of that day), as t1 and the gaps between steps, with its first touch: a whole-day
# funnel reads one row per unit (no grouping) from one stretch of the table, and the dashboard
# reads counts by reach and the median gaps through the (day, ...) indexes alone.
funnel_days = Table(
    "funnel_days",
    metadata,
    Column("day", Integer, primary_key=True),
    Column("unit", String(ID), primary_key=True),
    Column("reach", SmallInteger, nullable=False),
    Column(TIME_COLUMNS[0], BigInteger, nullable=False),
    *(Column(gap, BigInteger) for gap in GAP_COLUMNS),
    Column("province", String(4)),
    Column("device_type", String(16)),
    Column("referral_channel", String(16)),
    Index("ix_funnel_days_unit", "unit"),
    Index("ix_funnel_days_day_channel_reach", "day", "referral_channel", "reach"),
    *(
        Index(
            f"ix_funnel_days_day_{gap}",
            "day",
            gap,
            sqlite_where=text(f"{gap} IS NOT NULL"),
            postgresql_where=text(f"{gap} IS NOT NULL"),
        )
        for gap in GAP_COLUMNS
    ),
    # SQLite's whole-day funnel with breakdowns (migration 0011): units by reach and the median
    # gaps of each province and device type from indexes, as of each channel above.
    *(
        sqlite_only(Index(f"ix_funnel_days_day_{name}_reach", "day", column, "reach"))
        for name, column in (("province", "province"), ("device", "device_type"))
    ),
    *(
        sqlite_only(
            Index(
                f"ix_funnel_days_day_{name}_{gap}",
                "day",
                column,
                gap,
                sqlite_where=text(f"{gap} IS NOT NULL"),
            )
        )
        for name, column in (
            ("province", "province"),
            ("device", "device_type"),
            ("channel", "referral_channel"),
        )
        for gap in GAP_COLUMNS
    ),
    # SQLite stores the rows in primary-key order, so a day's rows lie together.
    sqlite_with_rowid=False,
)

# First touch of every unit (a user_id or a session_id): its earliest session's dimensions.
units = Table(
    "units",
    metadata,
    Column("unit", String(ID), primary_key=True),
    Column("first_at", BigInteger, nullable=False),
    Column("first_session_id", String(ID), nullable=False),
    Column("province", String(4)),
    Column("device_type", String(16)),
    Column("referral_channel", String(16)),
)

# ART weeks in which a client completed a payment (the funnel's last step), for retention
# cohorts.
client_weeks = Table(
    "client_weeks",
    metadata,
    Column("unit", String(ID), primary_key=True),
    Column("week", Integer, primary_key=True),
)
client_cohorts = Table(
    "client_cohorts",
    metadata,
    Column("unit", String(ID), primary_key=True),
    Column("cohort_week", Integer, nullable=False),
    Index("ix_client_cohorts_cohort_week", "cohort_week"),
)

# Retention counts: clients by cohort week and by week of a completed payment, kept by triggers
# on `client_weeks` and `client_cohorts` (migration 0010).
cohort_weeks = Table(
    "cohort_weeks",
    metadata,
    Column("cohort_week", Integer, primary_key=True),
    Column("week", Integer, primary_key=True),
    Column("clients", BigInteger, nullable=False),
)

# Clients' sessions by ART day (a session's user_id, unless a provider's), with the ART day of
# the client's first touch (units.first_at), kept by triggers on `sessions` and `units`
# (migration 0009): a range of whole days counts its returning clients from its own rows.
client_days = Table(
    "client_days",
    metadata,
    Column("day", Integer, primary_key=True),
    Column("user_id", String(ID), primary_key=True),
    Column("sessions", Integer, nullable=False),
    Column("first_day", Integer),
    Index("ix_client_days_user_id", "user_id"),
    sqlite_with_rowid=False,
)

action_hourly = Table(
    "action_hourly",
    metadata,
    Column("hour", Integer, primary_key=True),
    Column("action", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# city is "" when the event named none (primary-key columns cannot be NULL).
activity_hourly = Table(
    "activity_hourly",
    metadata,
    Column("hour", Integer, primary_key=True),
    Column("province", String(4), primary_key=True),
    Column("city", String(ID), primary_key=True),
    Column("activity", String(32), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

provider_hourly = Table(
    "provider_hourly",
    metadata,
    Column("hour", Integer, primary_key=True),
    Column("provider_id", String(ID), primary_key=True),
    Column("completed", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
    Column("no_shows", Integer, nullable=False),
    Column("ratings", Integer, nullable=False),
    Column("rating_sum", Integer, nullable=False),
)

# Providers seen active (any provider event) per ART day and province, for market supply.
provider_days = Table(
    "provider_days",
    metadata,
    Column("day", Integer, primary_key=True),
    Column("province", String(4), primary_key=True),
    Column("provider_id", String(ID), primary_key=True),
)

# Each UTC hour's revenue figures (migration 0008), kept by triggers on `payments`: one row per
# measure and value ('' where the payment has none; plans as text). `approved` by currency;
# the same approvals by `approved_method` (method, type), `approved_installments` (plan) and
# `payer_channel` (payers only); `refunded` and `charged_back` by currency; `rejected` by plan;
# `refunded_commission` and `charged_back_commission` (migration 0014): the commission a
# payment's first return takes back, by the approval's currency.
payment_hours = Table(
    "payment_hours",
    metadata,
    Column("hour", Integer, primary_key=True),
    Column("measure", String(24), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("part", String(32), primary_key=True),
    Column("detail", String(32), primary_key=True),
    Column("payments", BigInteger, nullable=False),
    Column("cents", BigInteger, nullable=False),
    Column("commission_cents", BigInteger, nullable=False),
)
