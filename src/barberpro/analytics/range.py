"""The ``from``/``to`` range of a report: ART dates (whole days, both included) or datetimes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from barberpro.api.errors import ApiError
from barberpro.argentina.timezone import (
    ART,
    ART_OFFSET_US,
    DAY_US,
    HOURS,
    art_day,
    art_day_bounds,
    from_micros,
    parse_art_datetime,
    to_micros,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Range:
    """A half-open range [start_us, end_us) of UTC epoch microseconds."""

    start_us: int
    end_us: int

    def full_hours(self) -> tuple[int, int]:
        """Return the hour numbers [lo, hi) lying wholly inside the range (lo >= hi: none)."""
        return self.whole(*HOURS)

    def edges(self) -> list[tuple[int, int]]:
        """Return the parts of the range outside its whole hours, to be read from raw events."""
        return self.outside(*HOURS)

    def whole(self, width: int, offset: int = 0) -> tuple[int, int]:
        """Return the numbers [lo, hi) of the buckets wholly inside the range (lo >= hi: none).

        Bucket n covers [offset + n * width, offset + (n + 1) * width).
        """
        return -(-(self.start_us - offset) // width), (self.end_us - offset) // width

    def outside(self, width: int, offset: int = 0) -> list[tuple[int, int]]:
        """Return the parts of the range outside its whole buckets (see :meth:`whole`)."""
        lo, hi = self.whole(width, offset)
        if lo >= hi:
            return [(self.start_us, self.end_us)]
        found = []
        if self.start_us < offset + lo * width:
            found.append((self.start_us, offset + lo * width))
        if offset + hi * width < self.end_us:
            found.append((offset + hi * width, self.end_us))
        return found

    def describe(self) -> dict[str, str]:
        """Return the range as ISO datetimes in ART, for the report header."""
        return {
            "from": from_micros(self.start_us).astimezone(ART).isoformat(),
            "to": from_micros(self.end_us).astimezone(ART).isoformat(),
            "timezone": ART.key,
        }


def whole_days(span: Range) -> tuple[int, int] | None:
    """Return the ART day numbers (first, last) that ``span`` covers exactly, else None."""
    if (span.start_us - ART_OFFSET_US) % DAY_US or (span.end_us - ART_OFFSET_US) % DAY_US:
        return None
    return art_day(span.start_us), art_day(span.end_us) - 1


def _bound(value: str, *, field: str, end: bool) -> int:
    value = value.strip()
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise _bad(field, f"not a date: {exc}") from exc
        start, stop = art_day_bounds(day)
        return to_micros(stop if end else start)
    try:
        return to_micros(parse_art_datetime(value))
    except ValueError as exc:
        raise _bad(field, f"use an ISO date (YYYY-MM-DD) or datetime: {exc}") from exc


def _bad(field: str, reason: str) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        f"invalid fields: {field}",
        fields=[{"field": field, "reason": reason, "type": "invalid_range"}],
    )


def parse_range(start: str | None, end: str | None, *, now: datetime) -> Range:
    """Return the range of ``from``/``to``; each defaults to today in ART."""
    today = now.astimezone(ART).date().isoformat()
    lo = _bound(start or today, field="from", end=False)
    hi = _bound(end or today, field="to", end=True)
    if hi <= lo:
        raise _bad("to", "must be after from")
    if hi - lo > 5 * 365 * DAY_US:  # five years
        raise _bad("to", "the range is longer than five years")
    return Range(lo, hi)


def last_days(days: int, *, now: datetime) -> Range:
    """Return the range of the last ``days`` ART days, today included."""
    today = now.astimezone(ART).date()
    start, _ = art_day_bounds(today - timedelta(days=days - 1))
    _, stop = art_day_bounds(today)
    return Range(to_micros(start), to_micros(stop))
