"""ART conversions (naive means UTC when stored, ART when typed by a person) and the time base:
epoch microseconds and their hour, day and week buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.argentina import ART, art_day_bounds, parse_art_datetime, to_art
from barberpro.argentina.timezone import (
    HOUR_US,
    art_day,
    art_hour_of_day,
    art_week,
    day_date,
    day_start_us,
    from_micros,
    hour_of,
    to_micros,
    week_start,
)

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


def test_fixed_offset_buckets_agree_with_the_zone_since_2009() -> None:
    """From 15 March 2009 (Argentina's last change of offset) the fixed UTC-3 day buckets are
    the zone's calendar days, every day up to 2060."""
    day, last = date(2009, 3, 16), date(2060, 1, 1)
    while day < last:
        start, end = art_day_bounds(day)
        number = art_day(to_micros(start))
        assert (day_start_us(number), day_start_us(number + 1)) == (
            to_micros(start),
            to_micros(end),
        )
        assert day_date(number) == day
        day += timedelta(days=1)


def test_the_fixed_offset_differs_from_the_zone_in_the_last_dst_summer() -> None:
    """On 1 January 2009 Buenos Aires was at UTC-2: its midnight is not a day bucket's start."""
    start, _ = art_day_bounds(date(2009, 1, 1))
    assert to_micros(start) == day_start_us(art_day(to_micros(start)) + 1) - HOUR_US


_MICROS = st.integers(to_micros(datetime(2, 1, 1)), to_micros(datetime(9998, 12, 31)))


@given(_MICROS)
def test_micros_round_trip_and_buckets_floor(micros: int) -> None:
    """to_micros inverts from_micros; each bucket holds its instant, before 1970 too."""
    assert to_micros(from_micros(micros)) == micros
    hour = hour_of(micros)
    assert hour * HOUR_US <= micros < (hour + 1) * HOUR_US
    day = art_day(micros)
    assert day_start_us(day) <= micros < day_start_us(day + 1)
    monday = week_start(art_week(micros))
    assert monday.weekday() == 0
    assert monday <= day_date(day) < monday + timedelta(days=7)


@given(st.integers(to_micros(datetime(2009, 3, 16)), to_micros(datetime(2099, 12, 31))))
def test_art_hours_of_day_are_the_zones_since_2009(micros: int) -> None:
    """Since 2009 the ART hour of day of an hour bucket is the hour on Buenos Aires clocks."""
    assert art_hour_of_day(hour_of(micros)) == to_art(from_micros(micros)).hour


def test_an_instant_before_1970_is_in_the_buckets_before_zero() -> None:
    """23:30 UTC on 31 December 1969 is UTC hour -1, ART day -1 (20:30 ART), ART week 0."""
    micros = to_micros(datetime(1969, 12, 31, 23, 30, tzinfo=UTC))
    assert micros < 0
    assert (hour_of(micros), art_day(micros), art_week(micros)) == (-1, -1, 0)
    assert art_hour_of_day(hour_of(micros)) == 20
    assert day_date(-1) == date(1969, 12, 31)
    assert week_start(0) == date(1969, 12, 29)
