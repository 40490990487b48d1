"""The reading rules the ground truth shares: provinces as typed, rates, money, instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from barberpro.simulator import census

UNKNOWN = "unknown"
CHANNELS = ("whatsapp", "instagram", "facebook", "google", "direct", "other")
ART = timedelta(hours=-3)  # Argentina's offset all year
_TYPED = {text: p.code for p in census.PROVINCES for text in p.typed}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def province_of(text: object) -> str | None:
    """The province a text the simulator typed means; None for no text or an unreadable one."""
    return _TYPED.get(text) if isinstance(text, str) else None


def rate(num: float, den: float) -> float | None:
    """A rate to 4 decimals; None without a denominator."""
    return None if den == 0 else round(num / den, 4)


def ars(cents: int) -> float:
    """Centavos as pesos with two decimals."""
    return round(cents / 100, 2)


def cents(amount: object) -> int:
    """An amount as sent ("1234.5") in centavos."""
    return int(Decimal(str(amount)) * 100)


def micros(at: datetime) -> int:
    """An instant in epoch microseconds, as the service keeps it."""
    return (at - _EPOCH) // _US
