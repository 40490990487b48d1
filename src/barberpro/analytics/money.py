"""Money out of the database: integer centavos in, ARS decimals out."""

from __future__ import annotations

from decimal import Decimal

BASE_CURRENCY = "ARS"


def ars(centavos: int | Decimal | None) -> float:
    """Return centavos as pesos with two decimals (JSON has no decimal type).

    PostgreSQL returns SUM over bigint as numeric, hence the Decimal.
    """
    return round(int(centavos or 0) / 100, 2)
