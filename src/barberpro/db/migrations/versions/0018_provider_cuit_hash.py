"""A provider signup may carry its CUIT, stored only as a keyed hash (`events.cuit_hash`).

The HMAC-SHA256 (hex) of the CUIT's 11 digits under BARBERPRO_IDENTITY_HASH_KEY; the number
itself is stored nowhere. NULL for every other event and for signups without one.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("cuit_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("cuit_hash")
