"""Money: integer centavos in the database, ARS decimals out, and the commission basis."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

BASE_CURRENCY = "ARS"


def ars(centavos: int | Decimal | None) -> float:
    """Return centavos as pesos with two decimals (JSON has no decimal type).

    PostgreSQL returns SUM over bigint as numeric, hence the Decimal.
    """
    return round(int(centavos or 0) / 100, 2)


def commission_cents(amount_cents: int, explicit: int | None, rate: Decimal) -> int:
    """Return a payment's commission: the event's own, else the amount times the rate, rounded
    half up to the centavo."""
    if explicit is not None:
        return explicit
    return int((Decimal(amount_cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
