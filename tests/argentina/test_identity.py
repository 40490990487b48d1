"""DNI and CUIT/CUIL validation, normalisation, kind and keyed hash."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.argentina import identity, is_valid_cuit, is_valid_dni, normalize_cuit

PERSON_PREFIXES = ("20", "23", "24", "25", "26", "27")
COMPANY_PREFIXES = ("30", "33", "34")
PERSON_AND_COMPANY_PREFIXES = (*PERSON_PREFIXES, *COMPANY_PREFIXES)
# stdnum also accepts the prefixes AFIP gives foreign persons and entities.
ALL_PREFIXES = (*PERSON_AND_COMPANY_PREFIXES, "50", "51", "55")

digits = st.text(alphabet="0123456789", min_size=1, max_size=14)


def expected_check_digit(body: str) -> int | None:
    """Return the check digit for the first 10 digits, or None when the rule gives 10."""
    weights = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    total = sum(weight * int(digit) for weight, digit in zip(weights, body, strict=True))
    value = 11 - total % 11
    if value == 11:
        return 0
    if value == 10:
        return None
    return value


cuit_bodies = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(PERSON_AND_COMPANY_PREFIXES),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


@pytest.mark.parametrize(
    "value", ["20-05536168-2", "20267565393", "20 26756539 3", "33.69345023.9"]
)
def test_known_valid_cuits(value: str) -> None:
    """Published CUITs validate with dashes, dots, spaces or no separators."""
    assert is_valid_cuit(value)


@given(cuit_bodies)
def test_check_digit_agrees_with_the_mod_11_rule(body: str) -> None:
    """For every digit, is_valid_cuit(body + digit) holds exactly when the mod-11 rule gives it."""
    expected = expected_check_digit(body)
    for digit in range(10):
        assert is_valid_cuit(f"{body}{digit}") == (digit == expected)


@given(cuit_bodies)
def test_valid_cuit_normalises_to_digits(body: str) -> None:
    """normalize_cuit returns the bare 11 digits of a formatted valid CUIT."""
    expected = expected_check_digit(body)
    if expected is None:
        with pytest.raises(ValueError, match="check digit"):
            normalize_cuit(body + "9")
        return
    number = f"{body}{expected}"
    assert normalize_cuit(f"{number[:2]}-{number[2:10]}-{number[10]}") == number
    assert normalize_cuit(f" {number[:2]}.{number[2:10]}.{number[10]} ") == number


@given(
    prefix=st.text(alphabet="0123456789", min_size=2, max_size=2).filter(
        lambda p: p not in ALL_PREFIXES
    ),
    rest=st.text(alphabet="0123456789", min_size=8, max_size=8),
)
def test_unknown_prefix_is_invalid(prefix: str, rest: str) -> None:
    """A CUIT whose type prefix is not an AFIP one is invalid even with a matching check digit."""
    body = prefix + rest
    check = expected_check_digit(body)
    number = f"{body}{9 if check is None else check}"
    assert not is_valid_cuit(number)
    with pytest.raises(ValueError, match="prefix"):
        normalize_cuit(number)


@given(digits.filter(lambda d: len(d) != 11))
def test_cuit_length(value: str) -> None:
    """Only 11 digits can be a CUIT."""
    assert not is_valid_cuit(value)
    with pytest.raises(ValueError, match="11 digits"):
        normalize_cuit(value)


@pytest.mark.parametrize("value", ["", "20-2675653X-3", "abcdefghijk", "20/26756539/3"])
def test_cuit_bad_format(value: str) -> None:
    """Letters, other separators and empty values are rejected with a ValueError."""
    assert not is_valid_cuit(value)
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the fault
        normalize_cuit(value)


def test_cuit_error_does_not_echo_the_number() -> None:
    """The error says why but never repeats the number, which identifies a person."""
    with pytest.raises(ValueError, match="check digit") as caught:
        normalize_cuit("20267565392")
    assert "26756539" not in str(caught.value)


@given(st.text())
def test_cuit_never_raises_on_arbitrary_text(value: str) -> None:
    """is_valid_cuit answers False for garbage instead of raising."""
    assert isinstance(is_valid_cuit(value), bool)


@given(st.text(alphabet="0123456789", min_size=7, max_size=8))
def test_dni_seven_or_eight_digits(value: str) -> None:
    """A DNI is 7 or 8 digits."""
    assert is_valid_dni(value)


@given(digits.filter(lambda d: len(d) not in (7, 8)))
def test_dni_other_lengths(value: str) -> None:
    """Any other number of digits is not a DNI."""
    assert not is_valid_dni(value)


@pytest.mark.parametrize("value", ["20.123.456", "20-123-456", "20 123 456", " 5.123.456 "])
def test_dni_separators(value: str) -> None:
    """Dots, dashes and spaces between the digits are allowed."""
    assert is_valid_dni(value)


@pytest.mark.parametrize("value", ["", "20.123.45a", "M20123456", "20/123/456"])
def test_dni_rejects_non_digits(value: str) -> None:
    """Letters, other separators and empty values are not a DNI."""
    assert not is_valid_dni(value)


# -- kinds, CUIL, DNI normalisation, the answer of check() and the keyed hash -------------------


def cuit_with(prefix: str, dni: str) -> str:
    """Return a valid CUIT of ``prefix``: ``dni``, or the next number whose digit is not 10."""
    number = int(dni)
    while (digit := expected_check_digit(f"{prefix}{number:08d}")) is None:
        number += 1
    return f"{prefix}{number:08d}{digit}"


@given(
    prefix=st.sampled_from(ALL_PREFIXES), dni=st.text(alphabet="0123456789", min_size=8, max_size=8)
)
def test_kind_follows_the_type_prefix(prefix: str, dni: str) -> None:
    """20, 23-27 are persons, 30, 33, 34 companies, 50, 51, 55 neither; with or without dashes."""
    body = prefix + dni
    digit = expected_check_digit(body)
    if digit is None:
        return
    number = f"{body}{digit}"
    expected = (
        "person" if prefix in PERSON_PREFIXES else "company" if prefix in COMPANY_PREFIXES else None
    )
    for written in (number, f"{number[:2]}-{number[2:10]}-{number[10]}"):
        found = identity.check("CUIT", written)
        assert found == identity.Checked(
            "CUIT", True, number, identity.format_cuit(number), expected
        )
        assert found.formatted == f"{number[:2]}-{number[2:10]}-{number[10]}"


@pytest.mark.parametrize("prefix", ["25", "26"])
def test_prefixes_25_and_26_are_persons_stdnum_does_not_list(prefix: str) -> None:
    """AFIP's other person prefixes validate by the same check digit (stdnum refuses them)."""
    number = cuit_with(prefix, "12345678")
    assert normalize_cuit(number) == number
    assert identity.normalize_cuil(number) == number
    assert identity.cuit_kind(number) == "person"
    wrong = number[:10] + str((int(number[10]) + 1) % 10)
    with pytest.raises(ValueError, match="check digit"):
        normalize_cuit(wrong)


