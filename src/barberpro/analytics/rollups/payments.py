"""Each payment's state, from its status events (MercadoPago's statuses).

A payment's state is the fields of its latest status event (latest time; on a tie, the one
stored last). Beside it the payment keeps its first approval (revenue counts it at that time,
with that event's amount, commission, method...), its first refund and its first chargeback
(counted at their own time, by their own amount).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.money import commission_cents
from barberpro.db import tables
from barberpro.db.dialect import CompiledUpsert, upsert

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


async def add(conn: AsyncConnection, rows: list[dict[str, Any]], *, rate: Decimal) -> None:
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
