"""Alerts: silences and the history of alert state transitions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_silences",
        sa.Column("silence_id", sa.String(length=36), nullable=False),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("silence_id", name=op.f("pk_alert_silences")),
    )
    op.create_index("ix_alert_silences_ends_at", "alert_silences", ["ends_at"])
    op.create_table(
        "alert_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("alertname", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("before", sa.String(length=16), nullable=False),
        sa.Column("after", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("silenced", sa.Boolean(), nullable=False),
        sa.Column("inhibited", sa.Boolean(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_history")),
    )
    op.create_index("ix_alert_history_at", "alert_history", ["at"])
    op.create_index("ix_alert_history_fingerprint_at", "alert_history", ["fingerprint", "at"])


def downgrade() -> None:
    op.drop_index("ix_alert_history_fingerprint_at", table_name="alert_history")
    op.drop_index("ix_alert_history_at", table_name="alert_history")
    op.drop_table("alert_history")
    op.drop_index("ix_alert_silences_ends_at", table_name="alert_silences")
    op.drop_table("alert_silences")
