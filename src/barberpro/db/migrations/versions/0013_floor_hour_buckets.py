"""Triggers bucket times by floor division, as the writer does; rows before 1970 move.

The triggers of migrations 0006 (`session_days`, by ART day), 0008 (`payment_hours`, by UTC
hour) and 0009 (`client_days`, by ART day) divided epoch microseconds with SQL's integer
division, which rounds towards zero on SQLite and PostgreSQL alike: an instant before 1970 (for
an ART day, before 03:00 UTC on 1 January 1970) went to the bucket after its own. The writer's
buckets, and the reports reading them, round down (`barberpro.argentina.timezone`). This
migration rebuilds those triggers with floor division in plain integer arithmetic (SQLite's
`floor()` is an optional extension) and moves the rows they had put in the wrong bucket, with
the `funnel_days` rows that migration 0005 had built the same way from `funnel_starts`. Buckets
of instants since 1970 are the same either way, so only rows of buckets up to 0 are rebuilt.

PostgreSQL replaces the trigger functions (and recreates the one trigger whose condition
compares days); SQLite drops and recreates its row triggers. Downgrade restores the rounding
towards zero, triggers and rows (`funnel_days` stays floored: the writer keeps it so).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOUR_US = 3_600_000_000
_DAY_US = 86_400_000_000
_ART_OFFSET_US = 10_800_000_000  # ART is UTC-3: its day starts at 03:00 UTC
# Rows at or after these times are in the same bucket whichever way the division rounds.
_FIRST_HOUR_SAME = _HOUR_US
_FIRST_DAY_SAME = _ART_OFFSET_US + _DAY_US


def _divide(sql: str, width: int, *, floor: bool) -> str:
    """SQL dividing the integer ``sql`` by ``width``, rounding down (else towards zero)."""
    if not floor:
        return f"({sql}) / {width}"
    return f"CASE WHEN ({sql}) < 0 THEN (({sql}) + 1) / {width} - 1 ELSE ({sql}) / {width} END"


def _hour(at: str, *, floor: bool) -> str:
    """The UTC hour number of the epoch microseconds ``at``."""
    return _divide(at, _HOUR_US, floor=floor)


def _day(at: str, *, floor: bool) -> str:
    """The ART day number of the epoch microseconds ``at``."""
    return _divide(f"{at} - {_ART_OFFSET_US}", _DAY_US, floor=floor)


def _function(name: str, body: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {body}
        RETURN NULL;
    END
    $$
    """


# Skips a statement that wrote no row (an upsert's other path, say).
_ANY_NEW_ROW = "IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;"


def _sqlite_trigger(name: str, head: str, *statements: str) -> list[str]:
    body = "".join(f"{statement};\n" for statement in statements)
    return [f"DROP TRIGGER IF EXISTS {name}", f"CREATE TRIGGER {name} {head}\nBEGIN\n{body}END"]


# --- session_days (migration 0006) ------------------------------------------------------------

_SD_DIMENSIONS = ("device_type", "referral_channel", "province", "city")
_SD_NAMES = ("day", *_SD_DIMENSIONS)
_SD_KEY = ", ".join(_SD_NAMES)
_SD_COLUMNS = ", ".join((*_SD_NAMES, "sessions", "duration_us"))
_SD_ADD = (
    f"ON CONFLICT ({_SD_KEY}) DO UPDATE SET sessions = session_days.sessions + excluded.sessions, "
    "duration_us = session_days.duration_us + excluded.duration_us"
)


def _sd_key(row: str, *, floor: bool) -> list[str]:
    return [
        _day(f"{row}.started_at", floor=floor),
        *(f"coalesce({row}.{d}, '')" for d in _SD_DIMENSIONS),
    ]


def _sd_length(row: str) -> str:
    return f"{row}.last_seen_at - {row}.started_at"


def _sd_grouped(*parts: str, upsert: bool = True) -> str:
    return (
        f"INSERT INTO session_days ({_SD_COLUMNS}) "
        f"SELECT {_SD_KEY}, sum(n), sum(d) FROM ({' UNION ALL '.join(parts)}) AS c "
        f"GROUP BY {_SD_KEY} HAVING sum(n) <> 0 OR sum(d) <> 0 ORDER BY {_SD_KEY}"
        + (f" {_SD_ADD}" if upsert else "")
    )


