"""Payments: MercadoPago notifications, the durable retry queue and its dead letters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mp_notifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=36), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_http_status", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mp_notifications")),
    )
    with op.batch_alter_table("mp_notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ux_mp_notifications_notification_request",
            ["notification_id", "request_id"],
            unique=True,
        )
        batch_op.create_index(
            "ix_mp_notifications_status_next_attempt_at",
            ["status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index("ix_mp_notifications_resource_id", ["resource_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mp_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_mp_notifications_resource_id")
        batch_op.drop_index("ix_mp_notifications_status_next_attempt_at")
        batch_op.drop_index("ux_mp_notifications_notification_request")
    op.drop_table("mp_notifications")
