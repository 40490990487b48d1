"""Fisher's exact test and the two-proportion z-test against published values and brute force."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.analytics import significance
from barberpro.analytics.significance import compare, fisher_exact, two_proportion_z

counts = st.integers(0, 40)


def brute_fisher(a: int, b: int, c: int, d: int) -> Fraction:
    """Return the exact probability of the tables with these margins as unlikely as this one."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def probability(x: int) -> Fraction:
        return Fraction(math.comb(row1, x) * math.comb(n - row1, col1 - x), math.comb(n, col1))

    support = [x for x in range(row1 + 1) if 0 <= col1 - x <= n - row1]
    observed = probability(a)
    return sum((probability(x) for x in support if probability(x) <= observed), Fraction(0))


def test_fisher_tea_tasting() -> None:
    """Fisher's lady tasting tea, [[3, 1], [1, 3]]: two-sided p = 34/70 = 0.4857."""
    assert fisher_exact(3, 1, 1, 3) == 34 / 70
    assert round(fisher_exact(3, 1, 1, 3), 4) == 0.4857


def test_fisher_published_examples() -> None:
    """Wikipedia's dieting example [[1, 9], [11, 3]] gives 0.002759; a certain table gives 1."""
    assert round(fisher_exact(1, 9, 11, 3), 6) == 0.002759
    assert fisher_exact(0, 0, 0, 0) == 1.0
    assert fisher_exact(5, 5, 5, 5) == 1.0


@given(counts, counts, counts, counts)
def test_fisher_is_the_brute_force_sum(a: int, b: int, c: int, d: int) -> None:
    """The p-value is the exact sum over every table with the same margins, correctly rounded."""
    assert fisher_exact(a, b, c, d) == float(brute_fisher(a, b, c, d))


@given(counts, counts, counts, counts)
def test_fisher_ignores_how_the_table_is_laid_out(a: int, b: int, c: int, d: int) -> None:
    """Swapping rows, swapping columns or transposing the table leaves the p-value as it is."""
    p = fisher_exact(a, b, c, d)
    assert 0 < p <= 1
    assert fisher_exact(c, d, a, b) == p
    assert fisher_exact(b, a, d, c) == p
    assert fisher_exact(a, c, b, d) == p


def test_z_test_by_hand() -> None:
    """50/100 against 30/100: pooled 0.4, z = 0.2 / sqrt(0.24 * 0.02) = 2.8868, p = 0.0039."""
    assert round(two_proportion_z(50, 100, 30, 100), 4) == 0.0039
    # 7/26 against 6/25: pooled 13/51, z = 0.02923 / 0.12207 = 0.2395, p = 0.8108.
    assert round(two_proportion_z(7, 26, 6, 25), 4) == 0.8108
    assert two_proportion_z(0, 10, 0, 30) == 1.0
    assert two_proportion_z(10, 10, 30, 30) == 1.0


@given(st.integers(1, 500), st.integers(1, 500), st.data())
def test_z_test_matches_the_normal_distribution(n1: int, n2: int, data: st.DataObject) -> None:
    """p = 2 (1 - Phi(|z|)) with statistics.NormalDist, for either order of the groups."""
    s1, s2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    pooled = (s1 + s2) / (n1 + n2)
    p = two_proportion_z(s1, n1, s2, n2)
    assert p == two_proportion_z(s2, n2, s1, n1)
    if pooled in (0, 1):
        assert p == 1.0
        return
    z = (s1 / n1 - s2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert p == pytest.approx(2 * (1 - statistics.NormalDist().cdf(abs(z))), abs=1e-12)


@given(st.integers(1, 80), st.integers(1, 80), st.data())
def test_compare_picks_fisher_for_small_expected_cells(
    n1: int, n2: int, data: st.DataObject
) -> None:
    """Fisher's test when an expected cell is below 5, else the z-test; significant below 0.05."""
    s1, s2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    successes, total = s1 + s2, n1 + n2
    cells = [n * k / total for n in (n1, n2) for k in (successes, total - successes)]
    found = compare(s1, n1, s2, n2)
    if min(cells) < 5:
        assert found.test == "fisher_exact"
        assert found.p_value == fisher_exact(s1, n1 - s1, s2, n2 - s2)
    else:
        assert found.test == "two_proportion_z"
        assert found.p_value == two_proportion_z(s1, n1, s2, n2)
    assert found.significant is (found.p_value < significance.ALPHA)


def test_compare_on_the_launch_figures() -> None:
    """7/26 against 6/25 is no difference (z-test); 6/20 against 0/20 is one (Fisher, 0.0202)."""
    same = compare(7, 26, 6, 25)
    assert (same.test, round(same.p_value, 4), same.significant) == (
        "two_proportion_z",
        0.8108,
        False,
    )
    apart = compare(6, 20, 0, 20)
    assert (apart.test, round(apart.p_value, 4), apart.significant) == (
        "fisher_exact",
        0.0202,
        True,
    )


def test_bad_counts_are_refused() -> None:
    """Negative cells, more successes than trials and empty groups raise ValueError."""
    with pytest.raises(ValueError, match="negative"):
        fisher_exact(-1, 2, 3, 4)
    with pytest.raises(ValueError, match="successes <= trials"):
        two_proportion_z(5, 4, 1, 4)
    with pytest.raises(ValueError, match="at least one trial"):
        two_proportion_z(0, 0, 1, 4)
