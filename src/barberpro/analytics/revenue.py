"""Revenue and commission: gross by first approval, refunds and chargebacks by their own time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.money import BASE_CURRENCY, ars
from barberpro.analytics.range import Range
from barberpro.analytics.timebuckets import HOUR_US, art_hour_of_day
from barberpro.db import tables
from barberpro.db.dialect import bucket


def approved_in(span: Range) -> tuple[Any, ...]:
    """The WHERE of DESIGN.md's revenue basis: payments first approved in the range."""
    p = tables.payments
    return (p.c.first_approved_at >= span.start_us, p.c.first_approved_at < span.end_us)


async def revenue(conn: AsyncConnection, span: Range) -> dict[str, Any]:
    """Return the revenue section: totals in ARS, by hour, method and installments."""
    p = tables.payments
    basis = approved_in(span)
    by_currency = {
        currency: (count, gross, commission)
        for currency, count, gross, commission in await conn.execute(
            select(
                p.c.approved_currency,
                func.count(),
                func.sum(p.c.approved_amount_cents),
                func.sum(p.c.approved_commission_cents),
            )
            .where(*basis)
            .group_by(p.c.approved_currency)
        )
    }
    payments, gross_sum, commission = by_currency.pop(BASE_CURRENCY, (0, 0, 0))
    gross = int(gross_sum or 0)  # PostgreSQL sums bigints as numeric
    refunds = await _milestone_sum(
        conn, span, p.c.refunded_at, p.c.refunded_cents, p.c.refunded_currency
    )
    chargebacks = await _milestone_sum(
        conn, span, p.c.charged_back_at, p.c.chargeback_cents, p.c.chargeback_currency
    )
    ars_basis = (*basis, p.c.approved_currency == BASE_CURRENCY)
    hourly = [{"hour": h, "gross_ars": 0.0, "payments": 0} for h in range(24)]
    hour_cents = [0] * 24
    for hour, count, amount in await conn.execute(
        select(
            bucket(p.c.first_approved_at, HOUR_US),
            func.count(),
            func.sum(p.c.approved_amount_cents),
        )
        .where(*ars_basis)
        .group_by(bucket(p.c.first_approved_at, HOUR_US))
    ):
        slot = art_hour_of_day(int(hour))
        hourly[slot]["payments"] = int(hourly[slot]["payments"]) + count
        hour_cents[slot] += int(amount or 0)
    for slot, cents in enumerate(hour_cents):
        hourly[slot]["gross_ars"] = ars(cents)
    methods = []
    for method, kind, count, amount in await conn.execute(
        select(
            p.c.approved_method,
            p.c.approved_type,
            func.count(),
            func.sum(p.c.approved_amount_cents),
        )
        .where(*ars_basis)
        .group_by(p.c.approved_method, p.c.approved_type)
    ):
        methods.append(
            {
                "payment_method": method,
                "payment_type": kind,
                "payments": count,
                "gross_ars": ars(amount),
                "share": int(amount or 0) / gross if gross else None,
            }
        )
    methods.sort(key=lambda m: (-m["gross_ars"], m["payment_method"], m["payment_type"]))
    return {
        "currency": BASE_CURRENCY,
        "gross_ars": ars(gross),
        "commission_ars": ars(commission),
        "refunds_ars": ars(refunds),
        "chargebacks_ars": ars(chargebacks),
        "net_ars": ars(gross - refunds - chargebacks),
        "payments_approved": payments,
        "hourly_art": hourly,
        "by_method": methods,
        "installments": await _installments(conn, span),
        "other_currencies": [
            {"currency": c, "payments": n, "gross": ars(g), "commission": ars(k)}
            for c, (n, g, k) in sorted(by_currency.items(), key=lambda kv: str(kv[0]))
        ],
    }


async def _milestone_sum(
    conn: AsyncConnection, span: Range, at: Any, cents: Any, currency: Any
) -> int:
    total = (
        await conn.execute(
            select(func.sum(cents)).where(
                at >= span.start_us, at < span.end_us, currency == BASE_CURRENCY
            )
        )
    ).scalar_one()
    return int(total or 0)


async def _installments(conn: AsyncConnection, span: Range) -> list[dict[str, Any]]:
    """Approval by number of cuotas: approved on the gross basis, rejected by latest status."""
    p = tables.payments
    approved = dict(
        (
            await conn.execute(
                select(p.c.approved_installments, func.count())
                .where(*approved_in(span))
                .group_by(p.c.approved_installments)
            )
        )
        .tuples()
        .all()
    )
    rejected = dict(
        (
            await conn.execute(
                select(p.c.installments, func.count())
                .where(
                    p.c.status == "rejected",
                    p.c.status_at >= span.start_us,
                    p.c.status_at < span.end_us,
                )
                .group_by(p.c.installments)
            )
        )
        .tuples()
        .all()
    )
    plans = []
    for n in sorted(set(approved) | set(rejected)):
        a, r = approved.get(n, 0), rejected.get(n, 0)
        plans.append(
            {
                "installments": n,
                "approved": a,
                "rejected": r,
                "approval_rate": a / (a + r) if a + r else None,
            }
        )
    return plans
