"""PostgreSQL: each unit's first touch kept by triggers on `sessions`.

The event writer chose the first touches (`units`) in a statement of its own after the one that
wrote the sessions: a round trip per transaction. Statement-level triggers on `sessions` now make
the same choice over the rows each statement wrote (its transition table): each written session
is a candidate for its session id and its user id, the earliest (started_at, session_id) per
unit wins (session ids compared byte-wise), and it replaces the stored first touch only when
earlier, or when it is the same session with other dimensions (a late session/start filling in
its device). Written sessions are exactly the sessions the writer touched, so nothing changes
but where the statement runs; with it the writer's transaction of actions is one statement.

An upsert fires the update triggers over its updated sessions, then the insert triggers over
its new ones; as the choice is a minimum (a session's start only ever moves earlier), choosing
over the two sets in turn is choosing over both. The other triggers reading `units` come out
the same whichever runs first: new `client_days` rows read `units.first_at` as it is then, and
the triggers on `units` bring `client_days`, `funnel_starts` and `payments` up to date whenever
a first touch moves. SQLite keeps choosing in the writer (its sessions are written by one
process, in the transaction that reads them).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = ("first_at", "first_session_id", "province", "device_type", "referral_channel")
_DIMENSIONS = ("province", "device_type", "referral_channel")
_TRIGGERS = {"sessions_inserted_units": "INSERT", "sessions_updated_units": "UPDATE"}

_UNITS = f"""
INSERT INTO units (unit, {", ".join(_FIELDS)})
SELECT DISTINCT ON (u.unit) u.unit, s.started_at, s.session_id, s.province, s.device_type,
       s.referral_channel
FROM new_rows AS s CROSS JOIN LATERAL (VALUES (s.session_id), (s.user_id)) AS u(unit)
WHERE u.unit IS NOT NULL
ORDER BY u.unit, s.started_at, s.session_id COLLATE "C"
ON CONFLICT (unit) DO UPDATE SET {", ".join(f"{f} = excluded.{f}" for f in _FIELDS)}
WHERE excluded.first_at < units.first_at
   OR (excluded.first_at = units.first_at
       AND excluded.first_session_id COLLATE "C" < units.first_session_id)
   OR (excluded.first_at = units.first_at AND excluded.first_session_id = units.first_session_id
       AND ({" OR ".join(f"excluded.{f} IS DISTINCT FROM units.{f}" for f in _DIMENSIONS)}))
"""

_FUNCTION = f"""
CREATE FUNCTION units_follow_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
        RETURN NULL;  -- the statement wrote no row (an upsert's other path, say)
    END IF;
    {_UNITS};
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Writers of other (running) instances wait until the triggers exist.
    op.execute("LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_FUNCTION)
    for name, event in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON sessions "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION units_follow_sessions()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON sessions")
    op.execute("DROP FUNCTION IF EXISTS units_follow_sessions()")
