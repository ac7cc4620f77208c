"""The split keeps every public name of `nmpkit.studies.stats` importable, as the same objects."""

import importlib

from nmpkit.studies import stats

HOMES = {"intervals": ("Z95", "Proportion", "accuracy", "proportion", "wilson"),
         "paired": ("PairedComparison", "compare", "mcnemar_exact", "newcombe_paired"),
         "decision": ("images_needed", "non_inferior"),
         "bootstrap": ("Interval", "mean_interval", "ratio_interval")}


def test_every_public_name_is_its_modules_own():
    names = [n for ns in HOMES.values() for n in ns]
    assert sorted(names) == sorted(stats.__all__)
    for mod, ns in HOMES.items():
        m = importlib.import_module(f"nmpkit.studies.stats.{mod}")
        for n in ns:
            assert getattr(stats, n) is getattr(m, n), (mod, n)
            assert n in m.__all__, (mod, n)