@pytest.mark.parametrize("prefix", COMPANY_PREFIXES)
def test_a_cuil_with_a_company_prefix_is_invalid(prefix: str) -> None:
    """A CUIL is a person's CUIT: a company prefix is named as the reason, the number never."""
    number = cuit_with(prefix, "71234568")
    assert identity.check("CUIT", number).kind == "company"
    found = identity.check("CUIL", number)
    assert (found.valid, found.normalized, found.formatted, found.kind) == (False, None, None, None)
    assert found.reason is not None
    assert "company" in found.reason
    assert number[2:] not in found.reason


def test_a_cuil_with_an_international_prefix_is_invalid() -> None:
    """50, 51 and 55 are CUITs of no person: not a CUIL either."""
    number = cuit_with("55", "00000019")
    assert identity.check("CUIT", number).valid
    with pytest.raises(ValueError, match="not a person's prefix"):
        identity.normalize_cuil(number)


def test_a_valid_cuil_is_a_person() -> None:
    """A person's CUIL, written with dashes, dots or spaces, answers its digits and form."""
    for written in ("20-12345678-6", "20.12345678.6", "20 12345678 6", "20123456786"):
        found = identity.check("CUIL", written)
        assert found == identity.Checked("CUIL", True, "20123456786", "20-12345678-6", "person")


@pytest.mark.parametrize(
    ("written", "digits", "formatted"),
    [
        ("12.345.678", "12345678", "12.345.678"),
        ("12345678", "12345678", "12.345.678"),
        ("12-345-678", "12345678", "12.345.678"),
        (" 1 234 567 ", "1234567", "1.234.567"),
    ],
)
def test_dni_normalises_and_formats(written: str, digits: str, formatted: str) -> None:
    """A DNI's digits and its dotted form, from any of the separators people use."""
    assert identity.normalize_dni(written) == digits
    assert identity.check("DNI", written) == identity.Checked(
        "DNI", True, digits, formatted, "person"
    )


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("123456", "7 or 8 digits, got 6"),
        ("123.456.789", "7 or 8 digits, got 9"),
        ("12.345.67a", "only digits"),
        ("", "7 or 8 digits, got none"),
    ],
)
def test_an_invalid_dni_says_why(written: str, reason: str) -> None:
    """Length and characters are named; the number is not repeated."""
    with pytest.raises(ValueError, match=reason):
        identity.normalize_dni(written)
    found = identity.check("DNI", written)
    assert (found.valid, found.normalized, found.kind) == (False, None, None)
    assert found.reason is not None
    assert reason in found.reason


def test_checked_keeps_the_number_out_of_its_repr() -> None:
    """A Checked that reaches a log line carries no digits of the number."""
    text = repr(identity.check("CUIT", "20-12345678-6"))
    assert "12345678" not in text
    assert "valid=True" in text


def test_cuit_hash_is_hmac_sha256_of_the_digits() -> None:
    """The stored form is the keyed hash of the 11 digits, hex; another key, another hash."""
    number = "20123456786"
    expected = hmac.new(b"key-1", number.encode(), hashlib.sha256).hexdigest()
    assert identity.cuit_hash(number, b"key-1") == expected
    assert len(expected) == 64
    assert identity.cuit_hash(number, b"key-2") != expected
    assert number not in expected
