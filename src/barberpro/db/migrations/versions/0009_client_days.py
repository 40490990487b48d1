"""Clients' sessions by ART day, with the day each client was first seen.

The BI report's `returning_clients` (clients of the range's sessions first seen before it)
joined every session of its range to `units`: the largest part of a full day's report.
`client_days` holds, per ART day and client (a session's user_id, unless the session is a
provider's), how many sessions the client started that day and the ART day of the client's first
touch (`units.first_at`), so a range of whole days counts its returning clients from its own
rows. Triggers keep it in the statement that writes a session or a unit, whichever code writes
it: a session inserted, a session whose start moves to another day or whose user changes, a
client first seen (a unit inserted) or first seen earlier (a late event moving `first_at`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY = "(({at}) - 10800000000) / 86400000000"  # the ART day (UTC-3) of epoch microseconds
_CLIENT = "{r}.user_id IS NOT NULL AND {r}.user_type IS DISTINCT FROM 'provider'"
_FIRST_DAY = "(SELECT " + _DAY.format(at="u.first_at") + " FROM units AS u WHERE u.unit = {user})"
_ADD = (
    "ON CONFLICT (day, user_id) DO UPDATE SET sessions = client_days.sessions + excluded.sessions"
)
_FOLLOW = (
    f"UPDATE client_days SET first_day = {_DAY.format(at='NEW.first_at')} WHERE user_id = NEW.unit"
)


def _grouped(source: str, upsert: bool = True) -> str:
    """INSERT the client sessions of ``source`` (a FROM clause naming its rows ``r``), counted
    by day and client, in key order (concurrent statements lock rows in the same order)."""
    day = _DAY.format(at="r.started_at")
    return (
        "INSERT INTO client_days (day, user_id, sessions, first_day) "
        f"SELECT {day}, r.user_id, count(*), {_FIRST_DAY.format(user='r.user_id')} "
        f"{source} WHERE {_CLIENT.format(r='r')} "
        f"GROUP BY {day}, r.user_id ORDER BY {day}, r.user_id" + (f" {_ADD}" if upsert else "")
    )


_MOVED = " OR ".join(
    (
        f"{_DAY.format(at='OLD.started_at')} <> {_DAY.format(at='NEW.started_at')}",
        "OLD.user_id IS DISTINCT FROM NEW.user_id",
        "OLD.user_type IS DISTINCT FROM NEW.user_type",
    )
)
_TAKE_OLD = (
    "UPDATE client_days SET sessions = sessions - 1 "
    f"WHERE day = {_DAY.format(at='OLD.started_at')} AND user_id = OLD.user_id"
)
_ADD_NEW = (
    "INSERT INTO client_days (day, user_id, sessions, first_day) "
    f"SELECT {_DAY.format(at='NEW.started_at')}, NEW.user_id, 1, "
    f"{_FIRST_DAY.format(user='NEW.user_id')} WHERE {_CLIENT.format(r='NEW')} {_ADD}"
)

_POSTGRESQL = (
    f"""
    CREATE FUNCTION client_days_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
        END IF;
        {_grouped("FROM new_rows AS r")};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER sessions_inserted_clients AFTER INSERT ON sessions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION client_days_inserted()
    """,
    f"""
    CREATE FUNCTION client_days_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {_CLIENT.format(r="OLD")} THEN
            {_TAKE_OLD};
        END IF;
        {_ADD_NEW};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE TRIGGER sessions_moved_clients AFTER UPDATE ON sessions FOR EACH ROW
    WHEN ({_MOVED})
    EXECUTE FUNCTION client_days_moved()
    """,
    f"""
    CREATE FUNCTION client_days_first_seen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_FOLLOW};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER units_inserted_clients AFTER INSERT ON units FOR EACH ROW
    EXECUTE FUNCTION client_days_first_seen()
    """,
    """
    CREATE TRIGGER units_first_seen_clients AFTER UPDATE ON units FOR EACH ROW
    WHEN (OLD.first_at IS DISTINCT FROM NEW.first_at)
    EXECUTE FUNCTION client_days_first_seen()
    """,
)
_SQLITE: tuple[str, ...] = (
    f"""
    CREATE TRIGGER sessions_inserted_clients AFTER INSERT ON sessions
    WHEN {_CLIENT.format(r="NEW")}
    BEGIN
        {_ADD_NEW};
    END
    """,
    f"""
    CREATE TRIGGER sessions_moved_clients AFTER UPDATE ON sessions WHEN {_MOVED}
    BEGIN
        UPDATE client_days SET sessions = sessions - 1
        WHERE {_CLIENT.format(r="OLD")}
          AND day = {_DAY.format(at="OLD.started_at")} AND user_id = OLD.user_id;
        {_ADD_NEW};
    END
    """,
    f"""
    CREATE TRIGGER units_inserted_clients AFTER INSERT ON units
    BEGIN
        {_FOLLOW};
    END
    """,
    f"""
    CREATE TRIGGER units_first_seen_clients AFTER UPDATE ON units
    WHEN OLD.first_at IS NOT NEW.first_at
    BEGIN
        {_FOLLOW};
    END
    """,
)
# SQLite says IS NOT for IS DISTINCT FROM (which it only learnt in 3.39).
_SQLITE = tuple(statement.replace(" IS DISTINCT FROM ", " IS NOT ") for statement in _SQLITE)
_TRIGGERS = {
    "sessions": ("sessions_inserted_clients", "sessions_moved_clients"),
    "units": ("units_inserted_clients", "units_first_seen_clients"),
}
_FUNCTIONS = ("client_days_inserted", "client_days_moved", "client_days_first_seen")


def upgrade() -> None:
    op.create_table(
        "client_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("day", "user_id", name=op.f("pk_client_days")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_client_days_user_id", "client_days", ["user_id"], unique=False)
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Writers of other (running) instances wait until the triggers exist: a session written
        # between the backfill and the triggers would be in neither.
        op.execute("LOCK TABLE sessions, units IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_grouped("FROM sessions AS r", upsert=False))
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
    op.drop_index("ix_client_days_user_id", table_name="client_days")
    op.drop_table("client_days")
