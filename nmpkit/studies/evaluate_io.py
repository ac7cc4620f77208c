"""The record of one evaluation (`EvaluateResult`) and its files.

``save(dir, name)`` writes, each atomically:

- ``NAME.csv``: ``t`` and ``accuracy`` (a classifier) or ``mse`` (the autoencoder) per step;
- ``NAME.json``: the summary (network, data, floor, ANN and SNN metrics, layer rates, config,
  provenance);
- ``NAME_correct.npz``: a classifier's per-sample, per-step correctness, bit-packed
  (`load_correct`; for paired tests between floors);
- ``NAME_corr.csv``: the correlation data (ANN activation vs SNN rate), when there is any;
- ``NAME_recon.npz``: the autoencoder's reconstructions at the snapshot steps and the target.

``load(dir, name)`` reads them back into an equal record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calib.io import atomic_write_csv, atomic_write_json, atomic_write_npz
from nmpkit.studies.summary_file import read_summary


def save_correct(correct: Any, path: str | Path) -> Path:
    """``correct`` (T, N) bool (tensor or array), bit-packed along N, to ``path`` (.npz)."""
    c = np.asarray(correct.numpy() if hasattr(correct, "numpy") else correct).astype(bool)
    return atomic_write_npz(path, {"bits": np.packbits(c, axis=1), "n": np.int64(c.shape[1])},
                            compressed=True)


def load_correct(path: str | Path) -> np.ndarray:
    """(T, N) bool from a file written by `save_correct`."""
    with np.load(path) as z:
        return np.unpackbits(z["bits"], axis=1, count=int(z["n"])).astype(bool)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    return atomic_write_npz(path, arrays, compressed=True)


@dataclass(frozen=True, slots=True, eq=False)
class EvaluateResult:
    """One evaluation: ``summary`` (what ``NAME.json`` holds), ``metric`` per step (T values),
    ``correct`` (T, N) bool for a classifier, ``correlation`` rows, ``reconstructions`` (name →
    (3, H, W) image in [0, 1]: ``t<step>`` and ``target``) for the autoencoder."""

    summary: dict[str, Any]
    metric: tuple[float, ...]
    correct: np.ndarray | None = None
    correlation: tuple[dict[str, Any], ...] = ()
    reconstructions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def metric_name(self) -> str:
        """``accuracy`` or ``mse``."""
        return str(self.summary["metric"])

    @property
    def final(self) -> float:
        return float(self.summary[f"final_{self.metric_name}"])

    def save(self, out_dir: str | Path, name: str = "evaluate") -> list[Path]:
        """The files of the module docstring in ``out_dir`` (made if missing); their paths."""
        import pandas as pd

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        summary = dict(self.summary)
        col = self.metric_name
        steps = range(1, len(self.metric) + 1)
        paths = [atomic_write_csv(out / f"{name}.csv",
                                  pd.DataFrame({"t": steps, col: list(self.metric)}))]
        if self.correct is not None:
            paths.append(save_correct(self.correct, out / f"{name}_correct.npz"))
        if "correlation" in summary:
            paths.append(atomic_write_csv(out / f"{name}_corr.csv",
                                          pd.DataFrame(list(self.correlation))))
            summary["correlation"] = {"file": paths[-1].name, **summary["correlation"]}
        if self.reconstructions:
            paths.append(_save_npz(out / f"{name}_recon.npz", self.reconstructions))
            summary["reconstructions"] = {"file": paths[-1].name, **summary["reconstructions"]}
        paths.insert(1, atomic_write_json(out / f"{name}.json", summary))
        return paths

    @classmethod
    def load(cls, out_dir: str | Path, name: str = "evaluate") -> EvaluateResult:
        """The result `save` wrote into ``out_dir`` under ``name``."""
        import pandas as pd

        out = Path(out_dir)
        summary = read_summary(out / f"{name}.json", "no evaluation result here")
        df = pd.read_csv(out / f"{name}.csv")
        corr: tuple[dict[str, Any], ...] = ()
        if isinstance(summary.get("correlation"), dict):
            summary["correlation"] = dict(summary["correlation"])
            corr_file = out / summary["correlation"].pop("file")
            corr = tuple(pd.read_csv(corr_file).to_dict("records"))
        recon: dict[str, np.ndarray] = {}
        if isinstance(summary.get("reconstructions"), dict):
            summary["reconstructions"] = dict(summary["reconstructions"])
            with np.load(out / summary["reconstructions"].pop("file")) as z:
                recon = {k: z[k] for k in z.files}
        cpath = out / f"{name}_correct.npz"
        return cls(summary=summary, metric=tuple(float(v) for v in df[summary["metric"]]),
                   correct=load_correct(cpath) if cpath.is_file() else None,
                   correlation=corr, reconstructions=recon)


__all__ = ["EvaluateResult", "load_correct", "save_correct"]
