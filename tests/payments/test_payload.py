"""A MercadoPago payment as a revenue event: every field, the commission and the event id."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from barberpro.payments.mercadopago import payload
from barberpro.payments.mercadopago.sandbox import Sandbox


def _payment(**changes: Any) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "id": 1234567890,
        "status": "approved",
        "status_detail": "accredited",
        "currency_id": "ARS",
        "transaction_amount": 15000.5,
        "installments": 6,
        "payment_method_id": "naranja",
        "payment_type_id": "credit_card",
        "fee_details": [
            {"type": "mercadopago_fee", "amount": 943.53, "fee_payer": "collector"},
            {"type": "application_fee", "amount": 1500.05, "fee_payer": "collector"},
        ],
        "external_reference": "booking-77",
        "metadata": {
            "provider_id": "barber-9",
            "province": "Córdoba",
            "user_id": "client-42",
            "session_id": "sess-42",
        },
        "payer": {"id": "555", "email": "x@example.com"},
        "date_approved": "2026-11-27T10:00:00.000-04:00",
        "date_last_updated": "2026-11-27T10:00:01.000-04:00",
    }
    payment.update(changes)
    return payment


def test_every_field_is_taken_from_the_payment() -> None:
    """Amount, method, type, cuotas, commission, booking, provider, user, session and time."""
    event = payload.revenue(_payment())
    assert event.payment_id == "1234567890"
    assert event.amount == Decimal("15000.50")
    assert event.currency == "ARS"
    assert event.status == "approved"
    assert event.payment_method == "naranja"
    assert event.payment_type == "credit_card"
    assert event.installments == 6
    assert event.commission == Decimal("1500.05")
    assert event.booking_id == "booking-77"
    assert event.provider_id == "barber-9"
    assert event.user_id == "client-42"
    assert event.session_id == "sess-42"
    assert event.province == "AR-X"
    assert event.timestamp == datetime(2026, 11, 27, 14, 0, 1, tzinfo=UTC)


def test_the_user_comes_from_metadata_never_from_the_mercadopago_payer() -> None:
    """payer.id is a MercadoPago account: without metadata the payment has no user."""
    event = payload.revenue(_payment(metadata={}))
    assert (event.user_id, event.session_id, event.provider_id) == (None, None, None)
    assert event.booking_id == "booking-77"  # external_reference, when metadata has none


def test_the_booking_in_metadata_wins_over_external_reference() -> None:
    """metadata.booking_id is the checkout's own booking id."""
    event = payload.revenue(_payment(metadata={"booking_id": "booking-88"}))
    assert event.booking_id == "booking-88"


def test_without_an_application_fee_the_commission_is_left_to_the_rate() -> None:
    """Only the MercadoPago fee: commission None, so the analytics applies its rate."""
    fees = [{"type": "mercadopago_fee", "amount": 10, "fee_payer": "collector"}]
    assert payload.revenue(_payment(fee_details=fees)).commission is None
    assert payload.revenue(_payment(fee_details=[])).commission is None
    assert payload.revenue(_payment(fee_details=None)).commission is None


def test_the_event_id_names_the_payment_state() -> None:
    """Same payment, status and date_last_updated: same id; any of them changed: another id."""
    first = payload.revenue(_payment()).event_id
    assert payload.revenue(_payment(installments=6)).event_id == first
    assert payload.revenue(_payment(status="refunded")).event_id != first
    later = _payment(date_last_updated="2026-11-28T09:00:00.000-04:00")
    assert payload.revenue(later).event_id != first
    assert first == payload.event_id("1234567890", "approved", "2026-11-27T10:00:01.000-04:00")


def test_without_date_last_updated_the_approval_time_is_used() -> None:
    """timestamp = date_last_updated, else date_approved."""
    event = payload.revenue(_payment(date_last_updated=None))
    assert event.timestamp == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def test_a_chargeback_overrides_status_and_time() -> None:
    """status/at overrides give a charged_back event at the chargeback's time."""
    at = "2026-12-01T12:00:00.000-04:00"
    event = payload.revenue(_payment(), status="charged_back", at=at)
    assert event.status == "charged_back"
    assert event.timestamp == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert event.event_id == payload.event_id("1234567890", "charged_back", at)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"id": None}, "id"),
        ({"transaction_amount": "lots"}, "transaction_amount"),
        ({"payment_type_id": "barter"}, "payment_type"),
        ({"installments": 48}, "installments"),
    ],
)
def test_unusable_payments_say_why(changes: dict[str, Any], field: str) -> None:
    """A payment that cannot be a revenue event raises PayloadError naming the field."""
    with pytest.raises(payload.PayloadError, match=field):
        payload.revenue(_payment(**changes))


def test_every_stand_in_payment_is_a_valid_revenue_event() -> None:
    """The stand-in's invented payments (all methods of Argentina) all map cleanly."""
    sandbox = Sandbox(seed=3)
    methods = set()
    for number in range(1, 400):
        found = sandbox.payment(str(number))
        assert found is not None
        event = payload.revenue(found)
        methods.add(event.payment_method)
        assert event.amount == Decimal(str(found["transaction_amount"])).quantize(Decimal("0.01"))
    assert {"visa", "master", "naranja", "debvisa", "account_money", "rapipago"} <= methods


def test_chargeback_payment_ids() -> None:
    """A chargeback's payments are read as ids, numbers or objects alike."""
    assert payload.chargeback_payment_ids({"payments": [1, "2", {"id": 3}, None]}) == [
        "1",
        "2",
        "3",
    ]
    assert payload.chargeback_payment_ids({}) == []