def _sd_part(table: str, sign: str, *, floor: bool, where: str = "") -> str:
    key = ", ".join(
        f"{expr} AS {name}" for expr, name in zip(_sd_key("r", floor=floor), _SD_NAMES, strict=True)
    )
    return f"SELECT {key}, {sign}1 AS n, {sign}({_sd_length('r')}) AS d FROM {table} AS r{where}"


def _session_days(*, floor: bool, postgresql: bool) -> list[str]:
    """The statements (re)making the triggers of ``session_days``."""
    if postgresql:
        new, old = (
            _sd_part("new_rows", "", floor=floor),
            _sd_part("old_rows", "-", floor=floor),
        )
        return [
            _function("session_days_inserted", f"{_sd_grouped(new)};"),
            _function("session_days_updated", f"{_sd_grouped(new, old)};"),
        ]
    old_day, new_day = _day("OLD.started_at", floor=floor), _day("NEW.started_at", floor=floor)
    same_key = " AND ".join(
        (f"{old_day} = {new_day}", *(f"OLD.{d} IS NEW.{d}" for d in _SD_DIMENSIONS))
    )
    where_old = " AND ".join(
        (f"day = {old_day}", *(f"{d} = coalesce(OLD.{d}, '')" for d in _SD_DIMENSIONS))
    )
    add_new = (
        f"INSERT INTO session_days ({_SD_COLUMNS}) "
        f"VALUES ({', '.join(_sd_key('NEW', floor=floor))}, 1, {_sd_length('NEW')}) {_SD_ADD}"
    )
    return [
        *_sqlite_trigger("sessions_inserted_days", "AFTER INSERT ON sessions", add_new),
        *_sqlite_trigger(
            "sessions_lengthened_days",
            f"AFTER UPDATE ON sessions WHEN {same_key}",
            "UPDATE session_days SET duration_us = duration_us + "
            f"({_sd_length('NEW')}) - ({_sd_length('OLD')}) WHERE {where_old}",
        ),
        *_sqlite_trigger(
            "sessions_moved_days",
            f"AFTER UPDATE ON sessions WHEN NOT ({same_key})",
            "UPDATE session_days SET sessions = sessions - 1, "
            f"duration_us = duration_us - ({_sd_length('OLD')}) WHERE {where_old}",
            add_new,
        ),
    ]


def _session_days_rows(*, floor: bool) -> list[str]:
    """The statements rebuilding the rows of ``session_days`` up to day 0."""
    early = f" WHERE r.started_at < {_FIRST_DAY_SAME}"
    return [
        "DELETE FROM session_days WHERE day <= 0",
        _sd_grouped(_sd_part("sessions", "", floor=floor, where=early), upsert=False),
    ]


# --- payment_hours (migration 0008) -----------------------------------------------------------

_PH_KEY = ("hour", "measure", "currency", "part", "detail")
_PH_VALUES = ("payments", "cents", "commission_cents")
_PH_ADD = f"ON CONFLICT ({', '.join(_PH_KEY)}) DO UPDATE SET " + ", ".join(
    f"{v} = payment_hours.{v} + excluded.{v}" for v in _PH_VALUES
)
_PLAN = "coalesce(CAST({r}.{column} AS TEXT), '')"
_APPROVAL = ("first_approved_at", "{r}.approved_currency")
# measure: (time column, currency, part, detail, cents, commission, extra condition)
_MEASURES: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "approved": (
        *_APPROVAL,
        "''",
        "''",
        "{r}.approved_amount_cents",
        "{r}.approved_commission_cents",
        "",
    ),
    "approved_method": (
        *_APPROVAL,
        "coalesce({r}.approved_method, '')",
        "coalesce({r}.approved_type, '')",
        "{r}.approved_amount_cents",
        "0",
        "",
    ),
    "approved_installments": (
        *_APPROVAL,
        _PLAN.replace("{column}", "approved_installments"),
        "''",
        "{r}.approved_amount_cents",
        "0",
        "",
    ),
    "payer_channel": (
        *_APPROVAL,
        "coalesce({r}.payer_channel, '')",
        "''",
        "{r}.approved_amount_cents",
        "0",
        " AND {r}.approved_user_id IS NOT NULL",
    ),
    "refunded": ("refunded_at", "{r}.refunded_currency", "''", "''", "{r}.refunded_cents", "0", ""),
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


