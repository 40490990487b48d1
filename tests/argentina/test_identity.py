"""DNI and CUIT/CUIL validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.argentina import is_valid_cuit, is_valid_dni, normalize_cuit

PERSON_AND_COMPANY_PREFIXES = ("20", "23", "24", "27", "30", "33", "34")
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
