"""The ground truth of money: revenue and the barbers' earnings, by docs/ANALYTICS.md.

A payment counts in gross at its first approval (that event's amount, currency and
commission), refunds and chargebacks at their first event each, rejections by latest status.
Commission is not earned on money returned: a payment's first return (the earlier of its first
refund and first chargeback, the refund on equal times) takes its commission back when that
return lies in the range. A barber's net is gross - refunds - chargebacks - commission.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from barberpro.simulator.figures import ART, ars, cents, rate
from barberpro.simulator.stream import Sent

#: The service's default BARBERPRO_COMMISSION_RATE, for payments that state no commission.
COMMISSION_RATE = Decimal("0.10")


@dataclass(slots=True)
class _Payment:
    events: list[Sent]

    def first(self, status: str) -> Sent | None:
        return next((e for e in self.events if e.body["status"] == status), None)

    def commission(self, approved: Sent) -> int:
        if approved.body.get("commission") is not None:
            return cents(approved.body["commission"])
        amount = Decimal(cents(approved.body["amount"]))
        return int((amount * COMMISSION_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def first_return(self) -> Sent | None:
        refund, chargeback = self.first("refunded"), self.first("charged_back")
        if refund is not None and (chargeback is None or refund.at <= chargeback.at):
            return refund
        return chargeback


def _currency(e: Sent) -> str:
    return str(e.body.get("currency") or "ARS").upper()


class Money:
    """The revenue section and the providers' rows of ``[start, end)``."""

    def __init__(
        self, revenue: list[Sent], provider_events: list[Sent], start: datetime, end: datetime
    ) -> None:
        by_id: dict[str, list[Sent]] = defaultdict(list)
        for e in revenue:
            by_id[str(e.body["payment_id"])].append(e)
        self.payments = [_Payment(sorted(es, key=lambda e: e.at)) for es in by_id.values()]
        self.provider_events = provider_events
        self.start, self.end = start, end

    def inside(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def approvals(self) -> list[tuple[_Payment, Sent]]:
        """Payments on the gross basis (any currency) with their first approval."""
        found = []
        for p in self.payments:
            approved = p.first("approved")
            if approved is not None and self.inside(approved.at):
                found.append((p, approved))
        return found

    def returns(self) -> list[tuple[Sent, int, int]]:
        """Per approved payment: its first approval, the ARS its first refund and first
        chargeback returned in the range, and the commission (ARS approvals) taken back."""
        found = []
        for p in self.payments:
            approved = p.first("approved")
            if approved is None:
                continue
            returned = sum(
                cents(e.body["amount"])
                for e in (p.first("refunded"), p.first("charged_back"))
                if e is not None and self.inside(e.at) and _currency(e) == "ARS"
            )
            first = p.first_return()
            back = 0
            if first is not None and self.inside(first.at) and _currency(approved) == "ARS":
                back = p.commission(approved)
            if returned or back:
                found.append((approved, returned, back))
        return found

    def revenue(self, channel_of: Callable[[str], str]) -> dict[str, Any]:
        """The revenue figures, and each referral channel's revenue (``channel_of`` a user)."""
        approvals = self.approvals()
        in_ars = [(p, a) for p, a in approvals if _currency(a) == "ARS"]
        gross = sum(cents(a.body["amount"]) for _, a in in_ars)
        commission = sum(p.commission(a) for p, a in in_ars)
        commission -= sum(back for _, _, back in self.returns())
        deducted = {"refunded": 0, "charged_back": 0}
        rejected: Counter[int] = Counter()
        for p in self.payments:
            for status in deducted:
                e = p.first(status)
                if e is not None and self.inside(e.at) and _currency(e) == "ARS":
                    deducted[status] += cents(e.body["amount"])
            latest = p.events[-1]
            if latest.body["status"] == "rejected" and self.inside(latest.at):
                rejected[int(latest.body.get("installments") or 1)] += 1
        found: dict[str, Any] = {
            "revenue.gross_ars": ars(gross),
            "revenue.commission_ars": ars(commission),
            "revenue.refunds_ars": ars(deducted["refunded"]),
            "revenue.chargebacks_ars": ars(deducted["charged_back"]),
            "revenue.net_ars": ars(gross - deducted["refunded"] - deducted["charged_back"]),
            "revenue.payments_approved": len(in_ars),
        }
        hours = [[0, 0] for _ in range(24)]
        methods: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        channels: Counter[str] = Counter()
        for _, a in in_ars:
            amount = cents(a.body["amount"])
            hour = hours[(a.at + ART).hour]
            hour[0], hour[1] = hour[0] + 1, hour[1] + amount
            method = f"{str(a.body['payment_method']).lower()}/{a.body['payment_type']}"
            methods[method][0] += 1
            methods[method][1] += amount
            if a.body.get("user_id"):  # a payment without a user has no channel
                channels[channel_of(str(a.body["user_id"]))] += amount
        for h, (count, amount) in enumerate(hours):
            found[f"revenue.hourly_art.{h}.payments"] = count
            found[f"revenue.hourly_art.{h}.gross_ars"] = ars(amount)
        for method, (count, amount) in methods.items():
            found[f"revenue.by_method.{method}.payments"] = count
            found[f"revenue.by_method.{method}.gross_ars"] = ars(amount)
            found[f"revenue.by_method.{method}.share"] = rate(amount, gross)
        approved = Counter(int(a.body.get("installments") or 1) for _, a in approvals)
        for plan in set(approved) | set(rejected):
            found[f"revenue.installments.{plan}.approved"] = approved[plan]
            found[f"revenue.installments.{plan}.rejected"] = rejected[plan]
            found[f"revenue.installments.{plan}.approval_rate"] = rate(
                approved[plan], approved[plan] + rejected[plan]
            )
        for channel, amount in channels.items():
            found[f"referrals.{channel}.revenue_ars"] = ars(amount)
        return found

    def providers(self) -> dict[str, Any]:
        """Each barber's bookings, ratings and earnings in the range."""
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        ratings: dict[str, list[int]] = defaultdict(list)
        names = {"booking_completed": "completed", "booking_cancelled": "cancelled"}
        for e in self.provider_events:
            if not self.inside(e.at):
                continue
            provider, kind = str(e.body["provider_id"]), str(e.body["event"])
            rows[provider][names.get(kind, kind)] += 1
            if kind == "rating":
                ratings[provider].append(int(e.body["rating"]))
        for p, a in self.approvals():
            if a.body.get("provider_id") and _currency(a) == "ARS":
                row = rows[str(a.body["provider_id"])]
                row["gross"] += cents(a.body["amount"])
                row["commission"] += p.commission(a)
        for approved, returned, back in self.returns():
            if approved.body.get("provider_id"):
                row = rows[str(approved.body["provider_id"])]
                row["returned"] += returned
                row["commission"] -= back
        found: dict[str, Any] = {}
        for provider, row in rows.items():
            prefix = f"providers.{provider}"
            found[f"{prefix}.bookings_completed"] = row["completed"]
            found[f"{prefix}.cancellations"] = row["cancelled"]
            found[f"{prefix}.no_shows"] = row["no_show"]
            found[f"{prefix}.ratings"] = len(ratings[provider])
            found[f"{prefix}.rating_avg"] = (
                round(sum(ratings[provider]) / len(ratings[provider]), 2)
                if ratings[provider]
                else None
            )
            found[f"{prefix}.gross_ars"] = ars(row["gross"])
            found[f"{prefix}.commission_ars"] = ars(row["commission"])
            found[f"{prefix}.net_ars"] = ars(row["gross"] - row["returned"] - row["commission"])
        return found
