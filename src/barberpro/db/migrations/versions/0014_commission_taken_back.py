"""The commission that refunds and chargebacks take back, by UTC hour, in `payment_hours`.

Commission is not earned on money returned: an approved payment's commission (that of its first
approval) is taken back, whole and once, at its first refund or its first chargeback, whichever
comes first (the refund on a tie), in the approval's currency. Two new measures of
`payment_hours` hold it, keyed like `approved` (currency; part and detail ''):

- `refunded_commission`: at the hour of the refund, when the refund comes first;
- `charged_back_commission`: at the hour of the chargeback, when it comes strictly first.

`payments` counts those payments, `commission_cents` sums their commission, `cents` stays 0.
Their own triggers keep them, beside those of migrations 0008 and 0013 and in the same form:
statement-level over the transition tables on PostgreSQL, row triggers on SQLite (skipped when
none of the columns they read changes), hours by floor division. The upgrade sums the existing
payments into them; the downgrade drops the triggers and the rows.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOUR_US = 3_600_000_000
_KEY = ("hour", "measure", "currency", "part", "detail")
_VALUES = ("payments", "cents", "commission_cents")
_ADD = f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET " + ", ".join(
    f"{v} = payment_hours.{v} + excluded.{v}" for v in _VALUES
)
_APPROVED = "{r}.first_approved_at IS NOT NULL AND "
# measure: (time column, condition: the payment was approved and this is its first return)
_MEASURES: dict[str, tuple[str, str]] = {
    "refunded_commission": (
        "refunded_at",
        _APPROVED + "({r}.charged_back_at IS NULL OR {r}.refunded_at <= {r}.charged_back_at)",
    ),
    "charged_back_commission": (
        "charged_back_at",
        _APPROVED + "({r}.refunded_at IS NULL OR {r}.charged_back_at < {r}.refunded_at)",
    ),
}
# The columns the figures read: SQLite's update trigger runs only when one of them changes.
_READ = (
    "refunded_at",
    "charged_back_at",
    "first_approved_at",
    "approved_currency",
    "approved_commission_cents",
)
_MEASURE_LIST = ", ".join(f"'{m}'" for m in _MEASURES)


def _hour(at: str) -> str:
    """The UTC hour number of the epoch microseconds ``at``, rounded down (as migration 0013)."""
    return f"CASE WHEN ({at}) < 0 THEN (({at}) + 1) / {_HOUR_US} - 1 ELSE ({at}) / {_HOUR_US} END"


def _figures(r: str, sign: str, source: str) -> str:
    """SELECT the commission taken back by the payments ``r`` (an alias, ``NEW`` or ``OLD``),
    negated by ``sign``, from ``source`` (empty for a trigger's row)."""
    parts = []
    for measure, (at, first) in _MEASURES.items():
        fields = (
            _hour(f"{r}.{at}"),
            f"'{measure}'",
            f"coalesce({r}.approved_currency, '')",
            "''",
            "''",
            f"{sign}1",
            "0",
            f"{sign}coalesce({r}.approved_commission_cents, 0)",
        )
        columns = ", ".join(
            f"{expr} AS {name}" for expr, name in zip(fields, (*_KEY, *_VALUES), strict=True)
        )
        parts.append(
            f"SELECT {columns} {source} WHERE {r}.{at} IS NOT NULL AND {first.format(r=r)}"
        )
    return " UNION ALL ".join(parts)


def _grouped(*parts: str, upsert: bool = True) -> str:
    """INSERT the figures of ``parts``, summed by key, into the rollup, in key order (so that
    concurrent statements lock its rows in the same order)."""
    key = ", ".join(_KEY)
    sums = ", ".join(f"sum({v})" for v in _VALUES)
    changed = " OR ".join(f"sum({v}) <> 0" for v in _VALUES)
    return (
        f"INSERT INTO payment_hours ({', '.join((*_KEY, *_VALUES))}) "
        f"SELECT {key}, {sums} FROM ({' UNION ALL '.join(parts)}) AS f "
        f"GROUP BY {key} HAVING {changed} ORDER BY {key}" + (f" {_ADD}" if upsert else "")
    )


def _function(name: str, body: str) -> str:
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
        END IF;
        {body};
        RETURN NULL;
    END
    $$
    """


_NEW_ROWS, _OLD_ROWS = "FROM new_rows AS r", "FROM old_rows AS r"
_POSTGRESQL = (
    _function("payment_returns_inserted", _grouped(_figures("r", "", _NEW_ROWS))),
    _function(
        "payment_returns_updated",
        _grouped(_figures("r", "", _NEW_ROWS), _figures("r", "-", _OLD_ROWS)),
    ),
    """
    CREATE TRIGGER payments_inserted_returns AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payment_returns_inserted()
    """,
    """
    CREATE TRIGGER payments_updated_returns AFTER UPDATE ON payments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payment_returns_updated()
    """,
)
_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _READ)
_SQLITE = (
    f"""
    CREATE TRIGGER payments_inserted_returns AFTER INSERT ON payments
    BEGIN
        {_grouped(_figures("NEW", "", ""))};
    END
    """,
    f"""
    CREATE TRIGGER payments_updated_returns AFTER UPDATE ON payments WHEN {_CHANGED}
    BEGIN
        {_grouped(_figures("NEW", "", ""), _figures("OLD", "-", ""))};
    END
    """,
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Writers of other (running) instances wait until the triggers exist: a payment written
        # between the backfill and the triggers would be in neither.
        op.execute("LOCK TABLE payments, payment_hours IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_grouped(_figures("r", "", "FROM payments AS r"), upsert=False))
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS payments_updated_returns ON payments")
        op.execute("DROP TRIGGER IF EXISTS payments_inserted_returns ON payments")
        op.execute("DROP FUNCTION IF EXISTS payment_returns_updated()")
        op.execute("DROP FUNCTION IF EXISTS payment_returns_inserted()")
    else:
        op.execute("DROP TRIGGER IF EXISTS payments_updated_returns")
        op.execute("DROP TRIGGER IF EXISTS payments_inserted_returns")
    op.execute(f"DELETE FROM payment_hours WHERE measure IN ({_MEASURE_LIST})")
