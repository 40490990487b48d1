"""Argentine identity numbers: DNI (national id) and CUIT/CUIL (tax and labour ids).

Every message here says what is wrong without repeating the number: it identifies a person,
and these errors end up in answers and logs. Only a CUIT's two-digit type prefix is named.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

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

Kind = Literal["person", "company"]
IdType = Literal["DNI", "CUIT", "CUIL"]

# stdnum strips only " ." from a DNI and only " -" from a CUIT; people write both with any of
# these. clean() also maps Unicode dashes and spaces to ASCII before they are removed.
_SEPARATORS = " .-"

_CUIT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

#: A CUIT's type prefix: a person's (a CUIL is one of these) or a company's. AFIP moves a
#: person's number from 20 or 27 to 23, 24, 25 or 26 when the check digit would be 10.
PERSON_PREFIXES = frozenset({"20", "23", "24", "25", "26", "27"})
COMPANY_PREFIXES = frozenset({"30", "33", "34"})
# stdnum lists 25 and 26 nowhere; it also knows 50, 51 and 55 (international use): valid
# CUITs of neither kind.
_PREFIXES_STDNUM_LACKS = PERSON_PREFIXES - {"20", "23", "24", "27"}
_PERSONS = ", ".join(sorted(PERSON_PREFIXES))


def _compact(value: str) -> str:
    """Return `value` without separators or surrounding whitespace."""
    return clean(value, _SEPARATORS).strip()


def normalize_dni(value: str) -> str:
    """Return the 7 or 8 digits of a DNI; raise ValueError saying what is wrong."""
    number = _compact(value)
    try:
        return str(_dni.validate(number))
    except InvalidLength:  # before InvalidFormat, its base class
        raise ValueError(f"a DNI has 7 or 8 digits, got {len(number)}") from None
    except InvalidFormat:
        if not number:
            raise ValueError("a DNI has 7 or 8 digits, got none") from None
        raise ValueError("a DNI may contain only digits, dots, dashes and spaces") from None
    except ValidationError as exc:  # a future stdnum error kind: still a ValueError with a reason
        raise ValueError(f"invalid DNI: {exc}") from None


def is_valid_dni(value: str) -> bool:
    """Return True when `value` is a DNI: 7 or 8 digits, optionally with dots, dashes or spaces."""
    return _dni.is_valid(_compact(value))


def format_dni(number: str) -> str:
    """Return a DNI's digits as people write them: 12.345.678 (1.234.567 for seven)."""
    return str(_dni.format(number))


def _check_value(body: str) -> int:
    """Return 11 - (weighted sum mod 11) for the first 10 digits: 11 means 0, 10 means no digit."""
    return 11 - sum(w * int(d) for w, d in zip(_CUIT_WEIGHTS, body, strict=True)) % 11


def normalize_cuit(value: str) -> str:
    """Return the 11 digits of a valid CUIT/CUIL; raise ValueError saying what is wrong."""
    number = _compact(value)
    try:
        _cuit.validate(number)
    except InvalidLength:  # before InvalidFormat, its base class
        raise ValueError(f"a CUIT has 11 digits, got {len(number)} characters") from None
    except InvalidFormat:
        raise ValueError("a CUIT may contain only digits, dots, dashes and spaces") from None
    except InvalidComponent:
        if number[:2] not in _PREFIXES_STDNUM_LACKS:
            raise ValueError(f"{number[:2]} is not a CUIT/CUIL type prefix") from None
        if _cuit.calc_check_digit(number[:10]) != number[10]:
            raise ValueError("the CUIT check digit does not match") from None
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


def normalize_cuil(value: str) -> str:
    """Return the 11 digits of a valid CUIL: a CUIT with a person's prefix; else ValueError."""
    number = normalize_cuit(value)
    prefix = number[:2]
    if prefix in COMPANY_PREFIXES:
        raise ValueError(f"{prefix} is a company's CUIT prefix: a CUIL is a person's ({_PERSONS})")
    if prefix not in PERSON_PREFIXES:
        raise ValueError(f"{prefix} is not a person's prefix: a CUIL starts with {_PERSONS}")
    return number


def cuit_kind(number: str) -> Kind | None:
    """Return whom a normalized CUIT's prefix names: a person, a company, or neither (50-55)."""
    prefix = number[:2]
    if prefix in PERSON_PREFIXES:
        return "person"
    return "company" if prefix in COMPANY_PREFIXES else None


def format_cuit(number: str) -> str:
    """Return a normalized CUIT/CUIL as people write it: 20-12345678-6."""
    return str(_cuit.format(number))


def cuit_hash(number: str, key: bytes) -> str:
    """Return the HMAC-SHA256 (hex) of a normalized CUIT's 11 digits: what is stored of it.

    Keyed, because the numbers are few enough (a DNI and a check digit) to be recovered from a
    plain hash by trying them all; without the key nobody can tell which number a hash is.
    """
    return hmac.new(key, number.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Checked:
    """What :func:`check` found: valid or why not, and the number's digits and written form."""

    type: IdType
    valid: bool
    # Left out of repr: a Checked that reaches a log line must not carry the number there.
    normalized: str | None = field(default=None, repr=False)
    formatted: str | None = field(default=None, repr=False)
    kind: Kind | None = None
    reason: str | None = None


def check(id_type: IdType, value: str) -> Checked:
    """Validate `value` as a DNI, CUIT or CUIL; a DNI is a person's, a CUIT's prefix says whose."""
    try:
        if id_type == "DNI":
            number = normalize_dni(value)
            return Checked(id_type, True, number, format_dni(number), "person")
        number = normalize_cuil(value) if id_type == "CUIL" else normalize_cuit(value)
    except ValueError as exc:
        return Checked(id_type, False, reason=str(exc))
    return Checked(id_type, True, number, format_cuit(number), cuit_kind(number))
