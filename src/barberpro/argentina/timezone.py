"""Argentina time (ART): conversions between stored UTC instants and the days people see."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ART = ZoneInfo("America/Argentina/Buenos_Aires")


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
