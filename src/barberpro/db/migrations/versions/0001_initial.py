"""Events, sessions and payment state.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("body_hash", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("session_id", sa.String(ID)),
        sa.Column("user_id", sa.String(ID)),
        sa.Column("action", sa.String(64)),
        sa.Column("properties", sa.Text),
        sa.Column("step", sa.SmallInteger),
        sa.Column("booking_id", sa.String(ID)),
        sa.Column("provider_id", sa.String(ID)),
        sa.Column("service_id", sa.String(ID)),
        sa.Column("provider_event", sa.String(32)),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("payment_id", sa.String(64)),
        sa.Column("amount_cents", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("status", sa.String(32)),
        sa.Column("payment_method", sa.String(32)),
        sa.Column("payment_type", sa.String(32)),
        sa.Column("installments", sa.SmallInteger),
        sa.Column("commission_cents", sa.BigInteger),
        sa.Column("province", sa.String(4)),
        sa.Column("city", sa.String(ID)),
        sa.Column("activity", sa.String(32)),
        sa.Column("count", sa.Integer),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.create_index("ix_events_type_occurred_at", "events", ["type", "occurred_at"])
    op.create_index("ix_events_session_id", "events", ["session_id"])

    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(ID), nullable=False),
        sa.Column("explicit", sa.Boolean, nullable=False),
        sa.Column("body_hash", sa.String(32)),
        sa.Column("user_id", sa.String(ID)),
        sa.Column("anonymous_id", sa.String(ID)),
        sa.Column("user_type", sa.String(16)),
        sa.Column("device_type", sa.String(16)),
        sa.Column("os", sa.String(64)),
        sa.Column("browser", sa.String(64)),
        sa.Column("province", sa.String(4)),
        sa.Column("city", sa.String(ID)),
        sa.Column("source", sa.String(ID)),
        sa.Column("medium", sa.String(ID)),
        sa.Column("campaign", sa.String(ID)),
        sa.Column("referrer_url", sa.Text),
        sa.Column("landing_url", sa.Text),
        sa.Column("referral_channel", sa.String(16)),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_started_at", "sessions", ["started_at"])

    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_at", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("commission_cents", sa.BigInteger),
        sa.Column("booking_id", sa.String(ID)),
        sa.Column("provider_id", sa.String(ID)),
        sa.Column("user_id", sa.String(ID)),
        sa.Column("payment_method", sa.String(32)),
        sa.Column("payment_type", sa.String(32)),
        sa.Column("installments", sa.SmallInteger),
        sa.Column("province", sa.String(4)),
        sa.Column("first_approved_at", sa.BigInteger),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payments"),
    )


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_index("ix_sessions_started_at", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_events_session_id", table_name="events")
    op.drop_index("ix_events_type_occurred_at", table_name="events")
    op.drop_table("events")
