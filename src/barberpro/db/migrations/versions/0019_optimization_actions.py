"""The optimization engine's audit log (`optimization_actions`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "optimization_actions",
        sa.Column("action_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("move", sa.String(32), nullable=False),
        sa.Column("decided_at", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.String(160), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("settle_at", sa.BigInteger),
        sa.Column("after", sa.Text),
        sa.Column("verdict_reason", sa.Text),
        sa.Column("change", sa.Float),
        sa.Column("cooldown_until", sa.BigInteger),
        sa.Column("judged_at", sa.BigInteger),
        sa.PrimaryKeyConstraint("action_id", name="pk_optimization_actions"),
    )
    op.create_index("ix_optimization_actions_decided_at", "optimization_actions", ["decided_at"])
    op.create_index(
        "ix_optimization_actions_kind_target", "optimization_actions", ["kind", "target"]
    )
    op.create_index(
        "ix_optimization_actions_state_settle_at", "optimization_actions", ["state", "settle_at"]
    )
    op.create_index(
        "ix_optimization_actions_state_cooldown_until",
        "optimization_actions",
        ["state", "cooldown_until"],
    )


def downgrade() -> None:
    op.drop_table("optimization_actions")
