"""Helpers for runs with several networks: stage names, shipped weights, paired comparisons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nmpkit.app.config_types import NetworkCfg

SHIPPED = "nmpkit:"


def stage_name(base: str, index: int, net: NetworkCfg) -> str:
    """``base`` for the first network (the folders of a one-network run), ``base-NAME`` else."""
    return base if index == 0 else f"{base}-{net.name}"


def resolve_weights(spec: str) -> Path:
    """A ``weights`` value as a file: ``nmpkit:REL`` is REL inside the installed package."""
    if spec.startswith(SHIPPED):
        from importlib import resources

        return Path(str(resources.files("nmpkit").joinpath(spec[len(SHIPPED):])))
    return Path(spec)


def paired_rows(correct: Mapping[str, Path], compare_at: Sequence[int],
                timesteps: int) -> list[dict[str, Any]]:
    """Per step in ``compare_at`` (and the last) and bound: accuracy with its Wilson interval and
    the paired test against NMP on the same images (McNemar exact; Newcombe interval)."""
    from nmpkit.studies.evaluate_io import load_correct
    from nmpkit.studies.stats import accuracy, compare

    mats = {k: load_correct(p) for k, p in correct.items()}
    rows = []
    for t in sorted({int(t) for t in compare_at if 1 <= t <= timesteps} | {timesteps}):
        ref = mats["nmp"][t - 1]
        for label, m in mats.items():
            acc, cmp = accuracy(m[t - 1]), compare(ref, m[t - 1])
            rows.append({"condition": label, "timesteps": t, "samples": acc.n,
                         "accuracy": acc.estimate, "accuracy_ci_low": acc.ci_low,
                         "accuracy_ci_high": acc.ci_high, "nmp_minus": cmp.difference,
                         "diff_ci_low": cmp.ci_low, "diff_ci_high": cmp.ci_high,
                         "only_nmp_right": cmp.a_only, "only_this_right": cmp.b_only,
                         "p_vs_nmp": cmp.p_value})
    return rows


__all__ = ["SHIPPED", "paired_rows", "resolve_weights", "stage_name"]
