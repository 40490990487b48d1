"""Sessions and events keep the text of a province we could not recognise.

An unrecognised province ("Capitl") no longer refuses the session: the province is stored
unknown (NULL, as a session without one) and the text as sent goes to `province_as_sent`, for
review. Nothing reads it for a figure.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("sessions", "events")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("province_as_sent", sa.String(128), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("province_as_sent")
