"""Statistics behind every accuracy and MSE claim, one module per question:

- `.intervals`: an accuracy on ``n`` images is a binomial proportion, reported with its 95%
  Wilson score interval (``proportion``, ``accuracy``, ``wilson``, ``Z95``);
- `.paired`: two neurons on the same images compared paired (``compare``: McNemar's exact p and
  Newcombe's method-10 interval of the difference; ``mcnemar_exact``, ``newcombe_paired``);
- `.decision`: the trade-off's rule (``non_inferior``) and the sample size that would show it
  (``images_needed``);
- `.bootstrap`: MSE means and paired ratios with BCa bootstrap intervals (``mean_interval``,
  ``ratio_interval``).

Every public name is importable from here (``from nmpkit.studies import stats; stats.compare``).
"""

from __future__ import annotations

from nmpkit.studies.stats.bootstrap import Interval, mean_interval, ratio_interval
from nmpkit.studies.stats.decision import images_needed, non_inferior
from nmpkit.studies.stats.intervals import Z95, Proportion, accuracy, proportion, wilson
from nmpkit.studies.stats.paired import PairedComparison, compare, mcnemar_exact, newcombe_paired

__all__ = ["Interval", "PairedComparison", "Proportion", "Z95", "accuracy", "compare",
           "images_needed", "mcnemar_exact", "mean_interval", "newcombe_paired", "non_inferior",
           "proportion", "ratio_interval", "wilson"]
