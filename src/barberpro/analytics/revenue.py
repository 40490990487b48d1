"""Revenue and commission: gross by first approval, refunds and chargebacks by their own time.

Commission is not earned on money returned: the commission of a range is that of the payments
first approved in it, less the commission that the refunds and chargebacks of the range take
back (`takes_commission_back`). The provider leaderboard uses the same basis.

Every figure comes from the range's `Ledger`: whole UTC hours read from the `payment_hours`
rollup (kept by triggers on `payments`, migration 0008), the parts of the range outside whole
hours from the payments themselves, grouped the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.money import BASE_CURRENCY, ars
from barberpro.analytics.range import Range
from barberpro.api.numbers import rate
from barberpro.argentina.timezone import HOUR_US, art_hour_of_day
from barberpro.db import tables
from barberpro.db.dialect import bucket, constant


def approved_in(span: Range) -> tuple[Any, ...]:
    """The WHERE of the gross basis: payments first approved in the range (at their first
    approval, whatever their status now)."""
    p = tables.payments
    return (p.c.first_approved_at >= span.start_us, p.c.first_approved_at < span.end_us)


def returns() -> dict[str, tuple[Any, Any, Any]]:
    """The money returns of the payments, by measure (``refunded``, ``charged_back``): the time,
    amount and currency of a payment's first refund and of its first chargeback."""
    p = tables.payments
    return {
        "refunded": (p.c.refunded_at, p.c.refunded_cents, p.c.refunded_currency),
        "charged_back": (p.c.charged_back_at, p.c.chargeback_cents, p.c.chargeback_currency),
    }


def takes_commission_back(measure: str) -> Any:
    """The WHERE of the payments whose first ``refunded`` (or ``charged_back``) event takes back
    their commission (that of the first approval, whole, in the approval's currency): approved
    payments whose first return it is, the refund on a tie. Migration 0014 states it in SQL."""
    p = tables.payments
    refund, chargeback = p.c.refunded_at, p.c.charged_back_at
    first = (
        or_(chargeback.is_(None), refund <= chargeback)
        if measure == "refunded"
        else or_(refund.is_(None), chargeback < refund)
    )
    return and_(p.c.first_approved_at.is_not(None), first)


#: The ``payment_hours`` measures of the commission taken back (migration 0014).
_COMMISSION_BACK = frozenset({"refunded_commission", "charged_back_commission"})


@dataclass(slots=True)
class Ledger:
    """The revenue figures of a range, one entry per value a section reports.

    Approvals count at the payment's first approval, with that approval's fields; refunds and
    chargebacks at the first of each, by its amount; rejections by latest status. The commission
    a payment's first return takes back counts at that return.
    """

    #: approvals by currency: [payments, amount cents, commission cents less that taken back]
    totals: dict[str, list[int]] = field(default_factory=dict)
    #: approvals in the base currency by ART hour of day: [payments, amount cents]
    hours: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in range(24)])
    #: approvals in the base currency by (method, type): [payments, amount cents]
    methods: dict[tuple[str | None, str | None], list[int]] = field(default_factory=dict)
    #: approvals by plan (cuotas), every currency
    plans: dict[int | None, int] = field(default_factory=dict)
    #: payments whose latest status is rejected, by plan
    rejected: dict[int | None, int] = field(default_factory=dict)
    #: approved amount in the base currency by the payer's channel (None: no channel known)
    channels: dict[str | None, int] = field(default_factory=dict)
    refunds: int = 0
    chargebacks: int = 0

    def add(
        self,
        measure: str,
        hour: int,
        currency: str,
        part: str,
        detail: str,
        payments: int,
        cents: int,
        commission: int,
    ) -> None:
        """Add one group of ``payment_hours`` (or of payments grouped the same way)."""
        if not payments:  # a group whose payments all moved to other groups
            return
        base = currency == BASE_CURRENCY
        if measure == "approved":
            totals = self.totals.setdefault(currency, [0, 0, 0])
            totals[0] += payments
            totals[1] += cents
            totals[2] += commission
            if base:
                slot = self.hours[art_hour_of_day(hour)]
                slot[0] += payments
                slot[1] += cents
        elif measure == "approved_method":
            if base:
                method = self.methods.setdefault((part or None, detail or None), [0, 0])
                method[0] += payments
                method[1] += cents
        elif measure == "approved_installments":
            plan = int(part) if part else None
            self.plans[plan] = self.plans.get(plan, 0) + payments
        elif measure == "payer_channel":
            if base:
                self.channels[part or None] = self.channels.get(part or None, 0) + cents
        elif measure == "rejected":
            plan = int(part) if part else None
            self.rejected[plan] = self.rejected.get(plan, 0) + payments
        elif measure in _COMMISSION_BACK:
            self.totals.setdefault(currency, [0, 0, 0])[2] -= commission
        elif base and measure == "refunded":
            self.refunds += cents
        elif base and measure == "charged_back":
            self.chargebacks += cents


