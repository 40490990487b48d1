"""A range splits exactly into whole buckets (read from rollups) and edges (read raw)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from barberpro.analytics.range import Range, whole_days
from barberpro.argentina.timezone import ART_OFFSET_US, DAY_US, HOUR_US, art_day, day_start_us

_INSTANTS = st.integers(1_600_000_000_000_000, 1_900_000_000_000_000)


@given(
    bounds=st.tuples(_INSTANTS, _INSTANTS).filter(lambda b: b[0] < b[1]),
    bucket=st.sampled_from([(HOUR_US, 0), (DAY_US, ART_OFFSET_US), (7, 3)]),
)
def test_whole_buckets_and_edges_cover_the_range_once(
    bounds: tuple[int, int], bucket: tuple[int, int]
) -> None:
    """Whole buckets lie inside the range; with the edges they tile it with no gap or overlap."""
    span, (width, offset) = Range(*bounds), bucket
    lo, hi = span.whole(width, offset)
    parts = list(span.outside(width, offset))
    if lo < hi:
        parts.append((offset + lo * width, offset + hi * width))
        assert span.start_us <= offset + lo * width
        assert offset + hi * width <= span.end_us
    parts.sort()
    assert parts[0][0] == span.start_us
    assert parts[-1][1] == span.end_us
    assert all(a < b for a, b in parts)
    assert all(parts[i][1] == parts[i + 1][0] for i in range(len(parts) - 1))
    # An edge is shorter than a bucket: it is never a whole bucket that was missed.
    assert all(b - a < width or lo >= hi for a, b in span.outside(width, offset))


@given(first=st.integers(18_000, 22_000), days=st.integers(1, 40), shift=st.integers(-2, 2))
def test_whole_days_are_recognised_only_on_art_midnights(first: int, days: int, shift: int) -> None:
    """Whole ART days give their day numbers; any other bound gives None."""
    start, end = day_start_us(first), day_start_us(first + days)
    assert whole_days(Range(start, end)) == (first, first + days - 1)
    assert art_day(start) == first
    if shift:
        assert whole_days(Range(start + shift, end)) is None
        assert whole_days(Range(start, end + shift * HOUR_US)) is None
