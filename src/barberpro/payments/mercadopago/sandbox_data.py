"""The stand-in's data: invented payments and chargebacks, in MercadoPago's JSON shape."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# MercadoPago answers with its own servers' offset.
_MP_TZ = timezone(timedelta(hours=-4))
# (payment_method_id, payment_type_id, weight) as seen in Argentina.
METHODS: tuple[tuple[str, str, int], ...] = (
    ("visa", "credit_card", 30),
    ("master", "credit_card", 22),
    ("naranja", "credit_card", 8),
    ("amex", "credit_card", 4),
    ("debvisa", "debit_card", 12),
    ("debmaster", "debit_card", 6),
    ("account_money", "account_money", 12),
    ("rapipago", "ticket", 3),
    ("pagofacil", "ticket", 3),
)
STATUS_DETAIL: dict[str, str] = {
    "approved": "accredited",
    "authorized": "pending_capture",
    "pending": "pending_waiting_payment",
    "in_process": "pending_review_manual",
    "in_mediation": "in_process",
    "rejected": "cc_rejected_insufficient_amount",
    "cancelled": "expired",
    "refunded": "refunded",
    "charged_back": "settled",
}


def mp_time(moment: float) -> str:
    """Return a wall-clock time as MercadoPago writes it: ``2024-01-10T10:00:00.000-04:00``."""
    stamp = datetime.fromtimestamp(moment, UTC).astimezone(_MP_TZ)
    return stamp.isoformat(timespec="milliseconds")


def invent_payment(number: int, *, seed: int, now: float) -> dict[str, Any]:
    """Return the payment of ``number`` as MercadoPago shows it (the same number, the same one)."""
    rng = random.Random(number * 7919 + seed)
    method, kind, _ = rng.choices(METHODS, weights=[w for *_, w in METHODS])[0]
    amount = rng.randrange(3_000_00, 45_000_00, 50) / 100
    installments = rng.choice((1, 1, 1, 3, 3, 6, 12)) if kind == "credit_card" else 1
    fees: list[dict[str, Any]] = [
        {
            "type": "mercadopago_fee",
            "amount": round(amount * 0.0629, 2),
            "fee_payer": "collector",
        }
    ]
    if rng.random() < 0.75:
        fees.append(
            {
                "type": "application_fee",
                "amount": round(amount * 0.10, 2),
                "fee_payer": "collector",
            }
        )
    payer_id = str(100_000_000 + rng.randrange(900_000_000))
    created = mp_time(now - 1)
    return {
        "id": number,
        "date_created": created,
        "date_approved": mp_time(now),
        "date_last_updated": mp_time(now),
        "money_release_date": mp_time(now + 14 * 86_400),
        "operation_type": "regular_payment",
        "issuer_id": str(rng.randrange(1, 1000)),
        "payment_method_id": method,
        "payment_type_id": kind,
        "status": "approved",
        "status_detail": "accredited",
        "currency_id": "ARS",
        "description": "Corte de pelo y barba",
        "live_mode": False,
        "collector_id": 1_234_567_890,
        "payer": {
            "id": payer_id,
            "type": None,
            "email": f"test_user_{payer_id}@testuser.com",
            "identification": {"type": "DNI", "number": str(20_000_000 + number % 20_000_000)},
        },
        "metadata": {"provider_id": f"barber-{number % 50:03d}"},
        "external_reference": f"booking-{number}",
        "transaction_amount": amount,
        "transaction_amount_refunded": 0,
        "installments": installments,
        "transaction_details": {
            "net_received_amount": round(amount - sum(f["amount"] for f in fees), 2),
            "total_paid_amount": amount,
            "installment_amount": round(amount / installments, 2),
            "overpaid_amount": 0,
        },
        "fee_details": fees,
        "statement_descriptor": "BARBERPRO",
        "refunds": [],
        "captured": True,
    }


def make_chargeback(payment: dict[str, Any], *, chargeback_id: int, now: float) -> dict[str, Any]:
    """Return a chargeback on ``payment`` as ``GET /v1/chargebacks/{id}`` shows it."""
    stamp = mp_time(now)
    return {
        "id": str(chargeback_id),
        "payments": [payment["id"]],
        "currency": payment["currency_id"],
        "amount": payment["transaction_amount"],
        "coverage_applied": False,
        "coverage_eligible": True,
        "documentation_required": True,
        "documentation_status": "pending",
        "documentation": [],
        "date_documentation_deadline": mp_time(now + 10 * 86_400),
        "date_created": stamp,
        "date_last_updated": stamp,
        "live_mode": False,
    }
