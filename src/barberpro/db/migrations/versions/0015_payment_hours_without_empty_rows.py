"""`payment_hours` keeps no row whose figures are all zero.

A payment that moves between groups of an hour (SQLite gives a new payment its payer's channel
in an update after the insert; an approval of a payment that was pending moves it) leaves the
group it left at zero. Reports skip such rows, but they piled up on SQLite only, so the two
databases' tables differed; a row trigger on both now deletes a row its update or insert leaves
empty, and the upgrade deletes the ones already there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EMPTY = "{r}.payments = 0 AND {r}.cents = 0 AND {r}.commission_cents = 0"
_SAME_KEY = " AND ".join(
    f"{c} = NEW.{c}" for c in ("hour", "measure", "currency", "part", "detail")
)
_DELETE = f"DELETE FROM payment_hours WHERE {_SAME_KEY}"
_EVENTS = ("INSERT", "UPDATE")


def upgrade() -> None:
    op.execute(f"DELETE FROM payment_hours WHERE {_EMPTY.format(r='payment_hours')}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION payment_hours_drop_empty() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {_DELETE};
                RETURN NULL;
            END $$
            """
        )
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER payment_hours_drop_empty_{event.lower()} AFTER {event} ON "
                f"payment_hours FOR EACH ROW WHEN ({_EMPTY.format(r='NEW')}) "
                "EXECUTE FUNCTION payment_hours_drop_empty()"
            )
        return
    for event in _EVENTS:
        op.execute(
            f"CREATE TRIGGER payment_hours_drop_empty_{event.lower()} AFTER {event} ON "
            f"payment_hours FOR EACH ROW WHEN {_EMPTY.format(r='NEW')} BEGIN {_DELETE}; END"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for event in _EVENTS:
        name = f"payment_hours_drop_empty_{event.lower()}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON payment_hours" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS payment_hours_drop_empty()")
