"""One network's floor sweep (`nmpkit run`'s evaluate stage): one evaluation per condition (NMP,
ZMP, each finite floor), gathered into `FloorSweepResult` with ``.save(dir)`` / ``.load(dir)``.

Files in the stage folder, each written atomically:

- ``accuracy_per_step.csv``: ``t``, ``accuracy`` (or ``mse``), ``condition``, ``lower_bound``;
- ``floors.csv``: one row per condition (final and best metric, best step, samples, the ANN's);
- ``correlation.csv``: ANN activation vs SNN rate for NMP and ZMP, when the network has any;
- ``comparisons.csv``: per compared T and condition, the accuracy with its Wilson interval and
  the paired test against NMP (a classifier's sweep only);
- ``LABEL.json``: each condition's evaluation summary (``EvaluateResult.summary`` as saved).

The report reads the sweep through `FloorSweepResult.load`, never by these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nmpkit.errors import ConfigError
from nmpkit.studies.summary_file import read_summary

if TYPE_CHECKING:
    from nmpkit.studies.evaluate_io import EvaluateResult

CURVES, FINALS = "accuracy_per_step.csv", "floors.csv"
CORRELATION, COMPARISONS = "correlation.csv", "comparisons.csv"


@dataclass(frozen=True, slots=True, eq=False)
class FloorSweepResult:
    """``curves`` (metric per step and condition), ``finals`` (one row per condition),
    ``correlation`` and ``comparisons`` (None when absent), ``summaries`` (condition → its
    evaluation's summary; only those saved)."""

    curves: pd.DataFrame
    finals: pd.DataFrame
    correlation: pd.DataFrame | None = None
    comparisons: pd.DataFrame | None = None
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def gather(cls, evaluations: Sequence[tuple[str, float | None, EvaluateResult]],
               comparisons: Sequence[dict[str, Any]] = ()) -> FloorSweepResult:
        """The sweep of ``(condition, lower bound, its evaluation)`` in order; ``comparisons``:
        the paired rows against NMP (`nmpkit.app.networks.paired_rows`), if any."""
        curves, finals, corr = [], [], []
        for label, lb, res in evaluations:
            metric, summ = res.metric_name, res.summary
            curves.append(pd.DataFrame({"t": range(1, len(res.metric) + 1), metric: res.metric})
                          .assign(condition=label, lower_bound=lb))
            finals.append({"condition": label, "lower_bound": lb, f"final_{metric}": res.final,
                           f"best_{metric}": summ[f"best_{metric}"], "best_t": summ["best_t"],
                           "samples": summ["samples"], f"ann_{metric}": summ[f"ann_{metric}"]})
            if res.correlation and label in ("nmp", "zmp"):
                corr.append(pd.DataFrame(list(res.correlation)).assign(condition=label))
        return cls(curves=pd.concat(curves), finals=pd.DataFrame(finals),
                   correlation=pd.concat(corr) if corr else None,
                   comparisons=pd.DataFrame(list(comparisons)) if comparisons else None,
                   summaries={label: res.summary for label, _, res in evaluations})

    def finals_by_condition(self) -> dict[str, float]:
        """condition → its final metric (accuracy or MSE)."""
        col = next(c for c in self.finals.columns if c.startswith("final_"))
        return {str(r["condition"]): float(r[col]) for _, r in self.finals.iterrows()}

    def summary(self, condition: str = "nmp") -> dict[str, Any] | None:
        """The evaluation summary of ``condition`` (None when not saved)."""
        return self.summaries.get(condition)

    def network(self) -> str | None:
        """The network's name, as NMP's evaluation recorded it."""
        s = self.summary() or {}
        return str(s["network"]) if s.get("network") else None

    def save(self, out_dir: str | Path, *, summaries: bool = True) -> list[Path]:
        """The files of the module docstring in ``out_dir`` (``summaries=False``: the CSVs only,
        where each condition's summary is already there); their paths."""
        from calib.io import atomic_write_csv, atomic_write_json

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [atomic_write_csv(out / CURVES, self.curves),
                 atomic_write_csv(out / FINALS, self.finals)]
        if self.correlation is not None:
            paths.append(atomic_write_csv(out / CORRELATION, self.correlation))
        if self.comparisons is not None:
            paths.append(atomic_write_csv(out / COMPARISONS, self.comparisons))
        if summaries:
            paths += [atomic_write_json(out / f"{k}.json", v) for k, v in self.summaries.items()]
        return paths

    @classmethod
    def load(cls, out_dir: str | Path) -> FloorSweepResult:
        """The sweep `save` wrote into ``out_dir``."""
        out = Path(out_dir)
        if not (out / CURVES).is_file():
            raise ConfigError(f"{out}: no floor sweep here ({CURVES} missing)")

        def csv(name: str) -> pd.DataFrame | None:
            return pd.read_csv(out / name) if (out / name).is_file() else None

        finals = csv(FINALS)
        if finals is None:
            raise ConfigError(f"{out}: no floor sweep here ({FINALS} missing)")
        summaries = {}
        for c in finals.get("condition", pd.Series(dtype=str)):
            p = out / f"{c}.json"
            if isinstance(c, str) and p.is_file():
                summaries[c] = read_summary(p, "missing")
        return cls(curves=csv(CURVES), finals=finals, correlation=csv(CORRELATION),
                   comparisons=csv(COMPARISONS), summaries=summaries)


def try_load(out_dir: str | Path) -> FloorSweepResult | None:
    """`FloorSweepResult.load`, or None where ``out_dir`` holds no readable sweep."""
    try:
        return FloorSweepResult.load(out_dir)
    except (OSError, ValueError):  # ConfigError is a ValueError, as are bad CSV/JSON
        return None


__all__ = ["FloorSweepResult", "try_load"]
