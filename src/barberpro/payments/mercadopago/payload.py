"""A MercadoPago payment (``GET /v1/payments/{id}``) as a revenue event of the analytics."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, get_args

from pydantic import ValidationError

from barberpro.analytics import schemas
from barberpro.argentina import normalize_province

STATUSES: frozenset[str] = frozenset(get_args(schemas.PaymentStatus))
_CENT = Decimal("0.01")


class PayloadError(ValueError):
    """The payment cannot become a revenue event; the message says which field and why."""


def event_id(payment_id: str, status: str, date_last_updated: object) -> uuid.UUID:
    """Return the revenue event id of one state of a payment: same state, same id (no recount)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"mercadopago:{payment_id}:{status}:{date_last_updated}")


def revenue(
    payment: Mapping[str, Any],
    *,
    status: str | None = None,
    at: str | None = None,
) -> schemas.Revenue:
    """Return the revenue event of ``payment``.

    ``status`` and ``at`` override the payment's own status and time: a chargeback notification
    marks its payment ``charged_back`` at the chargeback's time before the payment itself says
    so. The event id is derived from (payment id, status, time) so that processing the same
    state twice stores one event, and a later state is a new event that replaces it.
    """
    payment_id = _text(payment.get("id"))
    if payment_id is None:
        raise PayloadError("id: the payment has no id")
    state = status or _text(payment.get("status"))
    if state not in STATUSES:
        raise PayloadError(f"status: {state!r} is not a MercadoPago payment status")
    stamp = at if at is not None else payment.get("date_last_updated")
    moment = _when(stamp) or _when(payment.get("date_approved"))
    # Who pays is what our checkout put in the preference's metadata (MercadoPago returns its
    # keys in snake_case): payer.id is the payer's MercadoPago account, never our user.
    metadata = payment.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    body: dict[str, Any] = {
        "event_id": event_id(payment_id, state, stamp),
        "payment_id": payment_id,
        "booking_id": _text(metadata.get("booking_id")) or _text(payment.get("external_reference")),
        "provider_id": _text(metadata.get("provider_id")),
        "user_id": _text(metadata.get("user_id")),
        "session_id": _text(metadata.get("session_id")),
        "amount": _amount(payment.get("transaction_amount"), "transaction_amount"),
        "currency": payment.get("currency_id") or "ARS",
        "status": state,
        "payment_method": payment.get("payment_method_id"),
        "payment_type": payment.get("payment_type_id"),
        "installments": payment.get("installments") or 1,
        "commission": application_fee(payment.get("fee_details")),
        "province": _province(metadata.get("province")),
        "timestamp": moment,
    }
    try:
        return schemas.Revenue.model_validate(body)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise PayloadError(f"payment {payment_id}: {reasons}") from exc


def application_fee(fee_details: object) -> Decimal | None:
    """Return the sum of the ``application_fee`` entries (the marketplace's commission)."""
    if not isinstance(fee_details, list):
        return None
    fees = [
        _amount(fee.get("amount"), "fee_details.amount")
        for fee in fee_details
        if isinstance(fee, Mapping) and fee.get("type") == "application_fee"
    ]
    return sum(fees, Decimal(0)) if fees else None


def chargeback_payment_ids(chargeback: Mapping[str, Any]) -> list[str]:
    """Return the payment ids a chargeback (``GET /v1/chargebacks/{id}``) concerns."""
    found: list[str] = []
    payments = chargeback.get("payments")
    for item in payments if isinstance(payments, list) else []:
        value = item.get("id") if isinstance(item, Mapping) else item
        text = _text(value)
        if text is not None:
            found.append(text)
    return found


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        text = str(value).strip()
        return text or None
    return None


def _amount(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PayloadError(f"{field}: expected a number, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise PayloadError(f"{field}: {value!r} is not a number") from exc
    if not amount.is_finite():
        raise PayloadError(f"{field}: {value!r} is not a finite number")
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _province(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return normalize_province(value)
    except ValueError:
        return None
