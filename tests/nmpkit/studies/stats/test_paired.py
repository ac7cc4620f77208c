"""nmpkit.studies.stats.paired vs hand counts, scipy and simulated coverage: McNemar, Newcombe."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nmpkit.studies import stats


def test_mcnemar_exact_hand_counts():
    assert stats.mcnemar_exact(0, 6) == pytest.approx(2 * 0.5 ** 6)          # 0.03125
    assert stats.mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)         # P(X<=1), n=10
    assert stats.mcnemar_exact(5, 5) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0


def test_compare_counts_flips_both_ways():
    a = np.array([1, 1, 1, 0, 0, 1, 0, 1], bool)
    b = np.array([1, 0, 1, 1, 0, 0, 0, 1], bool)
    c = stats.compare(a, b)
    assert (c.n, c.a_correct, c.b_correct, c.a_only, c.b_only) == (8, 5, 4, 2, 1)
    assert c.difference == pytest.approx(1 / 8)
    assert c.ci_low <= c.difference <= c.ci_high
    r = stats.compare(b, a)                       # swapping A and B negates the interval
    assert r.ci_low == pytest.approx(-c.ci_high) and r.ci_high == pytest.approx(-c.ci_low)
    assert r.p_value == c.p_value
    with pytest.raises(ValueError, match="same samples"):
        stats.compare(a, b[:-1])


@pytest.mark.parametrize("cells, n", [((0.97, 0.01, 0.005, 0.015), 1000),
                                     ((0.80, 0.06, 0.02, 0.12), 400), ((0.5, 0.2, 0.2, 0.1), 400)])
def test_newcombe_coverage_by_simulation(cells, n):
    # True paired table -> 3000 seeded draws: the 95% interval must cover the true difference
    # 93-97.5% of the time (a wrong correlation sign or a z slip leaves that band).
    rng = np.random.default_rng(1)
    reps = 3000
    true = cells[1] - cells[2]
    draws = rng.multinomial(n, cells, size=reps)
    cover = 0
    for both, a_only, b_only, neither in draws:
        lo, hi = stats.newcombe_paired(int(both), int(a_only), int(b_only), int(neither))
        cover += lo <= true <= hi
    assert 0.93 <= cover / reps <= 0.975


def test_newcombe_narrower_than_unpaired_when_correlated():
    # Most images right under both: pairing must help (a Wilson-difference interval is wider).
    lo, hi = stats.newcombe_paired(9800, 40, 20, 140)
    la, ua = stats.wilson(9840, 10000)
    lb, ub = stats.wilson(9820, 10000)
    unpaired = math.hypot(ua - la, ub - lb)
    assert hi - lo < unpaired