async def ledger(conn: AsyncConnection, span: Range) -> Ledger:
    """Return the revenue figures of ``span``: whole hours from the rollup, edges raw."""
    ph = tables.payment_hours
    found = Ledger()
    lo, hi = span.full_hours()
    selects: list[Select[Any]] = []
    if lo < hi:
        selects.append(
            select(
                ph.c.measure,
                ph.c.hour,
                ph.c.currency,
                ph.c.part,
                ph.c.detail,
                ph.c.payments,
                ph.c.cents,
                ph.c.commission_cents,
            ).where(ph.c.hour >= lo, ph.c.hour < hi)
        )
    selects.extend(grouped_payments(a, b) for a, b in span.edges())
    for query in selects:
        for measure, hour, currency, part, detail, n, cents, commission in await conn.execute(
            query
        ):
            # PostgreSQL sums bigints as numeric
            found.add(
                measure, int(hour), currency, part, detail, int(n), int(cents), int(commission)
            )
    return found


def grouped_payments(start_us: int, end_us: int) -> Any:
    """The payments' figures in [start_us, end_us), grouped as ``payment_hours`` holds them."""
    p = tables.payments

    def text(column: Any) -> Any:
        return func.coalesce(column, constant(""))

    def plan(column: Any) -> Any:
        return text(cast(column, String))

    empty: Any = constant("")
    zero: Any = literal_column("0")
    approval = (p.c.first_approved_at, p.c.approved_currency, p.c.approved_amount_cents)
    # measure: (time, currency, part, detail, cents, commission, condition)
    measures: dict[str, tuple[Any, ...]] = {
        "approved": (*approval[:2], empty, empty, approval[2], p.c.approved_commission_cents),
        "approved_method": (
            *approval[:2],
            text(p.c.approved_method),
            text(p.c.approved_type),
            approval[2],
            zero,
        ),
        "approved_installments": (
            *approval[:2],
            plan(p.c.approved_installments),
            empty,
            approval[2],
            zero,
        ),
        "payer_channel": (
            *approval[:2],
            text(p.c.payer_channel),
            empty,
            approval[2],
            zero,
            p.c.approved_user_id.is_not(None),
        ),
        **{
            measure: (at, currency, empty, empty, cents, zero)
            for measure, (at, cents, currency) in returns().items()
        },
        **{
            f"{measure}_commission": (
                at,
                p.c.approved_currency,
                empty,
                empty,
                zero,
                p.c.approved_commission_cents,
                takes_commission_back(measure),
            )
            for measure, (at, _, _) in returns().items()
        },
        "rejected": (
            p.c.status_at,
            p.c.currency,
            plan(p.c.installments),
            empty,
            p.c.amount_cents,
            zero,
            p.c.status == "rejected",
        ),
    }
    selects = []
    for measure, (at, currency, part, detail, cents, commission, *when) in measures.items():
        keys = (bucket(at, HOUR_US), text(currency), part, detail)
        selects.append(
            select(
                constant(measure),
                *keys,
                func.count(),
                func.coalesce(func.sum(cents), 0),
                func.coalesce(func.sum(commission), 0),
            )
            .where(at >= start_us, at < end_us, *when)
            .group_by(*(key for key in keys if key is not empty))
        )
    return union_all(*selects)


async def revenue(
    conn: AsyncConnection, span: Range, found: Ledger | None = None
) -> dict[str, Any]:
    """Return the revenue section: totals in ARS, by hour, method and installments."""
    if found is None:
        found = await ledger(conn, span)
    others = dict(found.totals)
    payments, gross, commission = others.pop(BASE_CURRENCY, [0, 0, 0])
    methods: list[dict[str, Any]] = [
        {
            "payment_method": method,
            "payment_type": kind,
            "payments": count,
            "gross_ars": ars(amount),
            "share": rate(amount, gross),
        }
        for (method, kind), (count, amount) in found.methods.items()
    ]
    methods.sort(key=lambda m: (-m["gross_ars"], m["payment_method"], m["payment_type"]))
    return {
        "currency": BASE_CURRENCY,
        "gross_ars": ars(gross),
        "commission_ars": ars(commission),
        "refunds_ars": ars(found.refunds),
        "chargebacks_ars": ars(found.chargebacks),
        "net_ars": ars(gross - found.refunds - found.chargebacks),
        "payments_approved": payments,
        "hourly_art": [
            {"hour": h, "gross_ars": ars(cents), "payments": count}
            for h, (count, cents) in enumerate(found.hours)
        ],
        "by_method": methods,
        "installments": _installments(found),
        "other_currencies": [
            {"currency": c, "payments": n, "gross": ars(g), "commission": ars(k)}
            for c, (n, g, k) in sorted(others.items(), key=lambda kv: str(kv[0]))
        ],
    }


def _installments(found: Ledger) -> list[dict[str, Any]]:
    """Approval by number of cuotas: approved on the gross basis, rejected by latest status."""
    plans = []
    for n in sorted(set(found.plans) | set(found.rejected), key=lambda n: (n is None, n or 0)):
        a, r = found.plans.get(n, 0), found.rejected.get(n, 0)
        plans.append(
            {
                "installments": n,
                "approved": a,
                "rejected": r,
                "approval_rate": rate(a, a + r),
            }
        )
    return plans
