"""nmpkit.studies.stats vs independent references: scipy, hand counts, simulated coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from nmpkit.studies import stats


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_equals_scipy(kn):
    k, n = kn
    ref = sst.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = stats.wilson(k, n)
    assert lo == pytest.approx(ref.low, abs=1e-12)
    assert hi == pytest.approx(ref.high, abs=1e-12)


def test_wilson_hand_value():
    # 81 of 263 (Newcombe 1998, single-proportion example): 0.2553 to 0.3662
    lo, hi = stats.wilson(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    assert stats.wilson(0, 10)[0] == 0.0 and stats.wilson(10, 10)[1] == 1.0


def test_proportion_text_and_validation():
    p = stats.proportion(9924, 10000)
    assert p.estimate == 0.9924 and p.n == 10000
    assert "99.24%" in str(p) and "n = 10,000" in str(p)
    with pytest.raises(ValueError, match="k=11, n=10"):
        stats.proportion(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        stats.wilson(1, 2, confidence=1.5)
    with pytest.raises(ValueError, match="booleans"):
        stats.accuracy(np.array([0, 2, 1]))


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


def _table(both, a_only, b_only, neither):
    lo, hi = stats.newcombe_paired(both, a_only, b_only, neither)
    n = both + a_only + b_only + neither
    return stats.PairedComparison(n=n, a_correct=both + a_only, b_correct=both + b_only,
                                  a_only=a_only, b_only=b_only, difference=(a_only - b_only) / n,
                                  ci_low=lo, ci_high=hi,
                                  p_value=stats.mcnemar_exact(a_only, b_only))


def test_non_inferior_and_images_needed_agree():
    # 0.2 %p drop (3 vs 1 flips in 1,000): not shown at a 0.5 %p tolerance ...
    small = _table(985, 3, 1, 11)
    assert not stats.non_inferior(small, 0.005)
    need = stats.images_needed(small, 0.005)
    assert need is not None and need > 1000
    # ... the same rates on 1.1 x `need` images are shown, on 0.9 x `need` they are not
    for factor, expected in ((1.1, True), (0.9, False)):
        f = need * factor / 1000
        t = _table(*(round(c * f) for c in (985, 3, 1, 11)))
        assert stats.non_inferior(t, 0.005) is expected, (factor, t)
    # a drop at or above the tolerance can be shown by no sample size
    assert stats.images_needed(small, 0.002) is None
    # no flips in 200 images: not "shown" for free, and a finite plan is given
    clean = _table(190, 0, 0, 10)
    assert not stats.non_inferior(clean, 0.005) and stats.images_needed(clean, 0.005) > 200
    with pytest.raises(ValueError, match="tolerance"):
        stats.non_inferior(small, float("nan"))


def test_mean_interval_matches_t_interval_on_normal_data():
    x = np.random.default_rng(0).normal(0.01, 0.002, size=256)
    iv = stats.mean_interval(x)
    half = sst.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    assert iv.estimate == pytest.approx(x.mean())
    assert iv.ci_low == pytest.approx(x.mean() - half, rel=0.02)
    assert iv.ci_high == pytest.approx(x.mean() + half, rel=0.02)
    assert iv.n == 256


def test_ratio_interval_contains_truth_and_validates():
    rng = np.random.default_rng(3)
    nmp = rng.gamma(4.0, 0.002, size=256)
    zmp = 10 * nmp * rng.lognormal(0, 0.1, size=256)   # ZMP about 10x NMP, paired
    iv = stats.ratio_interval(zmp, nmp)
    assert iv.ci_low < iv.estimate < iv.ci_high
    assert 9 < iv.ci_low and iv.ci_high < 11.5
    with pytest.raises(ValueError, match="same samples"):
        stats.ratio_interval(zmp, nmp[:-1])
    with pytest.raises(ValueError, match="finite"):
        stats.mean_interval([1.0, float("nan")])


@pytest.mark.parametrize("n,acc", [(40, 0.5), (400, 0.5), (764, 0.9), (765, 0.9), (3000, 0.5)])
def test_no_flip_decision_uses_the_flip_free_bound(n: int, acc: float):
    # Newcombe's interval collapses to [0, 0] without discordant pairs; the decision must not:
    # the drop is at most the rate of A-only images, whose Wilson bound at 0/n is z²/(n+z²),
    # computed here by hand and checked against scipy's normal quantile.
    k = round(n * acc)
    clean = _table(k, 0, 0, n - k)
    z2 = sst.norm.ppf(0.975) ** 2
    assert stats.non_inferior(clean, 0.005) is bool(z2 / (n + z2) <= 0.005)
    need = stats.images_needed(clean, 0.005)
    assert need == max(n, math.ceil(z2 * 0.995 / 0.005))
    bigger = _table(round(need * acc), 0, 0, need - round(need * acc))
    assert stats.non_inferior(bigger, 0.005)
