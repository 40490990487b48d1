"""Funnel starts carry their unit's first-touch dimensions; a trigger keeps them current.

A funnel report then reads `funnel_starts` alone instead of joining every unit of its range to
`units` (on SQLite that join was two thirds of a day's funnel). The writer fills the three
columns when it stores a start; when a unit's first touch moves (a late, earlier session), the
`units_first_touch` trigger rewrites the unit's starts in the same statement, on both databases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIMENSIONS = ("province", "device_type", "referral_channel")
_SET = ", ".join(f"{d} = NEW.{d}" for d in _DIMENSIONS)

_POSTGRESQL = (
    f"""
    CREATE FUNCTION funnel_starts_follow_units() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE funnel_starts SET {_SET} WHERE unit = NEW.unit;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE TRIGGER units_first_touch AFTER UPDATE ON units FOR EACH ROW
    WHEN ({" OR ".join(f"OLD.{d} IS DISTINCT FROM NEW.{d}" for d in _DIMENSIONS)})
    EXECUTE FUNCTION funnel_starts_follow_units()
    """,
)
_SQLITE = (
    f"""
    CREATE TRIGGER units_first_touch AFTER UPDATE ON units FOR EACH ROW
    WHEN {" OR ".join(f"OLD.{d} IS NOT NEW.{d}" for d in _DIMENSIONS)}
    BEGIN
        UPDATE funnel_starts SET {_SET} WHERE unit = NEW.unit;
    END
    """,
)


def upgrade() -> None:
    with op.batch_alter_table("funnel_starts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("province", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("device_type", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("referral_channel", sa.String(length=16), nullable=True))
    copied = ", ".join(
        f"{d} = (SELECT u.{d} FROM units AS u WHERE u.unit = funnel_starts.unit)"
        for d in _DIMENSIONS
    )
    op.execute(f"UPDATE funnel_starts SET {copied}")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS units_first_touch ON units")
        op.execute("DROP FUNCTION IF EXISTS funnel_starts_follow_units()")
    else:
        op.execute("DROP TRIGGER IF EXISTS units_first_touch")
    with op.batch_alter_table("funnel_starts", schema=None) as batch_op:
        batch_op.drop_column("referral_channel")
        batch_op.drop_column("device_type")
        batch_op.drop_column("province")
