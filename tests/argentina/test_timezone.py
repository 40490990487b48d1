"""ART conversions: naive means UTC when stored, ART when typed by a person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.argentina import ART, art_day_bounds, parse_art_datetime, to_art

# Argentina has been UTC-3 all year since it dropped DST in 2009.
naive_since_2010 = st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2099, 12, 31))
offsets: st.SearchStrategy[tzinfo] = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
# Kept a day inside datetime's range so that shifting by a zone offset cannot overflow.
aware = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.just(UTC) | offsets,
)


def test_art_is_buenos_aires() -> None:
    """ART is the IANA zone America/Argentina/Buenos_Aires."""
    assert ART.key == "America/Argentina/Buenos_Aires"


def test_to_art_naive_is_utc() -> None:
    """A naive datetime is read as UTC: 12:00 UTC is 09:00 in Buenos Aires."""
    converted = to_art(datetime(2024, 5, 1, 12, 0))
    assert converted.tzinfo is ART
    assert converted.replace(tzinfo=None) == datetime(2024, 5, 1, 9, 0)


@given(aware)
def test_to_art_keeps_the_instant(moment: datetime) -> None:
    """An aware datetime comes back as the same instant, expressed in ART."""
    converted = to_art(moment)
    assert converted.tzinfo is ART
    assert converted == moment


@given(naive_since_2010)
def test_to_art_naive_is_three_hours_behind(moment: datetime) -> None:
    """Since 2010 a naive (UTC) datetime shows 3 hours earlier on ART clocks."""
    assert to_art(moment).replace(tzinfo=None) == moment - timedelta(hours=3)


def test_day_bounds_2024() -> None:
    """1 May 2024 in ART runs from 03:00 UTC that day to 03:00 UTC the next."""
    assert art_day_bounds(date(2024, 5, 1)) == (
        datetime(2024, 5, 1, 3, tzinfo=UTC),
        datetime(2024, 5, 2, 3, tzinfo=UTC),
    )


def test_day_bounds_dst_start_2008() -> None:
    """The day Buenos Aires moved clocks forward (19 Oct 2008) lasted 23 hours."""
    start, end = art_day_bounds(date(2008, 10, 19))
    assert end - start == timedelta(hours=23)


@given(st.dates(min_value=date(1900, 1, 2), max_value=date(2099, 12, 30)))
def test_day_bounds_cover_exactly_the_day(day: date) -> None:
    """[start, end) holds every instant whose ART date is `day`, and no other."""
    start, end = art_day_bounds(day)
    tick = timedelta(microseconds=1)
    assert start.tzinfo is UTC
    assert end.tzinfo is UTC
    assert to_art(start).date() == day
    assert to_art(end - tick).date() == day
    assert to_art(start - tick).date() == day - timedelta(days=1)
    assert to_art(end).date() == day + timedelta(days=1)
    assert art_day_bounds(day + timedelta(days=1))[0] == end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00", datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01 10:00:00", datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00-03:00", datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
        (" 2024-05-01T10:00 ", datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_parse_art_datetime(text: str, expected: datetime) -> None:
    """No offset means ART; an explicit offset or Z is honoured; the result is UTC."""
    parsed = parse_art_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@given(naive_since_2010)
def test_parse_naive_is_art(moment: datetime) -> None:
    """An offset-less ISO string is ART: the UTC result is 3 hours later."""
    assert parse_art_datetime(moment.isoformat()) == (moment + timedelta(hours=3)).replace(
        tzinfo=UTC
    )


@given(aware)
def test_parse_round_trips_aware(moment: datetime) -> None:
    """An ISO string with an offset parses back to the same instant."""
    assert parse_art_datetime(moment.isoformat()) == moment


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00", "01/05/2024 10:00"])
def test_parse_rejects_non_iso(text: str) -> None:
    """A value that is not ISO 8601 raises ValueError naming it."""
    with pytest.raises(ValueError, match="invalid datetime"):
        parse_art_datetime(text)
