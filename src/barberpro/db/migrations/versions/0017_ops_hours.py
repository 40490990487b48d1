"""Each process's monitoring series by hour (`ops_hours`), for the launch report.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ops_hours",
        sa.Column("hour", sa.BigInteger, nullable=False),
        sa.Column("process", sa.String(160), nullable=False),
        sa.Column("series", sa.Text, nullable=False),
        sa.Column("samples", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("hour", "process", name="pk_ops_hours"),
    )


def downgrade() -> None:
    op.drop_table("ops_hours")
