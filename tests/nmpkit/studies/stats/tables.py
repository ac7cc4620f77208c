"""A `PairedComparison` from the four cells of a paired 2x2 table (for the decision tests)."""

from nmpkit.studies import stats


def paired_table(both: int, a_only: int, b_only: int, neither: int) -> stats.PairedComparison:
    lo, hi = stats.newcombe_paired(both, a_only, b_only, neither)
    n = both + a_only + b_only + neither
    return stats.PairedComparison(n=n, a_correct=both + a_only, b_correct=both + b_only,
                                  a_only=a_only, b_only=b_only, difference=(a_only - b_only) / n,
                                  ci_low=lo, ci_high=hi,
                                  p_value=stats.mcnemar_exact(a_only, b_only))
