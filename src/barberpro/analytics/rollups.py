"""Incremental rollups, kept in the same transaction as the events they summarise.

The writer calls :func:`apply` with the rows it has just inserted (duplicates never reach it,
so nothing is counted twice). Every function here reads and writes in batches: one statement
per rollup per transaction, never one per event.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics import funnel_math
from barberpro.analytics.timebuckets import art_day, art_week, day_start_us, hour_of
from barberpro.db import tables
from barberpro.db.dialect import CompiledUpsert, upsert

# Bound parameters per IN list; SQLite allows 32,766 per statement.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RollupSettings:
    """What the rollups bake in: the funnel window and the commission rate."""

    funnel_window_us: int
    commission_rate: Decimal


def commission_cents(amount_cents: int, explicit: int | None, rate: Decimal) -> int:
    """Return the event's commission, else the amount times the rate, rounded half up."""
    if explicit is not None:
        return explicit
    return int((Decimal(amount_cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def funnel_unit(row: dict[str, Any]) -> str:
    """Return the funnel unit of an event: its user_id, else its session_id."""
    return str(row["user_id"] or row["session_id"])


async def apply(
    conn: AsyncConnection,
    *,
    new_events: Sequence[dict[str, Any]],
    touched_sessions: Iterable[str],
    settings: RollupSettings,
) -> None:
    """Bring every rollup up to date with ``new_events`` and the sessions they touched."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in new_events:
        by_type[row["type"]].append(row)
    if conn.dialect.name != "postgresql":
        # PostgreSQL: triggers on sessions keep the first touches (migration 0012) and the
        # events' statement counts the actions (barberpro.analytics.ingest).
        await _units(conn, sorted(set(touched_sessions)))
        if by_type["action"]:
            await ACTIONS.add(conn, _action_counts(by_type["action"]))
    if by_type["funnel"]:
        await _funnel(conn, by_type["funnel"], window_us=settings.funnel_window_us)
    if by_type["activity"]:
        await _activity(conn, by_type["activity"])
    if by_type["provider_metrics"]:
        await _providers(conn, by_type["provider_metrics"])
    if by_type["revenue"]:
        await _payments(conn, by_type["revenue"], rate=settings.commission_rate)
    await _provider_days(conn, by_type["provider_metrics"] + by_type["revenue"])


async def _select_in(
    conn: AsyncConnection,
    columns: Sequence[Any],
    key: Any,
    keys: Sequence[Any],
    *where: Any,
    select_from: Any = None,
) -> list[Any]:
    query = select(*columns)
    if select_from is not None:
        query = query.select_from(select_from)
    found: list[Any] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found.extend(await conn.execute(query.where(key.in_(chunk), *where)))
    return found


async def _units(conn: AsyncConnection, session_ids: Sequence[str]) -> None:
    """SQLite: keep each unit's first touch, its session with the smallest (started_at,
    session_id); PostgreSQL's triggers make the same choice (migration 0012)."""
    if not session_ids:
        return
    columns = "session_id, user_id, started_at, province, device_type, referral_channel"
    # Plain text for the writer's hottest read: an expanding IN through SQLAlchemy costs a
    # cache key and a re-render of the list on every transaction.
    rows: list[Any] = []
    head = f"SELECT {columns} FROM {tables.sessions.name} WHERE session_id IN "
    for start in range(0, len(session_ids), _CHUNK):
        chunk = tuple(session_ids[start : start + _CHUNK])
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


_UNIT_DIMENSIONS = ("province", "device_type", "referral_channel")
_UNIT_FIELDS = ("first_at", "first_session_id", *_UNIT_DIMENSIONS)


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
            or_(*(ex[f].is_distinct_from(u.c[f]) for f in _UNIT_DIMENSIONS)),
        ),
    )
    return stmt.on_conflict_do_update(
        index_elements=["unit"], set_={f: ex[f] for f in _UNIT_FIELDS}, where=earlier
    )


_UNITS = CompiledUpsert(_units_upsert, ("unit", *_UNIT_FIELDS), conflict=("unit",))


