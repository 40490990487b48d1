"""Funnel rollups carry their unit's first touch; `funnel_days` keeps each unit's day.

A funnel report then reads `funnel_starts` (any range) or `funnel_days` (whole ART days) alone
instead of joining every unit of its range to `units` (on SQLite that join was two thirds of a
day's funnel). The writer fills the three columns when it stores a start or a day; when a
unit's first touch moves (a late, earlier session) or a unit is first seen after its funnel rows
(a user_id that no session carried yet), the `units_first_touch` triggers rewrite the unit's
rows of both tables in the same statement, on both databases.

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
_ART_OFFSET_US = 3 * 3_600_000_000
_DAY_US = 24 * 3_600_000_000
_SET = ", ".join(f"{d} = NEW.{d}" for d in _DIMENSIONS)

_POSTGRESQL = (
    f"""
    CREATE FUNCTION funnel_starts_follow_units() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE funnel_starts SET {_SET} WHERE unit = NEW.unit;
        UPDATE funnel_days SET {_SET} WHERE unit = NEW.unit;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE TRIGGER units_first_touch AFTER UPDATE ON units FOR EACH ROW
    WHEN ({" OR ".join(f"OLD.{d} IS DISTINCT FROM NEW.{d}" for d in _DIMENSIONS)})
    EXECUTE FUNCTION funnel_starts_follow_units()
    """,
    # A unit first seen after its funnel rows (an event whose user_id no session carried yet).
    f"""
    CREATE TRIGGER units_first_touch_new AFTER INSERT ON units FOR EACH ROW
    WHEN ({" OR ".join(f"NEW.{d} IS NOT NULL" for d in _DIMENSIONS)})
    EXECUTE FUNCTION funnel_starts_follow_units()
    """,
)
_SQLITE = tuple(
    f"""
    CREATE TRIGGER {name} AFTER {event} ON units FOR EACH ROW WHEN {when}
    BEGIN
        UPDATE funnel_starts SET {_SET} WHERE unit = NEW.unit;
        UPDATE funnel_days SET {_SET} WHERE unit = NEW.unit;
    END
    """
    for name, event, when in (
        (
            "units_first_touch",
            "UPDATE",
            " OR ".join(f"OLD.{d} IS NOT NEW.{d}" for d in _DIMENSIONS),
        ),
        (
            "units_first_touch_new",
            "INSERT",
            " OR ".join(f"NEW.{d} IS NOT NULL" for d in _DIMENSIONS),
        ),
    )
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Writers of other (running) instances wait until the copies and the triggers exist.
        op.execute("LOCK TABLE units, funnel_starts IN SHARE ROW EXCLUSIVE MODE")
    with op.batch_alter_table("funnel_starts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("province", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("device_type", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("referral_channel", sa.String(length=16), nullable=True))
    copied = ", ".join(
        f"{d} = (SELECT u.{d} FROM units AS u WHERE u.unit = funnel_starts.unit)"
        for d in _DIMENSIONS
    )
    op.execute(f"UPDATE funnel_starts SET {copied}")
    op.create_table(
        "funnel_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("reach", sa.SmallInteger(), nullable=False),
        sa.Column("t1", sa.BigInteger(), nullable=False),
        sa.Column("g2", sa.BigInteger(), nullable=True),
        sa.Column("g3", sa.BigInteger(), nullable=True),
        sa.Column("g4", sa.BigInteger(), nullable=True),
        sa.Column("g5", sa.BigInteger(), nullable=True),
        sa.Column("province", sa.String(length=4), nullable=True),
        sa.Column("device_type", sa.String(length=16), nullable=True),
        sa.Column("referral_channel", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("day", "unit", name=op.f("pk_funnel_days")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("funnel_days", schema=None) as batch_op:
        batch_op.create_index("ix_funnel_days_unit", ["unit"], unique=False)
        batch_op.create_index(
            "ix_funnel_days_day_channel_reach", ["day", "referral_channel", "reach"], unique=False
        )
        for k in range(2, 6):
            present = sa.text(f"g{k} IS NOT NULL")
            batch_op.create_index(
                f"ix_funnel_days_day_g{k}",
                ["day", f"g{k}"],
                unique=False,
                sqlite_where=present,
                postgresql_where=present,
            )
    # Each unit's best start of each ART day (ART is UTC-3: a day starts at 03:00 UTC).
    op.execute(
        f"""
        INSERT INTO funnel_days (unit, day, reach, t1, g2, g3, g4, g5, {", ".join(_DIMENSIONS)})
        SELECT unit, day, reach, t1, t2 - t1, t3 - t2, t4 - t3, t5 - t4, {", ".join(_DIMENSIONS)}
        FROM (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY unit, day ORDER BY reach DESC, t1) AS r
            FROM (SELECT *, (t1 - {_ART_OFFSET_US}) / {_DAY_US} AS day FROM funnel_starts) AS s
        ) AS ranked
        WHERE r = 1
        """
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS units_first_touch_new ON units")
        op.execute("DROP TRIGGER IF EXISTS units_first_touch ON units")
        op.execute("DROP FUNCTION IF EXISTS funnel_starts_follow_units()")
    else:
        op.execute("DROP TRIGGER IF EXISTS units_first_touch_new")
        op.execute("DROP TRIGGER IF EXISTS units_first_touch")
    op.drop_table("funnel_days")
    with op.batch_alter_table("funnel_starts", schema=None) as batch_op:
        batch_op.drop_column("referral_channel")
        batch_op.drop_column("device_type")
        batch_op.drop_column("province")
