"""Integer time buckets: UTC hours, ART days and ART weeks from epoch microseconds.

ART (America/Argentina/Buenos_Aires) is UTC-3 without daylight saving since 2009, so an ART
day starts at 03:00 UTC and every UTC hour bucket is also an ART hour bucket.
"""

from __future__ import annotations

from datetime import date, timedelta

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
ART_OFFSET_US = 3 * HOUR_US
_EPOCH_DAY = date(1970, 1, 1)


def hour_of(micros: int) -> int:
    """Return the UTC hour number (hours since the epoch) of ``micros``."""
    return micros // HOUR_US


def art_day(micros: int) -> int:
    """Return the ART day number (days since 1970-01-01 in ART) of ``micros``."""
    return (micros - ART_OFFSET_US) // DAY_US


def art_week(micros: int) -> int:
    """Return the ART week number (weeks start on Monday; week 0 holds 1970-01-01)."""
    # 1970-01-01 was a Thursday: day 4 (1970-01-05) is the first Monday, so it opens week 1.
    return (art_day(micros) + 3) // 7


def art_hour_of_day(hour: int) -> int:
    """Return the ART hour of day (0-23) of a UTC hour number."""
    return (hour - 3) % 24


def day_start_us(day: int) -> int:
    """Return the UTC micros at which ART day ``day`` begins."""
    return day * DAY_US + ART_OFFSET_US


def week_start(week: int) -> date:
    """Return the Monday that opens ART week ``week``."""
    return _EPOCH_DAY + timedelta(days=week * 7 - 3)


def day_date(day: int) -> date:
    """Return the calendar date of ART day number ``day``."""
    return _EPOCH_DAY + timedelta(days=day)
