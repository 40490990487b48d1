"""Payments carry their payer's referral channel.

Referral revenue groups a range's approved payments by the channel of each payer's first touch.
Looking that channel up in `units` for every payment was the largest part of a full day's
dashboard; the payment row now holds it (`payer_channel`), so the report reads the payments of
its range alone. Triggers keep the copy exact on both databases: on `payments` when a payment
gets its payer, on `units` when a payer's first touch changes or a payer is first seen after
paying (an event whose user_id no session carried yet).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAYER = "(SELECT u.referral_channel FROM units AS u WHERE u.unit = {user})"
_FOLLOW = (
    "UPDATE payments SET payer_channel = NEW.referral_channel WHERE approved_user_id = NEW.unit"
)

_POSTGRESQL = (
    f"""
    CREATE FUNCTION payments_payer_channel() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.payer_channel := {_PAYER.format(user="NEW.approved_user_id")};
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER payments_payer_new BEFORE INSERT ON payments FOR EACH ROW
    WHEN (NEW.approved_user_id IS NOT NULL)
    EXECUTE FUNCTION payments_payer_channel()
    """,
    """
    CREATE TRIGGER payments_payer BEFORE UPDATE ON payments FOR EACH ROW
    WHEN (NEW.approved_user_id IS DISTINCT FROM OLD.approved_user_id)
    EXECUTE FUNCTION payments_payer_channel()
    """,
    f"""
    CREATE FUNCTION payments_follow_units() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_FOLLOW};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER units_payer_channel AFTER UPDATE ON units FOR EACH ROW
    WHEN (OLD.referral_channel IS DISTINCT FROM NEW.referral_channel)
    EXECUTE FUNCTION payments_follow_units()
    """,
    """
    CREATE TRIGGER units_payer_channel_new AFTER INSERT ON units FOR EACH ROW
    WHEN (NEW.referral_channel IS NOT NULL)
    EXECUTE FUNCTION payments_follow_units()
    """,
)
# SQLite's triggers cannot change NEW: the payment's trigger updates the row it just wrote
# (recursive triggers are off, and that update names no column these triggers watch anyway).
_SQLITE = (
    f"""
    CREATE TRIGGER payments_payer_new AFTER INSERT ON payments FOR EACH ROW
    WHEN NEW.approved_user_id IS NOT NULL
    BEGIN
        UPDATE payments SET payer_channel = {_PAYER.format(user="NEW.approved_user_id")}
        WHERE payment_id = NEW.payment_id;
    END
    """,
    f"""
    CREATE TRIGGER payments_payer AFTER UPDATE OF approved_user_id ON payments FOR EACH ROW
    WHEN NEW.approved_user_id IS NOT OLD.approved_user_id
    BEGIN
        UPDATE payments SET payer_channel = {_PAYER.format(user="NEW.approved_user_id")}
        WHERE payment_id = NEW.payment_id;
    END
    """,
    f"""
    CREATE TRIGGER units_payer_channel AFTER UPDATE ON units FOR EACH ROW
    WHEN OLD.referral_channel IS NOT NEW.referral_channel
    BEGIN
        {_FOLLOW};
    END
    """,
    f"""
    CREATE TRIGGER units_payer_channel_new AFTER INSERT ON units FOR EACH ROW
    WHEN NEW.referral_channel IS NOT NULL
    BEGIN
        {_FOLLOW};
    END
    """,
)
_TRIGGERS = {
    "payments": ("payments_payer_new", "payments_payer"),
    "units": ("units_payer_channel", "units_payer_channel_new"),
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Writers of other (running) instances wait until the copies and the triggers exist.
        op.execute("LOCK TABLE units, payments IN SHARE ROW EXCLUSIVE MODE")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payer_channel", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "ix_payments_approved_user_id",
            ["approved_user_id"],
            unique=False,
            sqlite_where=sa.text("approved_user_id IS NOT NULL"),
            postgresql_where=sa.text("approved_user_id IS NOT NULL"),
        )
    op.execute(
        f"UPDATE payments SET payer_channel = {_PAYER.format(user='payments.approved_user_id')} "
        "WHERE approved_user_id IS NOT NULL"
    )
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, names in _TRIGGERS.items():
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS payments_follow_units()")
        op.execute("DROP FUNCTION IF EXISTS payments_payer_channel()")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_approved_user_id")
        batch_op.drop_column("payer_channel")
