"""Money out of the database: integer centavos in, ARS decimals out."""

from __future__ import annotations

BASE_CURRENCY = "ARS"


def ars(centavos: int | None) -> float:
    """Return centavos as pesos with two decimals (JSON has no decimal type)."""
    return round((centavos or 0) / 100, 2)