def _ph_figures(r: str, sign: str, source: str, *, floor: bool, before: int | None = None) -> str:
    """SELECT every figure of the payments ``r`` (an alias, ``NEW`` or ``OLD``), negated by
    ``sign``, from ``source`` (empty for a trigger's row); ``before``: times before it only."""
    parts = []
    for measure, (at, currency, part, detail, cents, commission, when) in _MEASURES.items():
        fields = (
            _hour(f"{r}.{at}", floor=floor),
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
            for expr, name in zip(fields, (*_PH_KEY, *_PH_VALUES), strict=True)
        )
        early = "" if before is None else f" AND {r}.{at} < {before}"
        parts.append(
            f"SELECT {columns} {source} WHERE {r}.{at} IS NOT NULL{when.format(r=r)}{early}"
        )
    return " UNION ALL ".join(parts)


def _ph_grouped(*parts: str, upsert: bool = True) -> str:
    key = ", ".join(_PH_KEY)
    sums = ", ".join(f"sum({v})" for v in _PH_VALUES)
    changed = " OR ".join(f"sum({v}) <> 0" for v in _PH_VALUES)
    return (
        f"INSERT INTO payment_hours ({', '.join((*_PH_KEY, *_PH_VALUES))}) "
        f"SELECT {key}, {sums} FROM ({' UNION ALL '.join(parts)}) AS f "
        f"GROUP BY {key} HAVING {changed} ORDER BY {key}" + (f" {_PH_ADD}" if upsert else "")
    )


def _payment_hours(*, floor: bool, postgresql: bool) -> list[str]:
    """The statements (re)making the triggers of ``payment_hours``."""
    if postgresql:
        new = _ph_figures("r", "", "FROM new_rows AS r", floor=floor)
        old = _ph_figures("r", "-", "FROM old_rows AS r", floor=floor)
        return [
            _function("payment_hours_inserted", f"{_ANY_NEW_ROW}\n{_ph_grouped(new)};"),
            _function("payment_hours_updated", f"{_ANY_NEW_ROW}\n{_ph_grouped(new, old)};"),
        ]
    new = _ph_figures("NEW", "", "", floor=floor)
    old = _ph_figures("OLD", "-", "", floor=floor)
    return [
        *_sqlite_trigger("payments_inserted_hours", "AFTER INSERT ON payments", _ph_grouped(new)),
        *_sqlite_trigger(
            "payments_updated_hours", "AFTER UPDATE ON payments", _ph_grouped(new, old)
        ),
    ]


def _payment_hours_rows(*, floor: bool) -> list[str]:
    """The statements rebuilding the rows of ``payment_hours`` up to hour 0."""
    early = _ph_figures("r", "", "FROM payments AS r", floor=floor, before=_FIRST_HOUR_SAME)
    return ["DELETE FROM payment_hours WHERE hour <= 0", _ph_grouped(early, upsert=False)]


# --- client_days (migration 0009) -------------------------------------------------------------

_CLIENT = "{r}.user_id IS NOT NULL AND {r}.user_type IS DISTINCT FROM 'provider'"
_CD_ADD = (
    "ON CONFLICT (day, user_id) DO UPDATE SET sessions = client_days.sessions + excluded.sessions"
)


def _first_day(user: str, *, floor: bool) -> str:
    return f"(SELECT {_day('u.first_at', floor=floor)} FROM units AS u WHERE u.unit = {user})"


def _cd_grouped(source: str, *, floor: bool, upsert: bool = True, where: str = "") -> str:
    day = _day("r.started_at", floor=floor)
    return (
        "INSERT INTO client_days (day, user_id, sessions, first_day) "
        f"SELECT {day}, r.user_id, count(*), {_first_day('r.user_id', floor=floor)} "
        f"{source} WHERE {_CLIENT.format(r='r')}{where} "
        f"GROUP BY {day}, r.user_id ORDER BY {day}, r.user_id" + (f" {_CD_ADD}" if upsert else "")
    )


