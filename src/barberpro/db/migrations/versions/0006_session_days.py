"""Sessions by ART day and device, channel, province and city, kept by triggers on `sessions`.

A report's session mix over whole ART days then reads a few hundred rows a day instead of every
session of the range. Triggers keep the rollup in the very statement that inserts or updates a
session (a late event moving its start, a `session/start` filling in its device, every event
moving its last-seen time), whichever code writes it: PostgreSQL with statement-level triggers
over the transition tables (one grouped upsert per statement), SQLite with row triggers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY = "({row}.started_at - 10800000000) / 86400000000"  # the ART day (UTC-3) of its start
_DIMENSIONS = ("device_type", "referral_channel", "province", "city")
_COLUMNS = ", ".join(("day", *_DIMENSIONS, "sessions", "duration_us"))
_NAMES = ("day", *_DIMENSIONS)
_KEY = ", ".join(_NAMES)
_ADD = (
    f"ON CONFLICT ({_KEY}) DO UPDATE SET sessions = session_days.sessions + excluded.sessions, "
    "duration_us = session_days.duration_us + excluded.duration_us"
)


def _key(row: str) -> list[str]:
    """The rollup key of a sessions row (``NEW``, ``OLD`` or a table alias)."""
    return [_DAY.format(row=row), *(f"coalesce({row}.{d}, '')" for d in _DIMENSIONS)]


def _length(row: str) -> str:
    return f"{row}.last_seen_at - {row}.started_at"


def _grouped(*parts: str) -> str:
    """INSERT the (key, sessions, duration) rows of ``parts``, summed by key, into the rollup.

    In key order, so that two statements of concurrent transactions lock the rollup's rows in
    the same order. (Across the statements of one transaction that is not enough: the event
    writer takes a cluster-wide advisory lock on PostgreSQL for that.)
    """
    return (
        f"INSERT INTO session_days ({_COLUMNS}) "
        f"SELECT {_KEY}, sum(n), sum(d) FROM ({' UNION ALL '.join(parts)}) AS c "
        f"GROUP BY {_KEY} HAVING sum(n) <> 0 OR sum(d) <> 0 ORDER BY {_KEY} {_ADD}"
    )


def _part(table: str, sign: str) -> str:
    """SELECT the (key, sessions, duration) of each row of ``table``, negated by ``sign``."""
    key = ", ".join(f"{expr} AS {name}" for expr, name in zip(_key("r"), _NAMES, strict=True))
    return f"SELECT {key}, {sign}1 AS n, {sign}({_length('r')}) AS d FROM {table} AS r"


_POSTGRESQL = (
    f"""
    CREATE FUNCTION session_days_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_grouped(_part("new_rows", ""))};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION session_days_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_grouped(_part("new_rows", ""), _part("old_rows", "-"))};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER sessions_inserted_days AFTER INSERT ON sessions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION session_days_inserted()
    """,
    """
    CREATE TRIGGER sessions_updated_days AFTER UPDATE ON sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION session_days_updated()
    """,
)

_SAME_KEY = " AND ".join(
    (
        f"{_DAY.format(row='OLD')} = {_DAY.format(row='NEW')}",
        *(f"OLD.{d} IS NEW.{d}" for d in _DIMENSIONS),
    )
)
_WHERE_OLD = " AND ".join(
    (
        f"day = {_DAY.format(row='OLD')}",
        *(f"{d} = coalesce(OLD.{d}, '')" for d in _DIMENSIONS),
    )
)
# One row's start added to the rollup (SQLite's row triggers).
_ADD_NEW = (
    f"INSERT INTO session_days ({_COLUMNS}) "
    f"VALUES ({', '.join(_key('NEW'))}, 1, {_length('NEW')}) {_ADD}"
)
_SQLITE = (
    f"""
    CREATE TRIGGER sessions_inserted_days AFTER INSERT ON sessions
    BEGIN
        {_ADD_NEW};
    END
    """,
    # The common case, an event moving a session's last-seen time: one row changes.
    f"""
    CREATE TRIGGER sessions_lengthened_days AFTER UPDATE ON sessions WHEN {_SAME_KEY}
    BEGIN
        UPDATE session_days
        SET duration_us = duration_us + ({_length("NEW")}) - ({_length("OLD")})
        WHERE {_WHERE_OLD};
    END
    """,
    f"""
    CREATE TRIGGER sessions_moved_days AFTER UPDATE ON sessions WHEN NOT ({_SAME_KEY})
    BEGIN
        UPDATE session_days
        SET sessions = sessions - 1, duration_us = duration_us - ({_length("OLD")})
        WHERE {_WHERE_OLD};
        {_ADD_NEW};
    END
    """,
)


def upgrade() -> None:
    op.create_table(
        "session_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("device_type", sa.String(length=16), nullable=False),
        sa.Column("referral_channel", sa.String(length=16), nullable=False),
        sa.Column("province", sa.String(length=4), nullable=False),
        sa.Column("city", sa.String(length=128), nullable=False),
        sa.Column("sessions", sa.BigInteger(), nullable=False),
        sa.Column("duration_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "device_type",
            "referral_channel",
            "province",
            "city",
            name=op.f("pk_session_days"),
        ),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Writers of other (running) instances wait until the triggers exist: a session written
        # between the backfill and the triggers would be in neither.
        op.execute("LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_grouped(_part("sessions", "")).replace(_ADD, ""))
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS sessions_updated_days ON sessions")
        op.execute("DROP TRIGGER IF EXISTS sessions_inserted_days ON sessions")
        op.execute("DROP FUNCTION IF EXISTS session_days_updated()")
        op.execute("DROP FUNCTION IF EXISTS session_days_inserted()")
    else:
        for name in ("sessions_moved_days", "sessions_lengthened_days", "sessions_inserted_days"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("session_days")