async def _funnel(conn: AsyncConnection, rows: list[dict[str, Any]], *, window_us: int) -> None:
    """Store funnel events by unit and recompute the starts whose window they fall in."""
    fe = tables.funnel_events
    await conn.execute(
        fe.insert(),
        [
            {
                "event_id": r["event_id"],
                "unit": funnel_unit(r),
                "step": r["step"],
                "occurred_at": r["occurred_at"],
            }
            for r in rows
        ],
    )
    spans: dict[str, tuple[int, int]] = {}
    for r in rows:
        unit, at = funnel_unit(r), r["occurred_at"]
        lo, hi = spans.get(unit, (at, at))
        spans[unit] = (min(lo, at), max(hi, at))
    units = sorted(spans)
    # A start's chain lies in [t1, t1 + window]: only starts in [lo - window, hi] can change,
    # and with them the chosen chain of their ART days, which needs every start of those days.
    day_lo = art_day(min(lo for lo, _ in spans.values()) - window_us)
    day_hi = art_day(max(hi for _, hi in spans.values()))
    # Each event comes with its unit's first touch (already brought up to date by _units in
    # this transaction), which the rollups carry; every unit has at least its new events here.
    u = tables.units
    found = await _select_in(
        conn,
        [
            fe.c.unit,
            fe.c.event_id,
            fe.c.step,
            fe.c.occurred_at,
            *(u.c[d] for d in _UNIT_DIMENSIONS),
        ],
        fe.c.unit,
        units,
        fe.c.occurred_at.between(day_start_us(day_lo), day_start_us(day_hi + 1) + window_us),
        select_from=fe.outerjoin(u, u.c.unit == fe.c.unit),
    )
    events: dict[str, list[funnel_math.StepEvent]] = defaultdict(list)
    touches: dict[str, dict[str, Any]] = {}
    for unit, event_id, step, at, *dimensions in found:
        events[unit].append(funnel_math.StepEvent(event_id=event_id, step=step, at=at))
        touches[unit] = dict(zip(_UNIT_DIMENSIONS, dimensions, strict=True))
    starts: list[dict[str, Any]] = []
    bounds: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    for unit in units:
        lo, hi = spans[unit]
        first, last = lo - window_us, hi
        bounds.append({"u": unit, "lo": first, "hi": last})
        changed = range(art_day(first), art_day(last) + 1)
        best: dict[int, funnel_math.Chain] = {}
        for chain in funnel_math.chains(events[unit], window_us=window_us):
            t1 = chain.times[0]
            if first <= t1 <= last:
                times = [*chain.times, None, None, None, None][:5]
                starts.append(
                    {
                        "event_id": chain.event_id,
                        "unit": unit,
                        "t1": t1,
                        "reach": chain.reach,
                        "t2": times[1],
                        "t3": times[2],
                        "t4": times[3],
                        "t5": times[4],
                        **touches[unit],
                    }
                )
            day = art_day(t1)
            if day in changed:
                known = best.get(day)
                # chains() yields starts by time: a later one wins only by reaching further.
                if known is None or chain.reach > known.reach:
                    best[day] = chain
        for day, chain in best.items():
            gaps: list[int | None] = [b - a for a, b in itertools.pairwise(chain.times)]
            gaps += [None] * (len(_GAPS) - len(gaps))
            days.append(
                {
                    "unit": unit,
                    "day": day,
                    "reach": chain.reach,
                    "t1": chain.times[0],
                    **dict(zip(_GAPS, gaps, strict=True)),
                    **touches[unit],
                }
            )
    fs = tables.funnel_starts
    await conn.execute(
        fs.delete().where(
            fs.c.unit == bindparam("u"), fs.c.t1.between(bindparam("lo"), bindparam("hi"))
        ),
        bounds,
    )
    if starts:
        await conn.execute(fs.insert(), starts)
    await _FUNNEL_DAYS.execute(conn, days)
    await _retention(conn, [r for r in rows if r["step"] == funnel_math.LAST_STEP])


_GAPS = ("g2", "g3", "g4", "g5")
_FUNNEL_DAY_FIELDS = ("reach", "t1", *_GAPS, *_UNIT_DIMENSIONS)


def _funnel_days_upsert(dialect: str) -> Any:
    stmt = upsert(dialect, tables.funnel_days)
    return stmt.on_conflict_do_update(
        index_elements=["day", "unit"], set_={f: stmt.excluded[f] for f in _FUNNEL_DAY_FIELDS}
    )


_FUNNEL_DAYS = CompiledUpsert(
    _funnel_days_upsert, ("day", "unit", *_FUNNEL_DAY_FIELDS), conflict=("day", "unit")
)


