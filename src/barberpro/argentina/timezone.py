"""Argentina time (ART) and the time base of stored data: epoch microseconds and their buckets.

Every stored time is an integer count of microseconds since the Unix epoch, UTC
(:func:`to_micros`, :func:`from_micros`). Rollups bucket those counts by UTC hour, ART day and
ART week, always by floor division: an instant before 1970 lies in the (negative) bucket that
holds it, never in bucket 0. SQL that buckets (reads through ``barberpro.db.dialect.bucket``,
the triggers of migration 0013) floors the same way.

Two views of ART, and why they agree:

- People's days and datetimes (:func:`to_art`, :func:`art_day_bounds`,
  :func:`parse_art_datetime`) use the IANA zone :data:`ART`, which knows Argentina's history.
- Buckets use the fixed offset UTC-3 (:data:`ART_OFFSET_US`): an ART day starts at 03:00 UTC
  and every UTC hour bucket is also an ART hour bucket, so buckets are plain integer
  arithmetic, the same in Python, SQLite and PostgreSQL.

Argentina has kept UTC-3 all year, without daylight saving time, since 15 March 2009: from then
on the zone and the fixed offset give the same days and hours (tests/argentina/test_timezone.py
checks every day). Before that the zone was at times on another offset (UTC-2 in some summers,
the last from October 2008 to March 2009; UTC-4 in the 1960s). A report range of such days does
not fall on fixed-offset day bounds, so its edges are read from the raw rows and its figures
stay exact; only what is defined by buckets (ART hours of day, a provider's active days,
retention weeks) counts those instants at UTC-3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ART = ZoneInfo("America/Argentina/Buenos_Aires")

SECOND_US = 1_000_000
HOUR_US = 3_600 * SECOND_US
DAY_US = 24 * HOUR_US
ART_OFFSET_US = 3 * HOUR_US  # ART is UTC-3: its day starts 3 hours after the UTC day
#: Buckets as (width, offset): bucket n covers [offset + n * width, offset + (n + 1) * width).
HOURS = (HOUR_US, 0)
ART_DAYS = (DAY_US, ART_OFFSET_US)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = _EPOCH.date()


def to_micros(moment: datetime) -> int:
    """Return ``moment`` as integer microseconds since the epoch (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND_US + delta.microseconds


def seconds_to_micros(seconds: float) -> int:
    """Return epoch seconds (a clock reading) as stored micros, rounded to the microsecond."""
    return round(seconds * SECOND_US)


def micros_to_seconds(micros: int) -> float:
    """Return stored micros as epoch seconds."""
    return micros / SECOND_US


def from_micros(micros: int) -> datetime:
    """Return the aware UTC datetime of ``micros`` since the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def hour_of(micros: int) -> int:
    """Return the UTC hour number (hours since the epoch, floored) of ``micros``."""
    return micros // HOUR_US


def art_day(micros: int) -> int:
    """Return the ART day number (days since 1970-01-01 in ART, floored) of ``micros``."""
    return (micros - ART_OFFSET_US) // DAY_US


def art_week(micros: int) -> int:
    """Return the ART week number (weeks start on Monday; week 0 holds 1970-01-01)."""
    # 1970-01-01 was a Thursday: day 4 (1970-01-05) is the first Monday, so it opens week 1.
    return (art_day(micros) + 3) // 7


def art_hour_of_day(hour: int) -> int:
    """Return the ART hour of day (0-23) of a UTC hour number."""
    return (hour - ART_OFFSET_US // HOUR_US) % 24


def day_start_us(day: int) -> int:
    """Return the UTC micros at which ART day ``day`` begins."""
    return day * DAY_US + ART_OFFSET_US


def week_start(week: int) -> date:
    """Return the Monday that opens ART week ``week``."""
    return _EPOCH_DAY + timedelta(days=week * 7 - 3)


def day_date(day: int) -> date:
    """Return the calendar date of ART day number ``day``."""
    return _EPOCH_DAY + timedelta(days=day)


def iso_utc(seconds: float | None) -> str | None:
    """Return epoch seconds as ISO 8601 in UTC with a ``Z`` (milliseconds), None for None.

    How every instant reads in an answer: ``2026-12-03T20:10:15.123Z``, never an epoch float.
    """
    if seconds is None:
        return None
    text = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def to_art(dt: datetime) -> datetime:
    """Return `dt` as an aware ART datetime; a naive `dt` is taken to be UTC (as stored)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(ART)


def art_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the UTC-aware half-open range [start, end) covering the ART calendar day `day`."""
    # Each bound is its own local midnight rather than start + 24 h: Argentina kept DST in some
    # past years, so a historical day can be 23 or 25 hours long.
    start = datetime.combine(day, time(), tzinfo=ART)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=ART)
    return start.astimezone(UTC), end.astimezone(UTC)


def parse_art_datetime(value: str) -> datetime:
    """Parse an ISO 8601 datetime, reading it as ART when it has no offset; return it in UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"invalid datetime {value!r}: use ISO 8601, e.g. 2024-03-01T09:30:00-03:00"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=ART)
    return parsed.astimezone(UTC)
