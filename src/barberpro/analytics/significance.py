"""Is one group's rate really different from another's? Two-sided tests of two proportions.

A recommendation that favours one group over another (a channel, a province, a device) is made
only when the difference between their rates would rarely arise by chance. Two tests, chosen
as textbooks do: Fisher's exact test when an expected cell of the 2x2 table is small (the
normal approximation is poor there), else the pooled two-proportion z-test.

- Fisher: the margins of the table fixed, the count of the first cell is hypergeometric; the
  two-sided p-value is the probability of every table at most as probable as the one observed
  (R's ``fisher.test`` and SciPy's rule). The probabilities are exact integers over C(N, c1),
  so tables equally probable (a symmetric one) tie exactly, with no tolerance.
- z-test: z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)) with the pooled p; the two-sided
  p-value is erfc(|z| / sqrt 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: The significance level: a difference counts when its p-value is below it.
ALPHA = 0.05
#: Fisher's exact test is used when some expected cell of the table is below this.
MIN_EXPECTED = 5

TestName = Literal["fisher_exact", "two_proportion_z"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The test two groups' rates went through, its p-value and whether it is below alpha."""

    test: TestName
    p_value: float
    alpha: float

    @property
    def significant(self) -> bool:
        """Return whether the difference is significant at ``alpha``."""
        return self.p_value < self.alpha


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Return the two-sided p-value of Fisher's exact test on the table [[a, b], [c, d]]."""
    if min(a, b, c, d) < 0:
        raise ValueError(f"counts must not be negative: {[[a, b], [c, d]]}")
    row1, row2, col1 = a + b, c + d, a + c
    lo, hi = max(0, col1 - row2), min(row1, col1)
    # weight(x) = C(row1, x) * C(row2, col1 - x): the table with x in its first cell, times
    # C(N, col1). Each next binomial follows from the previous one by an exact division.
    left, right = math.comb(row1, lo), math.comb(row2, col1 - lo)
    weights = []
    for x in range(lo, hi + 1):
        weights.append(left * right)
        left = left * (row1 - x) // (x + 1)
        right = right * (col1 - x) // (row2 - col1 + x + 1)
    observed = weights[a - lo]
    as_likely = sum(w for w in weights if w <= observed)
    return as_likely / sum(weights)  # int / int: correctly rounded


def two_proportion_z(successes1: int, trials1: int, successes2: int, trials2: int) -> float:
    """Return the two-sided p-value of the pooled z-test that both groups share one rate."""
    _check(successes1, trials1)
    _check(successes2, trials2)
    if trials1 == 0 or trials2 == 0:
        raise ValueError("each group needs at least one trial")
    pooled = (successes1 + successes2) / (trials1 + trials2)
    if pooled in (0.0, 1.0):
        return 1.0  # no success, or no failure, anywhere: the rates are the same
    spread = math.sqrt(pooled * (1 - pooled) * (1 / trials1 + 1 / trials2))
    z = (successes1 / trials1 - successes2 / trials2) / spread
    return math.erfc(abs(z) / math.sqrt(2))


def smallest_expected(successes1: int, trials1: int, successes2: int, trials2: int) -> float:
    """Return the smallest expected cell of the two groups' 2x2 table under equal rates."""
    _check(successes1, trials1)
    _check(successes2, trials2)
    total = trials1 + trials2
    if total == 0:
        return 0.0
    successes = successes1 + successes2
    return min(trials1, trials2) * min(successes, total - successes) / total


def compare(
    successes1: int, trials1: int, successes2: int, trials2: int, *, alpha: float = ALPHA
) -> Comparison:
    """Return the test of two groups' rates: Fisher's when an expected cell is small, else z."""
    expected = smallest_expected(successes1, trials1, successes2, trials2)
    if expected < MIN_EXPECTED:
        failures1, failures2 = trials1 - successes1, trials2 - successes2
        p = fisher_exact(successes1, failures1, successes2, failures2)
        return Comparison("fisher_exact", p, alpha)
    p = two_proportion_z(successes1, trials1, successes2, trials2)
    return Comparison("two_proportion_z", p, alpha)


def _check(successes: int, trials: int) -> None:
    if not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
