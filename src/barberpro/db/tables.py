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
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 128  # longest accepted identifier (session, user, provider, booking ids)

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
    # Earliest approval seen, whatever the status is now: revenue counts it on that day.
    Column("first_approved_at", BigInteger),
)
