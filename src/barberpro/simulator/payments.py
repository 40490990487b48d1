"""The traffic model's payments: what a booking is paid with, and what happens to it after.

Each payment is a sequence of revenue events with the fields MercadoPago reports: its method
and type, its cuotas (credit cards only; longer plans rejected more often), its amount and the
marketplace's commission, the user, session, booking and barber it belongs to. After approval a
payment may be notified again, refunded (whole or in part, once or twice) or charged back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from barberpro.simulator import people
from barberpro.simulator.stream import Emitter, Provider, pick

COMMISSION = Decimal("0.08")
_CENT = Decimal("0.01")


class Payer(Emitter):
    """Payments on top of the emitter's primitives."""

    def payment_id(self, tag: str = "") -> str:
        """Return a fresh payment id: numeric as MercadoPago's, or readable for the tests."""
        self.counter += 1
        if self.shape.mp_ids:
            return str(30_000_000_000 + self.rng.randrange(10**9) * 1000 + self.counter % 1000)
        return f"mp-{self.shape.tag}{tag}{self.counter:05d}"

    def payment_body(
        self, payment_id: str, user_id: str | None, provider: Provider | None, currency: str
    ) -> dict[str, Any]:
        """Return the fields of a payment shared by its status events."""
        method, kind = pick(self.rng, [((m, t), w) for m, t, w in people.METHODS])
        plans = people.PLANS if kind == "credit_card" else ((1, 1),)
        amount = self.money(currency)
        body: dict[str, Any] = {
            "payment_id": payment_id,
            "user_id": user_id,
            "provider_id": provider.provider_id if provider else None,
            "amount": str(amount),
            "currency": currency if currency != "ARS" or self.rng.random() < 0.7 else None,
            "payment_method": method,
            "payment_type": kind,
            "installments": pick(self.rng, plans),
        }
        if self.rng.random() < self.shape.commission_given:
            body["commission"] = str((amount * COMMISSION).quantize(_CENT))
        if provider is not None and self.rng.random() < 0.7:
            body["province"] = self.spelling(provider.province)
        return body

    def currency(self) -> str:
        return "USD" if self.rng.random() < self.shape.foreign_currency else "ARS"

    def paid_booking(
        self,
        v: float,
        sid: str,
        user_id: str | None,
        provider: Provider,
        booking_id: str | None,
    ) -> None:
        """The payment behind a completed booking: its lifecycle and the appointment."""
        currency = self.currency()
        body = self.payment_body(self.payment_id(), user_id, provider, currency)
        body["booking_id"] = booking_id
        if self.shape.mp_ids:  # the preference's metadata names the session in every state
            body["session_id"] = sid
        if self.rng.random() < people.REJECTED[int(body["installments"])]:
            # An earlier attempt was rejected, then the client paid another way.
            rejected = self.payment_body(self.payment_id("r"), user_id, provider, currency)
            if rejected["payment_type"] == "credit_card":  # cuotas on credit cards only
                rejected["installments"] = self.rng.choice([6, 12, 12])
            self.emit("revenue", v - self.secs(120, 400), {**rejected, "status": "rejected"})
        if self.rng.random() < 0.2:
            status = self.rng.choice(["pending", "in_process"])
            self.emit("revenue", v - self.secs(30, 100), {**body, "status": status})
        approved = self.emit(
            "revenue", v - self.secs(1, 20), {**body, "session_id": sid, "status": "approved"}
        )
        self.lifecycle(body, approved)
        appointment = v + self.secs(*self.shape.appointment)
        roll = self.rng.random()
        if roll < 0.85:
            self.provider_event(provider, "booking_completed", appointment, body.get("amount"))
            if self.rng.random() < 0.55:
                self.provider_event(
                    provider,
                    "rating",
                    appointment + self.secs(*self.shape.rating),
                    rating=pick(self.rng, [(5, 50), (4, 25), (3, 12), (2, 7), (1, 6)]),
                )
        elif roll < 0.93:
            self.provider_event(provider, "no_show", appointment)
        else:
            self.provider_event(provider, "booking_cancelled", appointment - self.secs(600, 7200))

    def lifecycle(self, body: dict[str, Any], approved: float) -> None:
        """What may happen after approval: re-notification, refunds, a chargeback."""
        if self.rng.random() < 0.05:  # MercadoPago notifies the approval again
            again = approved + self.secs(60, 1800)
            self.emit("revenue", again, {**body, "status": "approved"})
        roll = self.rng.random()
        if roll < 0.10:
            amount = Decimal(body["amount"])
            if not self.shape.mp_ids and self.rng.random() < 0.3:
                amount = (amount / 2).quantize(_CENT)
            refund = {**body, "amount": str(amount), "status": "refunded"}
            at = self.emit("revenue", approved + self.secs(*self.shape.refund), refund)
            if self.rng.random() < 0.3:  # a second refund notice: only the first counts
                self.emit("revenue", at + self.secs(*self.shape.refund), refund)
        elif roll < 0.15:
            at = approved + self.secs(*self.shape.chargeback)
            self.emit("revenue", at, {**body, "status": "charged_back"})

    def standalone_payment(self) -> None:
        """A payment seen only through MercadoPago (no funnel), sometimes without a user."""
        users = max(self.shape.users, 1)
        pick_user = self.rng.random() < 0.5
        user = f"u-{self.shape.tag}{self.rng.randrange(users) + 1:05d}" if pick_user else None
        provider = self.rng.choice(self.providers)
        body = self.payment_body(self.payment_id("s"), user, provider, self.currency())
        v = self.session_time(self.some_day())
        roll = self.rng.random()
        if roll < 0.55:
            approved = self.emit("revenue", v, {**body, "status": "approved"})
            self.lifecycle(body, approved)
        elif roll < 0.85:
            if self.rng.random() < 0.5:
                self.emit("revenue", v - self.secs(10, 90), {**body, "status": "in_process"})
            self.emit("revenue", v, {**body, "status": "rejected"})
        elif roll < 0.95:  # rejected, then approved on a retry of the same payment
            self.emit("revenue", v, {**body, "status": "rejected"})
            self.emit("revenue", v + self.secs(60, 600), {**body, "status": "approved"})
        else:  # approved, then cancelled: the approval still counts in gross
            self.emit("revenue", v, {**body, "status": "approved"})
            self.emit("revenue", v + self.secs(600, 7200), {**body, "status": "cancelled"})
