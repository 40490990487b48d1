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
    """Return the revenue section: totals in ARS, by hour, method and installments.

    The payments first approved in the range are read once, grouped by currency, hour, method,
    type and installments; every figure on that basis is summed from those groups.
    """
    p = tables.payments
    hour = bucket(p.c.first_approved_at, HOUR_US)
    keys = (
        p.c.approved_currency,
        hour,
        p.c.approved_method,
        p.c.approved_type,
        p.c.approved_installments,
    )
    groups = await conn.execute(
        select(
            *keys,
            func.count(),
            func.sum(p.c.approved_amount_cents),
            func.sum(p.c.approved_commission_cents),
        )
        .where(*approved_in(span))
        .group_by(*keys)
    )
    by_currency: dict[Any, list[int]] = {}
    hourly = [{"hour": h, "gross_ars": 0.0, "payments": 0} for h in range(24)]
    hour_cents = [0] * 24
    by_method: dict[tuple[Any, Any], list[int]] = {}
    approved_plans: dict[Any, int] = {}
    for currency, at, method, kind, plan, count, amount_sum, commission_sum in groups:
        # PostgreSQL sums bigints as numeric
        amount, commission = int(amount_sum or 0), int(commission_sum or 0)
        totals = by_currency.setdefault(currency, [0, 0, 0])
        totals[0] += count
        totals[1] += amount
        totals[2] += commission
        approved_plans[plan] = approved_plans.get(plan, 0) + count
        if currency != BASE_CURRENCY:
            continue
        slot = art_hour_of_day(int(at))
        hourly[slot]["payments"] = int(hourly[slot]["payments"]) + count
        hour_cents[slot] += amount
        method_totals = by_method.setdefault((method, kind), [0, 0])
        method_totals[0] += count
        method_totals[1] += amount
    payments, gross, commission = by_currency.pop(BASE_CURRENCY, [0, 0, 0])
    for slot, cents in enumerate(hour_cents):
        hourly[slot]["gross_ars"] = ars(cents)
    refunds = await _milestone_sum(
        conn, span, p.c.refunded_at, p.c.refunded_cents, p.c.refunded_currency
    )
    chargebacks = await _milestone_sum(
        conn, span, p.c.charged_back_at, p.c.chargeback_cents, p.c.chargeback_currency
    )
    methods = [
        {
            "payment_method": method,
            "payment_type": kind,
            "payments": count,
            "gross_ars": ars(amount),
            "share": amount / gross if gross else None,
        }
        for (method, kind), (count, amount) in by_method.items()
    ]
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
        "installments": await _installments(conn, span, approved_plans),
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


async def _installments(
    conn: AsyncConnection, span: Range, approved: dict[Any, int]
) -> list[dict[str, Any]]:
    """Approval by number of cuotas: ``approved`` on the gross basis, rejected by latest status."""
    p = tables.payments
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
