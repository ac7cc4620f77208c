"""nmpkit.studies.stats.intervals vs scipy and hand values: Wilson, proportions."""

from __future__ import annotations

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
