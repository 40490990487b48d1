"""Retention cohorts counted: clients by cohort week and week of a completed payment.

The retention section joined every client of its cohorts (`client_cohorts`) to the weeks they
paid in (`client_weeks`) on every call. `cohort_weeks` holds those counts, kept by triggers in
the statement that records a client's week or sets (or moves earlier) a client's cohort,
whichever code writes them: PostgreSQL with statement-level triggers over the transition tables
(one grouped upsert per statement), SQLite with row triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADD = (
    "ON CONFLICT (cohort_week, week) DO UPDATE SET "
    "clients = cohort_weeks.clients + excluded.clients"
)


def _grouped(*parts: str, upsert: bool = True) -> str:
    """INSERT the (cohort_week, week, n) rows of ``parts``, summed, into the counts, in key
    order (concurrent statements lock rows in the same order)."""
    return (
        "INSERT INTO cohort_weeks (cohort_week, week, clients) "
        f"SELECT cohort_week, week, sum(n) FROM ({' UNION ALL '.join(parts)}) AS c "
        "WHERE true GROUP BY cohort_week, week HAVING sum(n) <> 0 ORDER BY cohort_week, week"
        + (f" {_ADD}" if upsert else "")
    )


def _pairs(cohorts: str, weeks: str, sign: str = "") -> str:
    """SELECT (cohort_week, week, ±1) for each client of ``cohorts`` and week of ``weeks``."""
    return (
        f"SELECT c.cohort_week AS cohort_week, w.week AS week, {sign}1 AS n "
        f"FROM {cohorts} AS c JOIN {weeks} AS w ON w.unit = c.unit"
    )


_POSTGRESQL = (
    f"""
    CREATE FUNCTION cohort_weeks_weeks() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
        END IF;
        {_grouped(_pairs("client_cohorts", "new_rows"))};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION cohort_weeks_cohorts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
        END IF;
        {_grouped(_pairs("new_rows", "client_weeks"))};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION cohort_weeks_cohorts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
        END IF;
        {_grouped(_pairs("new_rows", "client_weeks"), _pairs("old_rows", "client_weeks", "-"))};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER client_weeks_cohort_weeks AFTER INSERT ON client_weeks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION cohort_weeks_weeks()
    """,
    """
    CREATE TRIGGER client_cohorts_inserted_weeks AFTER INSERT ON client_cohorts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION cohort_weeks_cohorts_inserted()
    """,
    """
    CREATE TRIGGER client_cohorts_updated_weeks AFTER UPDATE ON client_cohorts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION cohort_weeks_cohorts_updated()
    """,
)
# A row trigger's client week or cohort, as a one-row table.
_NEW_WEEK = "(SELECT NEW.unit AS unit, NEW.week AS week)"
_NEW_COHORT = "(SELECT NEW.unit AS unit, NEW.cohort_week AS cohort_week)"
_OLD_COHORT = "(SELECT OLD.unit AS unit, OLD.cohort_week AS cohort_week)"
_SQLITE = (
    f"""
    CREATE TRIGGER client_weeks_cohort_weeks AFTER INSERT ON client_weeks
    BEGIN
        {_grouped(_pairs("client_cohorts", _NEW_WEEK))};
    END
    """,
    f"""
    CREATE TRIGGER client_cohorts_inserted_weeks AFTER INSERT ON client_cohorts
    BEGIN
        {_grouped(_pairs(_NEW_COHORT, "client_weeks"))};
    END
    """,
    f"""
    CREATE TRIGGER client_cohorts_updated_weeks AFTER UPDATE ON client_cohorts
    WHEN OLD.cohort_week <> NEW.cohort_week
    BEGIN
        {_grouped(_pairs(_NEW_COHORT, "client_weeks"), _pairs(_OLD_COHORT, "client_weeks", "-"))};
    END
    """,
)
_TRIGGERS = {
    "client_weeks": ("client_weeks_cohort_weeks",),
    "client_cohorts": ("client_cohorts_inserted_weeks", "client_cohorts_updated_weeks"),
}
_FUNCTIONS = ("cohort_weeks_weeks", "cohort_weeks_cohorts_inserted", "cohort_weeks_cohorts_updated")


def upgrade() -> None:
    op.create_table(
        "cohort_weeks",
        sa.Column("cohort_week", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("clients", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cohort_week", "week", name=op.f("pk_cohort_weeks")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Writers of other (running) instances wait until the triggers exist.
        op.execute("LOCK TABLE client_weeks, client_cohorts IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_grouped(_pairs("client_cohorts", "client_weeks"), upsert=False))
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, names in _TRIGGERS.items():
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_table("cohort_weeks")
