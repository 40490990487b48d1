"""The schema as SQLAlchemy Core tables; migrations under ``migrations/`` create it.

Times are integer microseconds since the Unix epoch, UTC: the same arithmetic works on SQLite
and PostgreSQL, bucketing by hour or day is integer division, and nothing depends on a
driver's time-zone handling. Money is integer centavos beside its ISO 4217 currency.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 128  # longest accepted identifier (session, user, provider, booking ids)
ONLY_ON = "only_on"  # the Index.info key naming the one database an index is built on


def sqlite_only(index: Index) -> Index:
    """Return ``index``, built on SQLite alone: its ``info`` says so to schema comparisons."""
    index.info[ONLY_ON] = "sqlite"
    return index.ddl_if(dialect="sqlite")


# Every accepted event, of every type, in one wide table: one INSERT per group commit.
events = Table(
    "events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("type", String(20), nullable=False),
    Column("body_hash", String(32), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("session_id", String(ID)),
    Column("user_id", String(ID)),
    # action
    Column("action", String(64)),
    Column("properties", Text),
    # funnel
    Column("step", SmallInteger),
    Column("booking_id", String(ID)),
    Column("provider_id", String(ID)),
    Column("service_id", String(ID)),
    # provider metrics
    Column("provider_event", String(32)),
    Column("rating", SmallInteger),
    # revenue
    Column("payment_id", String(64)),
    Column("amount_cents", BigInteger),
    Column("currency", String(3)),
    Column("status", String(32)),
    Column("payment_method", String(32)),
    Column("payment_type", String(32)),
    Column("installments", SmallInteger),
    Column("commission_cents", BigInteger),
    # Argentina activity (and the place of provider and revenue events)
    Column("province", String(4)),
    Column("city", String(ID)),
    Column("activity", String(32)),
    Column("count", Integer),
    Index("ix_events_type_occurred_at", "type", "occurred_at"),
    Index("ix_events_session_id", "session_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(ID), primary_key=True),
    # False while the session is only known from its events (no session/start yet).
    Column("explicit", Boolean, nullable=False),
    Column("body_hash", String(32)),
    Column("user_id", String(ID)),
    Column("anonymous_id", String(ID)),
    Column("user_type", String(16)),
    Column("device_type", String(16)),
    Column("os", String(64)),
    Column("browser", String(64)),
    Column("province", String(4)),
    Column("city", String(ID)),
    Column("source", String(ID)),
    Column("medium", String(ID)),
    Column("campaign", String(ID)),
    Column("referrer_url", Text),
    Column("landing_url", Text),
    Column("referral_channel", String(16)),
    Column("started_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("event_count", Integer, nullable=False),
    Index("ix_sessions_started_at", "started_at"),
    Index("ix_sessions_last_seen_at", "last_seen_at"),
    Index("ix_sessions_user_id", "user_id"),
)

# A payment's state: the fields of its latest status event by ``status_at``.
payments = Table(
    "payments",
    metadata,
    Column("payment_id", String(64), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("status_at", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("commission_cents", BigInteger),
    Column("booking_id", String(ID)),
    Column("provider_id", String(ID)),
    Column("user_id", String(ID)),
    Column("payment_method", String(32)),
    Column("payment_type", String(32)),
    Column("installments", SmallInteger),
    Column("province", String(4)),
    # Earliest approval seen, whatever the status is now: revenue counts it on that day, with
    # the fields of that approving event (amount, commission, method...).
    Column("first_approved_at", BigInteger),
    Column("approved_amount_cents", BigInteger),
    Column("approved_currency", String(3)),
    Column("approved_commission_cents", BigInteger),
    Column("approved_method", String(32)),
    Column("approved_type", String(32)),
    Column("approved_installments", SmallInteger),
    Column("approved_provider_id", String(ID)),
    Column("approved_user_id", String(ID)),
    # The referral channel of the payer's first touch (``units``), kept by triggers (migration
    # 0007): when the payment gets its payer and when the payer's first touch changes. NULL
    # when the payer was never seen in a session.
    Column("payer_channel", String(16)),
    # First refund and first chargeback: counted at the time of that event, by its amount.
    Column("refunded_at", BigInteger),
    Column("refunded_cents", BigInteger),
    Column("refunded_currency", String(3)),
    Column("charged_back_at", BigInteger),
    Column("chargeback_cents", BigInteger),
    Column("chargeback_currency", String(3)),
    Index("ix_payments_first_approved_at", "first_approved_at"),
    Index("ix_payments_status_at", "status_at"),
    Index("ix_payments_refunded_at", "refunded_at"),
    Index("ix_payments_charged_back_at", "charged_back_at"),
    Index(
        "ix_payments_approved_user_id",
        "approved_user_id",
        sqlite_where=text("approved_user_id IS NOT NULL"),
        postgresql_where=text("approved_user_id IS NOT NULL"),
    ),
)

# ---------------------------------------------------------------------------------------------
# Rollups, kept up to date by the writer in the same transaction as the events (migration 0002).
# Hours are UTC hour numbers (micros // 3600e6); ART is UTC-3 without DST, so an hour bucket is
# also an ART hour. Days and weeks are ART day numbers (see barberpro.analytics.timebuckets).

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
    Column("t1", BigInteger, nullable=False),
    Column("reach", SmallInteger, nullable=False),
    Column("t2", BigInteger),
    Column("t3", BigInteger),
    Column("t4", BigInteger),
    Column("t5", BigInteger),
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
    Column("t1", BigInteger, nullable=False),
    Column("g2", BigInteger),
    Column("g3", BigInteger),
    Column("g4", BigInteger),
    Column("g5", BigInteger),
    Column("province", String(4)),
    Column("device_type", String(16)),
    Column("referral_channel", String(16)),
    Index("ix_funnel_days_unit", "unit"),
    Index("ix_funnel_days_day_channel_reach", "day", "referral_channel", "reach"),
    *(
        Index(
            f"ix_funnel_days_day_g{k}",
            "day",
            f"g{k}",
            sqlite_where=text(f"g{k} IS NOT NULL"),
            postgresql_where=text(f"g{k} IS NOT NULL"),
        )
        for k in range(2, 6)
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
                f"ix_funnel_days_day_{name}_g{k}",
                "day",
                column,
                f"g{k}",
                sqlite_where=text(f"g{k} IS NOT NULL"),
            )
        )
        for name, column in (
            ("province", "province"),
            ("device", "device_type"),
            ("channel", "referral_channel"),
        )
        for k in range(2, 6)
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

# ART weeks in which a client completed a payment (funnel step 5), for retention cohorts.
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
# `payer_channel` (payers only); `refunded` and `charged_back` by currency; `rejected` by plan.
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

# ---------------------------------------------------------------------------------------------
# Alerts (migration 0003, alerts engineer): silences and the history of alert transitions.

# A silence mutes the notifications of the alerts its matchers select, from starts_at until
# ends_at; DELETE expires it (ends_at = now) rather than erasing it, as Alertmanager does.
alert_silences = Table(
    "alert_silences",
    metadata,
    Column("silence_id", String(36), primary_key=True),
    Column("matchers", Text, nullable=False),  # JSON [{"name", "value", "op"}]
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_alert_silences_ends_at", "ends_at"),
)

# Every change of phase of every alert, with whether it was muted and whether anyone was told.
alert_history = Table(
    "alert_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("fingerprint", String(16), nullable=False),
    Column("alertname", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("before", String(16), nullable=False),
    Column("after", String(16), nullable=False),
    Column("value", Float),
    Column("labels", Text, nullable=False),  # JSON object
    Column("silenced", Boolean, nullable=False),
    Column("inhibited", Boolean, nullable=False),
    Column("notified", Boolean, nullable=False),
    Index("ix_alert_history_at", "at"),
    Index("ix_alert_history_fingerprint_at", "fingerprint", "at"),
)

# ---------------------------------------------------------------------------------------------
# Payments (migration 0004, payments engineer): MercadoPago notifications and their retry queue.

# Every accepted MercadoPago notification, unique by (notification id, request id) so that
# MercadoPago's redeliveries are recognised. The table is the durable work queue: status
# pending -> processing (claimed by a worker until lease_until) -> done, or back to pending
# with a later next_attempt_at, or dead (the dead-letter list) after the last attempt; other
# topics are stored as skipped. request_id is "" when the notification carried none.
mp_notifications = Table(
    "mp_notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("notification_id", String(64), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("topic", String(32), nullable=False),
    Column("action", String(64)),
    Column("resource_id", String(64), nullable=False),
    Column("body", Text),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_owner", String(36)),
    Column("lease_until", BigInteger),
    Column("received_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("processed_at", BigInteger),
    Column("last_error", Text),
    Column("last_http_status", SmallInteger),
    Index("ux_mp_notifications_notification_request", "notification_id", "request_id", unique=True),
    Index("ix_mp_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_mp_notifications_resource_id", "resource_id"),
)