async def _retention(conn: AsyncConnection, payments: list[dict[str, Any]]) -> None:
    """Record the ART weeks of each client's completed payments and its first such week."""
    if not payments:
        return
    weeks: dict[tuple[str, int], None] = {}
    first: dict[str, int] = {}
    for r in payments:
        unit, week = funnel_unit(r), art_week(r["occurred_at"])
        weeks[(unit, week)] = None
        first[unit] = min(first.get(unit, week), week)
    await _CLIENT_WEEKS.execute(conn, [{"unit": u, "week": w} for u, w in weeks])
    await _CLIENT_COHORTS.execute(conn, [{"unit": u, "cohort_week": w} for u, w in first.items()])


def _cohorts_upsert(dialect: str) -> Any:
    cc = tables.client_cohorts
    stmt = upsert(dialect, cc)
    return stmt.on_conflict_do_update(
        index_elements=["unit"],
        set_={
            "cohort_week": case(
                (stmt.excluded.cohort_week < cc.c.cohort_week, stmt.excluded.cohort_week),
                else_=cc.c.cohort_week,
            )
        },
    )


_CLIENT_WEEKS = CompiledUpsert(
    lambda d: upsert(d, tables.client_weeks).on_conflict_do_nothing(
        index_elements=["unit", "week"]
    ),
    ("unit", "week"),
    conflict=("unit", "week"),
)
_CLIENT_COHORTS = CompiledUpsert(_cohorts_upsert, ("unit", "cohort_week"), conflict=("unit",))


class _Counter:
    """An hourly rollup: rows keyed by some columns whose other columns add up on conflict."""

    def __init__(self, table: Any, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        values = [c.name for c in table.columns if c.name not in self.keys]

        def build(dialect: str) -> Any:
            stmt = upsert(dialect, table)
            return stmt.on_conflict_do_update(
                index_elements=list(self.keys),
                set_={c: table.c[c] + stmt.excluded[c] for c in values},
            )

        self.upsert = CompiledUpsert(build, (*self.keys, *values), conflict=self.keys)

    async def add(
        self, conn: AsyncConnection, counts: dict[tuple[Any, ...], dict[str, int]]
    ) -> None:
        """Add ``counts`` ({key tuple: {column: amount}}) to the rollup."""
        await self.upsert.execute(conn, self.rows(counts))

    def rows(self, counts: dict[tuple[Any, ...], dict[str, int]]) -> list[dict[str, Any]]:
        """Return ``counts`` as rows of the rollup."""
        return [dict(zip(self.keys, k, strict=True)) | v for k, v in counts.items()]


ACTIONS = _Counter(tables.action_hourly, ("hour", "action"))
_ACTIVITY = _Counter(tables.activity_hourly, ("hour", "province", "city", "activity"))
_PROVIDERS = _Counter(tables.provider_hourly, ("hour", "provider_id"))


def _action_counts(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, int]]:
    counts: dict[tuple[Any, ...], dict[str, int]] = {}
    for r in rows:
        key = (hour_of(r["occurred_at"]), r["action"])
        counts.setdefault(key, {"count": 0})["count"] += 1
    return counts


