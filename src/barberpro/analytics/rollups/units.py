"""Each unit's first touch: its session with the smallest (started_at, session_id).

SQLite keeps it here, in the writer's transaction; PostgreSQL's triggers on ``sessions`` make
the same choice (migration 0012).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.funnel_definition import FIRST_TOUCH
from barberpro.db import tables
from barberpro.db.dialect import IN_LIST_CHUNK, CompiledUpsert, upsert

_FIELDS = ("first_at", "first_session_id", *FIRST_TOUCH)


async def keep_first_touches(conn: AsyncConnection, session_ids: Sequence[str]) -> None:
    """SQLite: bring the first touch of every unit of ``session_ids``' sessions up to date.

    Each session is a candidate for its session id and for its user id.
    """
    if not session_ids:
        return
    columns = "session_id, user_id, started_at, province, device_type, referral_channel"
    # Plain text for the writer's hottest read: an expanding IN through SQLAlchemy costs a
    # cache key and a re-render of the list on every transaction.
    rows: list[Any] = []
    head = f"SELECT {columns} FROM {tables.sessions.name} WHERE session_id IN "
    for start in range(0, len(session_ids), IN_LIST_CHUNK):
        chunk = tuple(session_ids[start : start + IN_LIST_CHUNK])
        marks = ", ".join("?" * len(chunk))
        rows.extend(await conn.exec_driver_sql(f"{head}({marks})", chunk))
    firsts: dict[str, dict[str, Any]] = {}
    for sid, user_id, started_at, province, device, channel in rows:
        candidate = {
            "first_at": started_at,
            "first_session_id": sid,
            "province": province,
            "device_type": device,
            "referral_channel": channel,
        }
        for unit in (sid, user_id):
            if unit is None:
                continue
            known = firsts.get(unit)
            if known is None or (started_at, sid) < (known["first_at"], known["first_session_id"]):
                firsts[unit] = {"unit": unit, **candidate}
    await _UNITS.execute(conn, list(firsts.values()))


def _units_upsert(dialect: str) -> Any:
    u = tables.units
    stmt = upsert(dialect, u)
    ex = stmt.excluded
    # An earlier touch replaces; so does the same session refreshed (a late session/start
    # fills in its device). An unchanged unit is not rewritten (no new row version).
    earlier = or_(
        ex.first_at < u.c.first_at,
        and_(ex.first_at == u.c.first_at, ex.first_session_id < u.c.first_session_id),
        and_(
            ex.first_at == u.c.first_at,
            ex.first_session_id == u.c.first_session_id,
            or_(*(ex[f].is_distinct_from(u.c[f]) for f in FIRST_TOUCH)),
        ),
    )
    return stmt.on_conflict_do_update(
        index_elements=["unit"], set_={f: ex[f] for f in _FIELDS}, where=earlier
    )


_UNITS = CompiledUpsert(_units_upsert, ("unit", *_FIELDS), conflict=("unit",))
