"""Statistics behind every accuracy and MSE claim: intervals, paired tests, decisions, sample sizes.

An accuracy on ``n`` test images is a binomial proportion: it is reported with its 95% Wilson
score interval (``proportion``). Two neurons (floors, supplies, ...) evaluated on the same images
are compared *paired*: only the images that flip matter. ``compare`` counts them both ways
(``a_only``: right under A, wrong under B; ``b_only``: the reverse), gives McNemar's exact p-value
(a two-sided binomial test of ``a_only`` against ``a_only + b_only`` at 1/2) and Newcombe's
hybrid score interval for the paired difference ``acc_A - acc_B`` (Newcombe 1998, method 10:
Wilson intervals of both marginals combined with the phi correlation of the 2x2 table).

``non_inferior`` is the decision rule of the trade-off: B may replace A (e.g. a shallow floor
replace NMP) when the upper end of the 95% interval of the drop ``acc_A - acc_B`` is at most the
tolerance. When it is not, ``images_needed`` says how many images would show it if the observed
flip rates held (normal approximation; ``None`` when the observed drop itself exceeds the
tolerance: no sample size shows it).

MSE over patches (the autoencoder) gets a bootstrap interval of the mean (``mean_interval``) and
of a paired ratio of means (``ratio_interval``), both BCa from ``scipy.stats.bootstrap`` with a
fixed seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

Z95 = float(_st.norm.ppf(0.975))
"""Two-sided 95% normal quantile (1.95996...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Proportion:
    """``k`` successes of ``n`` with the Wilson score interval at ``confidence``."""

    k: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (f"{100 * self.estimate:.2f}% (95% CI {100 * self.ci_low:.2f}–"
                f"{100 * self.ci_high:.2f}%, n = {self.n:,})")


@dataclass(frozen=True, slots=True, kw_only=True)
class PairedComparison:
    """A vs B on the same ``n`` samples (see the module docstring)."""

    n: int
    a_correct: int
    b_correct: int
    a_only: int
    b_only: int
    difference: float
    """acc_A - acc_B."""
    ci_low: float
    ci_high: float
    p_value: float
    """McNemar's exact two-sided p-value."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_counts(k: int, n: int, what: str) -> None:
    for name, v in (("k", k), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what}: {name} must be an integer, got {v!r}")
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"{what}: need 0 <= k <= n, got k={k!r}, n={n!r}")


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``k / n``; ``(0, 1)`` when ``n == 0``."""
    _check_counts(k, n, "wilson")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n == 0:
        return (0.0, 1.0)
    return _wilson_f(float(k), float(n), float(_st.norm.ppf(0.5 + confidence / 2)))


def proportion(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """``k`` of ``n`` with its Wilson interval."""
    lo, hi = wilson(int(k), int(n), confidence)
    return Proportion(k=int(k), n=int(n), estimate=(k / n if n else float("nan")),
                      ci_low=lo, ci_high=hi, confidence=confidence)


def accuracy(correct: Sequence[bool] | np.ndarray) -> Proportion:
    """Accuracy of a boolean vector (one entry per sample) with its Wilson interval."""
    c = _bool_vector(correct, "correct")
    return proportion(int(c.sum()), int(c.size))


def _bool_vector(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of per-sample outcomes, got shape {a.shape}")
    if a.dtype != bool:
        if not np.isin(a, (0, 1)).all():
            raise ValueError(f"{name} must hold booleans (or 0/1), got values {np.unique(a)[:5]}")
        a = a.astype(bool)
    return a


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the two discordant counts (1.0 when none flip)."""
    _check_counts(a_only, a_only + b_only, "mcnemar_exact")
    _check_counts(b_only, a_only + b_only, "mcnemar_exact")
    m = a_only + b_only
    if m == 0:
        return 1.0
    return float(_st.binomtest(int(a_only), int(m), 0.5).pvalue)


def newcombe_paired(both: int, a_only: int, b_only: int, neither: int,
                    confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's method-10 interval for acc_A - acc_B from the paired 2x2 table."""
    for name, v in (("both", both), ("a_only", a_only), ("b_only", b_only), ("neither", neither)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"newcombe_paired: {name} must be a count >= 0, got {v!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return _newcombe(float(both), float(a_only), float(b_only), float(neither),
                     float(_st.norm.ppf(0.5 + confidence / 2)))


def _wilson_f(k: float, n: float, z: float) -> tuple[float, float]:
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / den
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))


def _newcombe(both: float, a_only: float, b_only: float, neither: float,
              z: float) -> tuple[float, float]:
    """Method 10 on (possibly fractional, for sample-size planning) cell counts."""
    n = both + a_only + b_only + neither
    if n == 0:
        return (-1.0, 1.0)
    ka, kb = both + a_only, both + b_only
    pa, pb = ka / n, kb / n
    la, ua = _wilson_f(ka, n, z)
    lb, ub = _wilson_f(kb, n, z)
    den = (both + a_only) * (b_only + neither) * (both + b_only) * (a_only + neither)
    phi = (both * neither - a_only * b_only) / math.sqrt(den) if den > 0 else 0.0
    d = pa - pb
    lower = d - math.sqrt(max(0.0, (pa - la) ** 2 - 2 * phi * (pa - la) * (ub - pb)
                              + (ub - pb) ** 2))
    upper = d + math.sqrt(max(0.0, (ua - pa) ** 2 - 2 * phi * (ua - pa) * (pb - lb)
                              + (pb - lb) ** 2))
    return (max(-1.0, lower), min(1.0, upper))


def compare(correct_a: Sequence[bool] | np.ndarray,
            correct_b: Sequence[bool] | np.ndarray) -> PairedComparison:
    """Paired comparison of A and B on the same samples (per-sample correctness vectors)."""
    a = _bool_vector(correct_a, "correct_a")
    b = _bool_vector(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"paired comparison needs the same samples: {a.size} vs {b.size}")
    both = int((a & b).sum())
    a_only = int((a & ~b).sum())
    b_only = int((~a & b).sum())
    neither = int(a.size) - both - a_only - b_only
    lo, hi = newcombe_paired(both, a_only, b_only, neither)
    n = int(a.size)
    return PairedComparison(n=n, a_correct=both + a_only, b_correct=both + b_only,
                            a_only=a_only, b_only=b_only,
                            difference=((a_only - b_only) / n if n else float("nan")),
                            ci_low=lo, ci_high=hi, p_value=mcnemar_exact(a_only, b_only))


def non_inferior(cmp: PairedComparison, tolerance: float) -> bool:
    """True when B's drop against A (``acc_A - acc_B``) is <= ``tolerance`` at 95% confidence.

    The bound is the upper end of the two-sided 95% interval (a one-sided 97.5% bound). With no
    flips either way Newcombe's interval collapses to [0, 0] (perfectly correlated margins), which
    would let a handful of identical answers "show" any tolerance; then the drop is bounded by the
    rate of images A gets right and B wrong, whose Wilson upper end at 0 of ``n`` is
    ``z² / (n + z²)`` (so 0.5 %p needs about 765 flip-free images).
    """
    _check_tolerance(tolerance)
    if cmp.n == 0:
        return False
    if cmp.a_only + cmp.b_only == 0:
        return _no_flip_bound(cmp.n) <= tolerance
    return cmp.ci_high <= tolerance


def _no_flip_bound(n: float) -> float:
    """Wilson 95% upper end of a rate observed 0 times in ``n``: z² / (n + z²)."""
    return Z95 * Z95 / (n + Z95 * Z95)


def _check_tolerance(tolerance: float) -> None:
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
            or not math.isfinite(tolerance) or not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be an accuracy fraction in [0, 1), got {tolerance!r}")


def images_needed(cmp: PairedComparison, tolerance: float,
                  limit: int = 10**9) -> int | None:
    """Samples that would show ``non_inferior`` if the observed cell rates held.

    The same Newcombe bound as the decision, on the observed 2x2 rates scaled to ``n`` samples
    (fractional cells), smallest such ``n`` by bisection. With no flips observed, the decision's
    flip-free bound ``z² / (n + z²)`` decides (zero flips in a small sample does not mean none
    exist). ``None`` when the observed drop is already >= the tolerance, or ``limit`` samples
    would not do.
    """
    _check_tolerance(tolerance)
    if cmp.n == 0 or cmp.difference >= tolerance:
        return None
    a, b = float(cmp.a_only), float(cmp.b_only)
    if a + b == 0:  # the decision's flip-free bound, z²/(n+z²) <= tolerance
        need = max(cmp.n, math.ceil(Z95 * Z95 * (1 - tolerance) / tolerance)) if tolerance > 0 \
            else None
        return need if need is not None and need <= limit else None
    both = float(cmp.a_correct - cmp.a_only)
    neither = float(cmp.n - cmp.a_correct - cmp.b_only)
    total = both + a + b + neither
    rates = (both / total, a / total, b / total, neither / total)

    def shown(n: int) -> bool:
        return _newcombe(*(r * n for r in rates), Z95)[1] <= tolerance

    if shown(cmp.n):
        return cmp.n
    lo, hi = cmp.n, cmp.n
    while not shown(hi):
        lo, hi = hi, hi * 2
        if hi > limit:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if shown(mid) else (mid, hi)
    return hi


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


__all__ = ["Interval", "PairedComparison", "Proportion", "Z95", "accuracy", "compare",
           "images_needed", "mcnemar_exact", "mean_interval", "newcombe_paired", "non_inferior",
           "proportion", "ratio_interval", "wilson"]
