"""Argentine identity numbers: DNI (national id) and CUIT/CUIL (tax and labour ids)."""

from __future__ import annotations

from stdnum.ar import cuit as _cuit
from stdnum.ar import dni as _dni
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.util import clean

# stdnum strips only " ." from a DNI and only " -" from a CUIT; people write both with any of
# these. clean() also maps Unicode dashes and spaces to ASCII before they are removed.
_SEPARATORS = " .-"

_CUIT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _compact(value: str) -> str:
    """Return `value` without separators or surrounding whitespace."""
    return clean(value, _SEPARATORS).strip()


def is_valid_dni(value: str) -> bool:
    """Return True when `value` is a DNI: 7 or 8 digits, optionally with dots, dashes or spaces."""
    return _dni.is_valid(_compact(value))


def _check_value(body: str) -> int:
    """Return 11 - (weighted sum mod 11) for the first 10 digits: 11 means 0, 10 means no digit."""
    return 11 - sum(w * int(d) for w, d in zip(_CUIT_WEIGHTS, body, strict=True)) % 11


def normalize_cuit(value: str) -> str:
    """Return the 11 digits of a valid CUIT/CUIL; raise ValueError saying what is wrong."""
    # Messages never echo the number: it identifies a person and these errors end up in logs.
    number = _compact(value)
    try:
        _cuit.validate(number)
    except InvalidLength:
        raise ValueError(f"a CUIT has 11 digits, got {len(number)} characters") from None
    except InvalidFormat:
        raise ValueError("a CUIT may contain only digits, dots, dashes and spaces") from None
    except InvalidComponent:
        raise ValueError(f"{number[:2]} is not a CUIT/CUIL type prefix") from None
    except InvalidChecksum:
        raise ValueError("the CUIT check digit does not match") from None
    except ValidationError as exc:  # a future stdnum error kind: still a ValueError with a reason
        raise ValueError(f"invalid CUIT: {exc}") from None
    # stdnum turns a check value of 10 into the digit 9, but AFIP never issues such a number: it
    # changes the type prefix (20 -> 23, 27 -> 23, 30 -> 33) so that the check value is not 10.
    if _check_value(number[:10]) == 10:
        raise ValueError("the CUIT check digit does not match (no digit is valid for this body)")
    return number


def is_valid_cuit(value: str) -> bool:
    """Return True when `value` is a CUIT or CUIL with a known type prefix and a correct digit."""
    try:
        normalize_cuit(value)
    except ValueError:
        return False
    return True
