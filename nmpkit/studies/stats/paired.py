"""Two neurons (floors, supplies, ...) on the same images, compared *paired*: only the images
that flip matter. ``compare`` counts them both ways (``a_only``: right under A, wrong under B;
``b_only``: the reverse), gives McNemar's exact p-value (a two-sided binomial test of ``a_only``
against ``a_only + b_only`` at 1/2) and Newcombe's hybrid score interval for the paired difference
``acc_A - acc_B`` (Newcombe 1998, method 10: Wilson intervals of both marginals combined with the
phi correlation of the 2x2 table).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

from nmpkit.studies.stats.intervals import bool_vector, check_counts, wilson_z


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


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the two discordant counts (1.0 when none flip)."""
    check_counts(a_only, a_only + b_only, "mcnemar_exact")
    check_counts(b_only, a_only + b_only, "mcnemar_exact")
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
    return newcombe_cells(float(both), float(a_only), float(b_only), float(neither),
                     float(_st.norm.ppf(0.5 + confidence / 2)))


def newcombe_cells(both: float, a_only: float, b_only: float, neither: float,
              z: float) -> tuple[float, float]:
    """Method 10 on (possibly fractional, for sample-size planning) cell counts."""
    n = both + a_only + b_only + neither
    if n == 0:
        return (-1.0, 1.0)
    ka, kb = both + a_only, both + b_only
    pa, pb = ka / n, kb / n
    la, ua = wilson_z(ka, n, z)
    lb, ub = wilson_z(kb, n, z)
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
    a = bool_vector(correct_a, "correct_a")
    b = bool_vector(correct_b, "correct_b")
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



__all__ = ["PairedComparison", "compare", "mcnemar_exact", "newcombe_cells", "newcombe_paired"]