def _client_days(*, floor: bool, postgresql: bool) -> list[str]:
    """The statements (re)making the triggers of ``client_days``."""
    old_day, new_day = _day("OLD.started_at", floor=floor), _day("NEW.started_at", floor=floor)
    moved = " OR ".join(
        (
            f"{old_day} <> {new_day}",
            "OLD.user_id IS DISTINCT FROM NEW.user_id",
            "OLD.user_type IS DISTINCT FROM NEW.user_type",
        )
    )
    take_old = (
        "UPDATE client_days SET sessions = sessions - 1 "
        f"WHERE day = {old_day} AND user_id = OLD.user_id"
    )
    add_new = (
        "INSERT INTO client_days (day, user_id, sessions, first_day) "
        f"SELECT {new_day}, NEW.user_id, 1, {_first_day('NEW.user_id', floor=floor)} "
        f"WHERE {_CLIENT.format(r='NEW')} {_CD_ADD}"
    )
    follow = (
        f"UPDATE client_days SET first_day = {_day('NEW.first_at', floor=floor)} "
        "WHERE user_id = NEW.unit"
    )
    if postgresql:
        inserted = _cd_grouped("FROM new_rows AS r", floor=floor)
        return [
            _function("client_days_inserted", f"{_ANY_NEW_ROW}\n{inserted};"),
            _function(
                "client_days_moved",
                f"IF {_CLIENT.format(r='OLD')} THEN {take_old}; END IF;\n{add_new};",
            ),
            _function("client_days_first_seen", f"{follow};"),
            # Its condition compares days.
            "DROP TRIGGER IF EXISTS sessions_moved_clients ON sessions",
            f"""
            CREATE TRIGGER sessions_moved_clients AFTER UPDATE ON sessions FOR EACH ROW
            WHEN ({moved})
            EXECUTE FUNCTION client_days_moved()
            """,
        ]
    return [
        *_sqlite_trigger(
            "sessions_inserted_clients",
            f"AFTER INSERT ON sessions WHEN {_CLIENT.format(r='NEW')}",
            add_new,
        ),
        *_sqlite_trigger(
            "sessions_moved_clients",
            f"AFTER UPDATE ON sessions WHEN {moved}",
            f"{take_old} AND {_CLIENT.format(r='OLD')}",
            add_new,
        ),
        *_sqlite_trigger("units_inserted_clients", "AFTER INSERT ON units", follow),
        *_sqlite_trigger(
            "units_first_seen_clients",
            "AFTER UPDATE ON units WHEN OLD.first_at IS NOT NEW.first_at",
            follow,
        ),
    ]


def _client_days_rows(*, floor: bool) -> list[str]:
    """The statements rebuilding the rows of ``client_days`` up to day 0, and the first day of
    the clients first seen by then."""
    early = f" AND r.started_at < {_FIRST_DAY_SAME}"
    return [
        "DELETE FROM client_days WHERE day <= 0",
        _cd_grouped("FROM sessions AS r", floor=floor, upsert=False, where=early),
        f"UPDATE client_days SET first_day = {_first_day('client_days.user_id', floor=floor)} "
        f"WHERE user_id IN (SELECT unit FROM units WHERE first_at < {_FIRST_DAY_SAME})",
    ]


# --- funnel_days (built by migration 0005, kept by the writer) --------------------------------

_FD_DIMENSIONS = "province, device_type, referral_channel"
# Each unit's chosen chain (furthest reach, then earliest start) of each ART day up to day 0.
_FUNNEL_DAYS_ROWS = (
    "DELETE FROM funnel_days WHERE day <= 0",
    f"""
    INSERT INTO funnel_days (unit, day, reach, t1, g2, g3, g4, g5, {_FD_DIMENSIONS})
    SELECT unit, day, reach, t1, t2 - t1, t3 - t2, t4 - t3, t5 - t4, {_FD_DIMENSIONS}
    FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY unit, day ORDER BY reach DESC, t1) AS r
        FROM (
            SELECT *, {_day("t1", floor=True)} AS day FROM funnel_starts
            WHERE t1 < {_FIRST_DAY_SAME}
        ) AS s
    ) AS ranked
    WHERE r = 1
    """,
)

_TABLES = "sessions, units, payments, session_days, payment_hours, client_days, funnel_days"


def _rebuild(*, floor: bool) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Writers of other (running) instances wait until the triggers and rows are rebuilt.
        op.execute(f"LOCK TABLE {_TABLES} IN SHARE ROW EXCLUSIVE MODE")
    statements = [
        *_session_days(floor=floor, postgresql=postgresql),
        *_payment_hours(floor=floor, postgresql=postgresql),
        *_client_days(floor=floor, postgresql=postgresql),
        *_session_days_rows(floor=floor),
        *_payment_hours_rows(floor=floor),
        *_client_days_rows(floor=floor),
    ]
    if floor:
        statements += _FUNNEL_DAYS_ROWS
    for statement in statements:
        if not postgresql:  # SQLite says IS NOT for IS DISTINCT FROM (learnt only in 3.39)
            statement = statement.replace(" IS DISTINCT FROM ", " IS NOT ")
        op.execute(statement)


def upgrade() -> None:
    _rebuild(floor=True)


def downgrade() -> None:
    _rebuild(floor=False)
