"""How numbers read in every answer: rates to 4 decimals, money to the centavo.

``0.7466666666666667`` says nothing a person can use that ``0.7467`` does not, and a figure
compared across two answers must not differ in its 16th digit.
"""

from __future__ import annotations

#: Decimals of every rate and share in an answer (0.7467 is 74.67 %).
RATE_DECIMALS = 4


def rate(part: float, whole: float) -> float | None:
    """Return ``part / whole`` to RATE_DECIMALS decimals; None when ``whole`` is 0."""
    return None if not whole else round(part / whole, RATE_DECIMALS)


def rounded_rate(value: float | None) -> float | None:
    """Return a computed rate to RATE_DECIMALS decimals (None stays None)."""
    return None if value is None else round(value, RATE_DECIMALS)
