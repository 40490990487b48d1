"""Payments by UTC hour: the revenue section's figures, kept by triggers on `payments`.

A full day's revenue section grouped the day's approved payments (and, apart, its refunds,
chargebacks, rejections and the payers' channels) on every call. `payment_hours` holds each
hour's figures instead, one row per measure and value:

- `approved` (by currency): approvals, their amount and commission, at the first approval;
- `approved_method` (method, type), `approved_installments` (plan) and `payer_channel` (the
  payer's first-touch channel, '' when none; payments without a payer are not counted): the
  same approvals split three ways;
- `refunded` and `charged_back` (by currency): at the first refund or chargeback, by its amount;
- `rejected` (plan): payments whose latest status is `rejected`, at that status.

Text keys are '' where the payment has none (primary-key columns cannot be NULL); plans are
written as text. The triggers run in the statement that writes a payment, whichever code
writes it: PostgreSQL with statement-level triggers over the transition tables (one grouped
upsert per statement), SQLite with row triggers. An update adds the row's new figures and takes
away its old ones; figures that do not change cancel out and are not written.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOUR = "({at}) / 3600000000"
_KEY = ("hour", "measure", "currency", "part", "detail")
_VALUES = ("payments", "cents", "commission_cents")
_COLUMNS = ", ".join((*_KEY, *_VALUES))
_ADD = f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET " + ", ".join(
    f"{v} = payment_hours.{v} + excluded.{v}" for v in _VALUES
)
_PLAN = "coalesce(CAST({r}.{column} AS TEXT), '')"

# measure: (time column, currency, part, detail, cents, commission, extra condition)
_MEASURES: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "approved": (
        "first_approved_at",
        "{r}.approved_currency",
        "''",
        "''",
        "{r}.approved_amount_cents",
        "{r}.approved_commission_cents",
        "",
    ),
    "approved_method": (
        "first_approved_at",
        "{r}.approved_currency",
        "coalesce({r}.approved_method, '')",
        "coalesce({r}.approved_type, '')",
        "{r}.approved_amount_cents",
        "0",
        "",
    ),
    "approved_installments": (
        "first_approved_at",
        "{r}.approved_currency",
        _PLAN.replace("{column}", "approved_installments"),
        "''",
        "{r}.approved_amount_cents",
        "0",
        "",
    ),
    "payer_channel": (
        "first_approved_at",
        "{r}.approved_currency",
        "coalesce({r}.payer_channel, '')",
        "''",
        "{r}.approved_amount_cents",
        "0",
        " AND {r}.approved_user_id IS NOT NULL",
    ),
    "refunded": (
        "refunded_at",
        "{r}.refunded_currency",
        "''",
        "''",
        "{r}.refunded_cents",
        "0",
        "",
    ),
    "charged_back": (
        "charged_back_at",
        "{r}.chargeback_currency",
        "''",
        "''",
        "{r}.chargeback_cents",
        "0",
        "",
    ),
    "rejected": (
        "status_at",
        "{r}.currency",
        _PLAN.replace("{column}", "installments"),
        "''",
        "{r}.amount_cents",
        "0",
        " AND {r}.status = 'rejected'",
    ),
}


def _figures(r: str, sign: str, source: str) -> str:
    """SELECT every figure of the payments ``r`` (a table alias, ``NEW`` or ``OLD``), negated
    by ``sign``; ``source`` is the FROM clause (empty for a trigger's row)."""
    parts = []
    for measure, (at, currency, part, detail, cents, commission, when) in _MEASURES.items():
        fields = (
            _HOUR.format(at=f"{r}.{at}"),
            f"'{measure}'",
            f"coalesce({currency}, '')",
            part,
            detail,
            f"{sign}1",
            f"{sign}coalesce({cents}, 0)",
            f"{sign}coalesce({commission}, 0)",
        )
        columns = ", ".join(
            f"{expr.format(r=r)} AS {name}"
            for expr, name in zip(fields, (*_KEY, *_VALUES), strict=True)
        )
        parts.append(f"SELECT {columns} {source} WHERE {r}.{at} IS NOT NULL{when.format(r=r)}")
    return " UNION ALL ".join(parts)


def _grouped(*parts: str, upsert: bool = True) -> str:
    """INSERT the figures of ``parts``, summed by key, into the rollup, in key order (so that
    concurrent statements lock its rows in the same order)."""
    key = ", ".join(_KEY)
    sums = ", ".join(f"sum({v})" for v in _VALUES)
    changed = " OR ".join(f"sum({v}) <> 0" for v in _VALUES)
    return (
        f"INSERT INTO payment_hours ({_COLUMNS}) "
        f"SELECT {key}, {sums} FROM ({' UNION ALL '.join(parts)}) AS f "
        f"GROUP BY {key} HAVING {changed} ORDER BY {key}" + (f" {_ADD}" if upsert else "")
    )


_OLD_ROWS = "FROM old_rows AS r"
_POSTGRESQL = (
    f"""
    CREATE FUNCTION payment_hours_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
        END IF;
        {_grouped(_figures("r", "", "FROM new_rows AS r"))};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION payment_hours_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
        END IF;
        {_grouped(_figures("r", "", "FROM new_rows AS r"), _figures("r", "-", _OLD_ROWS))};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER payments_inserted_hours AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payment_hours_inserted()
    """,
    """
    CREATE TRIGGER payments_updated_hours AFTER UPDATE ON payments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payment_hours_updated()
    """,
)
_SQLITE = (
    f"""
    CREATE TRIGGER payments_inserted_hours AFTER INSERT ON payments
    BEGIN
        {_grouped(_figures("NEW", "", ""))};
    END
    """,
    f"""
    CREATE TRIGGER payments_updated_hours AFTER UPDATE ON payments
    BEGIN
        {_grouped(_figures("NEW", "", ""), _figures("OLD", "-", ""))};
    END
    """,
)


def upgrade() -> None:
    op.create_table(
        "payment_hours",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("part", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=32), nullable=False),
        sa.Column("payments", sa.BigInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.Column("commission_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour", "measure", "currency", "part", "detail", name=op.f("pk_payment_hours")
        ),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Writers of other (running) instances wait until the triggers exist: a payment written
        # between the backfill and the triggers would be in neither.
        op.execute("LOCK TABLE payments IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_grouped(_figures("r", "", "FROM payments AS r"), upsert=False))
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS payments_updated_hours ON payments")
        op.execute("DROP TRIGGER IF EXISTS payments_inserted_hours ON payments")
        op.execute("DROP FUNCTION IF EXISTS payment_hours_updated()")
        op.execute("DROP FUNCTION IF EXISTS payment_hours_inserted()")
    else:
        op.execute("DROP TRIGGER IF EXISTS payments_updated_hours")
        op.execute("DROP TRIGGER IF EXISTS payments_inserted_hours")
    op.drop_table("payment_hours")
