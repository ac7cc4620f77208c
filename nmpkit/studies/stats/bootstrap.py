"""MSE over patches (the autoencoder): a bootstrap interval of the mean (``mean_interval``) and
of a paired ratio of means (``ratio_interval``), both BCa from ``scipy.stats.bootstrap`` with a
fixed seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as _st


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """A statistic of ``n`` samples with a bootstrap interval."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    method: str = "bootstrap BCa, 9999 resamples, seed 0"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite_vector(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size < 2 or not np.isfinite(a).all():
        raise ValueError(f"{name} must be a 1-D vector of >= 2 finite values, got shape "
                         f"{a.shape}")
    return a


def mean_interval(values: Sequence[float] | np.ndarray, *, seed: int = 0,
                  n_resamples: int = 9999) -> Interval:
    """Mean of ``values`` (e.g. per-patch MSE) with a 95% BCa bootstrap interval."""
    v = _finite_vector(values, "values")
    if np.ptp(v) == 0:
        return Interval(estimate=float(v[0]), ci_low=float(v[0]), ci_high=float(v[0]), n=v.size)
    res = _st.bootstrap((v,), np.mean, confidence_level=0.95, n_resamples=n_resamples,
                        method="BCa", rng=np.random.default_rng(seed))
    return Interval(estimate=float(v.mean()), ci_low=float(res.confidence_interval.low),
                    ci_high=float(res.confidence_interval.high), n=int(v.size),
                    method=f"bootstrap BCa, {n_resamples} resamples, seed {seed}")


def ratio_interval(numerator: Sequence[float] | np.ndarray,
                   denominator: Sequence[float] | np.ndarray, *, seed: int = 0,
                   n_resamples: int = 9999) -> Interval:
    """``mean(numerator) / mean(denominator)`` over paired samples, 95% BCa bootstrap."""
    x = _finite_vector(numerator, "numerator")
    y = _finite_vector(denominator, "denominator")
    if x.shape != y.shape:
        raise ValueError(f"paired ratio needs the same samples: {x.size} vs {y.size}")
    if y.mean() <= 0:
        raise ValueError(f"denominator mean must be > 0, got {y.mean()!r}")

    def ratio(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)

    res = _st.bootstrap((x, y), ratio, paired=True, vectorized=True, confidence_level=0.95,
                        n_resamples=n_resamples, method="BCa", rng=np.random.default_rng(seed))
    return Interval(estimate=float(x.mean() / y.mean()),
                    ci_low=float(res.confidence_interval.low),
                    ci_high=float(res.confidence_interval.high), n=int(x.size),
                    method=f"paired bootstrap BCa, {n_resamples} resamples, seed {seed}")



__all__ = ["Interval", "mean_interval", "ratio_interval"]
