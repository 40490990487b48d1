"""The fixed-bucket histogram: exact merges, percentiles inside the right bucket."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat, bucket_bounds, merged

values = st.lists(
    st.floats(min_value=0, max_value=20_000, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=200,
)
quantiles = st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0])


def _stat(xs: list[float]) -> Stat:
    stat = Stat(LATENCY_EDGES_MS)
    for x in xs:
        stat.record(x)
    return stat


def _true_quantile(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@given(values, values)
def test_merge_equals_recording_everything_in_one(a: list[float], b: list[float]) -> None:
    """Merging two histograms gives exactly the histogram of all their values."""
    left, right, both = _stat(a), _stat(b), _stat(a + b)
    left.merge(right)
    assert left.buckets == both.buckets
    assert left.count == both.count
    assert left.min == both.min
    assert left.max == both.max
    assert left.total == pytest.approx(both.total)


@given(values, quantiles)
def test_quantile_lies_in_the_bucket_of_the_true_quantile(xs: list[float], q: float) -> None:
    """The estimate is within the true quantile's bucket and within [min, max] of the data."""
    estimate = _stat(xs).quantile(q)
    assert estimate is not None
    lower, upper = bucket_bounds(LATENCY_EDGES_MS, _true_quantile(xs, q))
    assert lower - 1e-9 <= estimate <= upper + 1e-9
    assert min(xs) - 1e-9 <= estimate <= max(xs) + 1e-9


@given(values)
def test_quantiles_do_not_decrease(xs: list[float]) -> None:
    """p50 <= p95 <= p99 for any data."""
    stat = _stat(xs)
    p50, p95, p99 = stat.quantile(0.5), stat.quantile(0.95), stat.quantile(0.99)
    assert p50 is not None
    assert p95 is not None
    assert p99 is not None
    assert p50 <= p95 + 1e-9 <= p99 + 2e-9


@given(st.lists(values, min_size=1, max_size=5))
def test_round_trip_through_json_form(parts: list[list[float]]) -> None:
    """A Stat survives to_list/from_list, and merging restored parts is exact."""
    restored = [Stat.from_list(LATENCY_EDGES_MS, _stat(p).to_list()) for p in parts]
    total = merged(restored, LATENCY_EDGES_MS)
    assert total.buckets == _stat([x for p in parts for x in p]).buckets


def test_empty_histogram_has_no_percentile() -> None:
    """No observations: no percentile, not zero."""
    assert Stat(LATENCY_EDGES_MS).quantile(0.95) is None


def test_values_above_every_edge_report_the_largest_seen() -> None:
    """The overflow bucket is bounded by the largest observed value, not infinity."""
    stat = _stat([30_000.0, 40_000.0])
    assert stat.quantile(0.99) == pytest.approx(40_000.0, rel=0.01)


def test_merging_different_edges_is_refused() -> None:
    """Histograms with other edges cannot be added bucket by bucket."""
    with pytest.raises(ValueError, match="different edges"):
        Stat(LATENCY_EDGES_MS).merge(Stat((1.0, 2.0)))
