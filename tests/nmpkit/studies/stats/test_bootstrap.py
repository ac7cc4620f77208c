"""nmpkit.studies.stats.bootstrap vs the t interval and a known ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sst

from nmpkit.studies import stats


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
