"""What the writer stores of each accepted event: the events, their sessions, payment states.

Times are integer microseconds since the Unix epoch, UTC; money is integer centavos beside its
ISO 4217 currency (see :mod:`barberpro.db.tables`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

from barberpro.db.tables.base import ID, metadata

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
    # The text of a province we could not recognise (province is then NULL: unknown).
    Column("province_as_sent", String(128)),
    Column("city", String(ID)),
    Column("activity", String(32)),
    Column("count", Integer),
    # A provider_signup's CUIT as HMAC-SHA256 (hex) under BARBERPRO_IDENTITY_HASH_KEY: never
    # the number (migration 0018).
    Column("cuit_hash", String(64)),
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
    # The text of a province we could not recognise (province is then NULL: unknown).
    Column("province_as_sent", String(128)),
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
