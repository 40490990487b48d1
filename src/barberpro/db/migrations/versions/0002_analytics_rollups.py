"""Analytics rollups: funnel starts, units, retention weeks, hourly counts, payment snapshots.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_hourly",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "action", name=op.f("pk_action_hourly")),
    )
    op.create_table(
        "activity_hourly",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=4), nullable=False),
        sa.Column("city", sa.String(length=128), nullable=False),
        sa.Column("activity", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour", "province", "city", "activity", name=op.f("pk_activity_hourly")
        ),
    )
    op.create_table(
        "client_cohorts",
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("cohort_week", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit", name=op.f("pk_client_cohorts")),
    )
    with op.batch_alter_table("client_cohorts", schema=None) as batch_op:
        batch_op.create_index("ix_client_cohorts_cohort_week", ["cohort_week"], unique=False)

    op.create_table(
        "client_weeks",
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "week", name=op.f("pk_client_weeks")),
    )
    op.create_table(
        "funnel_events",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("step", sa.SmallInteger(), nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_funnel_events")),
    )
    with op.batch_alter_table("funnel_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_funnel_events_unit_occurred_at", ["unit", "occurred_at"], unique=False
        )

    op.create_table(
        "funnel_starts",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("t1", sa.BigInteger(), nullable=False),
        sa.Column("reach", sa.SmallInteger(), nullable=False),
        sa.Column("t2", sa.BigInteger(), nullable=True),
        sa.Column("t3", sa.BigInteger(), nullable=True),
        sa.Column("t4", sa.BigInteger(), nullable=True),
        sa.Column("t5", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_funnel_starts")),
    )
    with op.batch_alter_table("funnel_starts", schema=None) as batch_op:
        batch_op.create_index("ix_funnel_starts_t1", ["t1"], unique=False)
        batch_op.create_index("ix_funnel_starts_unit", ["unit"], unique=False)

    op.create_table(
        "provider_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=4), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("day", "province", "provider_id", name=op.f("pk_provider_days")),
    )
    op.create_table(
        "provider_hourly",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("no_shows", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "provider_id", name=op.f("pk_provider_hourly")),
    )
    op.create_table(
        "units",
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("first_at", sa.BigInteger(), nullable=False),
        sa.Column("first_session_id", sa.String(length=128), nullable=False),
        sa.Column("province", sa.String(length=4), nullable=True),
        sa.Column("device_type", sa.String(length=16), nullable=True),
        sa.Column("referral_channel", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("unit", name=op.f("pk_units")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_amount_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("approved_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("approved_commission_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("approved_method", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("approved_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("approved_installments", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("approved_provider_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("approved_user_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("refunded_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("refunded_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("refunded_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("charged_back_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("chargeback_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("chargeback_currency", sa.String(length=3), nullable=True))
        batch_op.create_index("ix_payments_charged_back_at", ["charged_back_at"], unique=False)
        batch_op.create_index("ix_payments_first_approved_at", ["first_approved_at"], unique=False)
        batch_op.create_index("ix_payments_refunded_at", ["refunded_at"], unique=False)
        batch_op.create_index("ix_payments_status_at", ["status_at"], unique=False)

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_last_seen_at", ["last_seen_at"], unique=False)
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_id")
        batch_op.drop_index("ix_sessions_last_seen_at")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status_at")
        batch_op.drop_index("ix_payments_refunded_at")
        batch_op.drop_index("ix_payments_first_approved_at")
        batch_op.drop_index("ix_payments_charged_back_at")
        batch_op.drop_column("chargeback_currency")
        batch_op.drop_column("chargeback_cents")
        batch_op.drop_column("charged_back_at")
        batch_op.drop_column("refunded_currency")
        batch_op.drop_column("refunded_cents")
        batch_op.drop_column("refunded_at")
        batch_op.drop_column("approved_user_id")
        batch_op.drop_column("approved_provider_id")
        batch_op.drop_column("approved_installments")
        batch_op.drop_column("approved_type")
        batch_op.drop_column("approved_method")
        batch_op.drop_column("approved_commission_cents")
        batch_op.drop_column("approved_currency")
        batch_op.drop_column("approved_amount_cents")

    op.drop_table("units")
    op.drop_table("provider_hourly")
    op.drop_table("provider_days")
    with op.batch_alter_table("funnel_starts", schema=None) as batch_op:
        batch_op.drop_index("ix_funnel_starts_unit")
        batch_op.drop_index("ix_funnel_starts_t1")

    op.drop_table("funnel_starts")
    with op.batch_alter_table("funnel_events", schema=None) as batch_op:
        batch_op.drop_index("ix_funnel_events_unit_occurred_at")

    op.drop_table("funnel_events")
    op.drop_table("client_weeks")
    with op.batch_alter_table("client_cohorts", schema=None) as batch_op:
        batch_op.drop_index("ix_client_cohorts_cohort_week")

    op.drop_table("client_cohorts")
    op.drop_table("activity_hourly")
    op.drop_table("action_hourly")