async def _activity(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    counts: dict[tuple[Any, ...], dict[str, int]] = {}
    for r in rows:
        key = (hour_of(r["occurred_at"]), r["province"], r["city"] or "", r["activity"])
        counts.setdefault(key, {"count": 0})["count"] += r["count"]
    await _ACTIVITY.add(conn, counts)


_PROVIDER_COUNTER = {
    "booking_completed": "completed",
    "booking_cancelled": "cancelled",
    "no_show": "no_shows",
}


async def _providers(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    counts: dict[tuple[Any, ...], dict[str, int]] = {}
    for r in rows:
        key = (hour_of(r["occurred_at"]), r["provider_id"])
        c = counts.setdefault(
            key, dict.fromkeys(("completed", "cancelled", "no_shows", "ratings", "rating_sum"), 0)
        )
        if r["provider_event"] == "rating":
            c["ratings"] += 1
            c["rating_sum"] += r["rating"]
        else:
            c[_PROVIDER_COUNTER[r["provider_event"]]] += 1
    await _PROVIDERS.add(conn, counts)


async def _provider_days(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    seen = {
        (art_day(r["occurred_at"]), r["province"], r["provider_id"])
        for r in rows
        if r["provider_id"] is not None and r["province"] is not None
    }
    if not seen:
        return
    rows_out = [{"day": d, "province": p, "provider_id": i} for d, p, i in sorted(seen)]
    await _PROVIDER_DAYS.execute(conn, rows_out)


_PROVIDER_DAYS = CompiledUpsert(
    lambda d: upsert(d, tables.provider_days).on_conflict_do_nothing(
        index_elements=["day", "province", "provider_id"]
    ),
    ("day", "province", "provider_id"),
    conflict=("day", "province", "provider_id"),
)


_STATE_FIELDS = (
    "status",
    "event_id",
    "amount_cents",
    "currency",
    "commission_cents",
    "booking_id",
    "provider_id",
    "user_id",
    "payment_method",
    "payment_type",
    "installments",
    "province",
)
_APPROVED_FIELDS = (
    "approved_amount_cents",
    "approved_currency",
    "approved_commission_cents",
    "approved_method",
    "approved_type",
    "approved_installments",
    "approved_provider_id",
    "approved_user_id",
)
_MILESTONES = {
    "approved": ("first_approved_at", _APPROVED_FIELDS),
    "refunded": ("refunded_at", ("refunded_cents", "refunded_currency")),
    "charged_back": ("charged_back_at", ("chargeback_cents", "chargeback_currency")),
}


def _milestone_values(row: dict[str, Any], status: str, rate: Decimal) -> dict[str, Any]:
    if status == "approved":
        return {
            "approved_amount_cents": row["amount_cents"],
            "approved_currency": row["currency"],
            "approved_commission_cents": commission_cents(
                row["amount_cents"], row["commission_cents"], rate
            ),
            "approved_method": row["payment_method"],
            "approved_type": row["payment_type"],
            "approved_installments": row["installments"],
            "approved_provider_id": row["provider_id"],
            "approved_user_id": row["user_id"],
        }
    prefix = "refunded" if status == "refunded" else "chargeback"
    return {f"{prefix}_cents": row["amount_cents"], f"{prefix}_currency": row["currency"]}


async def _payments(conn: AsyncConnection, rows: list[dict[str, Any]], *, rate: Decimal) -> None:
    """Keep each payment's latest status and the first approval, refund and chargeback."""
    states: dict[str, dict[str, Any]] = {}
    for row in rows:
        at = row["occurred_at"]
        state = states.get(row["payment_id"])
        if state is None:
            state = {"payment_id": row["payment_id"], "status_at": at}
            state.update({f: row[f] for f in _STATE_FIELDS})
            for time_field, fields in _MILESTONES.values():
                state[time_field] = None
                state.update(dict.fromkeys(fields))
            states[row["payment_id"]] = state
        elif at >= state["status_at"]:  # later in the batch wins a tie, as across batches
            state["status_at"] = at
            state.update({f: row[f] for f in _STATE_FIELDS})
        milestone = _MILESTONES.get(row["status"])
        if milestone is not None:
            time_field, _ = milestone
            if state[time_field] is None or at < state[time_field]:
                state[time_field] = at
                state.update(_milestone_values(row, row["status"], rate))
    await _PAYMENTS.execute(conn, list(states.values()))


def _payments_upsert(dialect: str) -> Any:
    p = tables.payments
    stmt = upsert(dialect, p)
    ex = stmt.excluded
    newer = ex.status_at >= p.c.status_at
    set_: dict[str, Any] = {
        f: case((newer, ex[f]), else_=p.c[f]) for f in (*_STATE_FIELDS, "status_at")
    }
    for time_field, fields in _MILESTONES.values():
        earlier = and_(
            ex[time_field].is_not(None),
            or_(p.c[time_field].is_(None), ex[time_field] < p.c[time_field]),
        )
        for f in (time_field, *fields):
            set_[f] = case((earlier, ex[f]), else_=p.c[f])
    return stmt.on_conflict_do_update(index_elements=["payment_id"], set_=set_)


_PAYMENTS = CompiledUpsert(
    _payments_upsert,
    (
        "payment_id",
        "status_at",
        *_STATE_FIELDS,
        *(f for time_field, fields in _MILESTONES.values() for f in (time_field, *fields)),
    ),
    conflict=("payment_id",),
)
