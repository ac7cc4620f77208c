"""nmpkit.studies.stats.decision: the non-inferiority rule and the images it needs, vs a hand
bound and the same rates at other sample sizes."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sst

from nmpkit.studies import stats
from tests.nmpkit.studies.stats.tables import paired_table as _table


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
