"""The trade-off's decision rule and the sample size it would need.

``non_inferior``: B may replace A (e.g. a shallow floor replace NMP) when the upper end of the 95%
interval of the drop ``acc_A - acc_B`` is at most the tolerance. When it is not, ``images_needed``
says how many images would show it if the observed flip rates held (normal approximation; ``None``
when the observed drop itself exceeds the tolerance: no sample size shows it).
"""

from __future__ import annotations

import math

from nmpkit.studies.stats.intervals import Z95
from nmpkit.studies.stats.paired import PairedComparison, newcombe_cells


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
        return newcombe_cells(*(r * n for r in rates), Z95)[1] <= tolerance

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



__all__ = ["images_needed", "non_inferior"]
