"""Binomial proportions (an accuracy on ``n`` test images) with their Wilson score interval.

``proportion(k, n)`` / ``accuracy(correct)`` give a `Proportion` with its 95% Wilson interval;
``wilson`` is the interval alone. ``Z95`` is the two-sided 95% normal quantile.
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


def check_counts(k: int, n: int, what: str) -> None:
    """ValueError (naming ``what``) unless ``k`` and ``n`` are integers with 0 <= k <= n."""
    for name, v in (("k", k), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what}: {name} must be an integer, got {v!r}")
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"{what}: need 0 <= k <= n, got k={k!r}, n={n!r}")


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``k / n``; ``(0, 1)`` when ``n == 0``."""
    check_counts(k, n, "wilson")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n == 0:
        return (0.0, 1.0)
    return wilson_z(float(k), float(n), float(_st.norm.ppf(0.5 + confidence / 2)))


def proportion(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """``k`` of ``n`` with its Wilson interval."""
    lo, hi = wilson(int(k), int(n), confidence)
    return Proportion(k=int(k), n=int(n), estimate=(k / n if n else float("nan")),
                      ci_low=lo, ci_high=hi, confidence=confidence)


def accuracy(correct: Sequence[bool] | np.ndarray) -> Proportion:
    """Accuracy of a boolean vector (one entry per sample) with its Wilson interval."""
    c = bool_vector(correct, "correct")
    return proportion(int(c.sum()), int(c.size))


def bool_vector(x: Any, name: str) -> np.ndarray:
    """``x`` as a 1-D boolean vector of per-sample outcomes (0/1 accepted), else ValueError."""
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of per-sample outcomes, got shape {a.shape}")
    if a.dtype != bool:
        if not np.isin(a, (0, 1)).all():
            raise ValueError(f"{name} must hold booleans (or 0/1), got values {np.unique(a)[:5]}")
        a = a.astype(bool)
    return a


def wilson_z(k: float, n: float, z: float) -> tuple[float, float]:
    """The Wilson interval of ``k / n`` (``n > 0``; fractional counts allowed) at quantile ``z``."""
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / den
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))



__all__ = ["Z95", "Proportion", "accuracy", "bool_vector", "check_counts", "proportion",
           "wilson", "wilson_z"]
