"""The per-layer floor search as a typed call: ``run(LayersConfig(...)) -> LayersResult`` with
``.save(dir)`` / ``LayersResult.load(dir)`` (what `nmpkit layers` uses, and the report reads).

The pieces stay where they are: layer groups, floor levels and the cached evaluator in
`nmpkit.studies.layers`, the coordinate descent in ``layers_search``, the JSON/CSV shape in
``layers_output`` (``layers.json``, ``layers.csv``; see there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nmpkit.errors import ConfigError
from nmpkit.studies.summary_file import read_summary

if TYPE_CHECKING:
    import pandas as pd

RESULT_FILE, DIAGNOSTIC_FILE = "layers.json", "layers.csv"


def _positive_int(name: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(f"{name} must be an int >= 1, got {v!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LayersConfig:
    """Everything `run` needs (the values of `nmpkit layers`' options). ``groups``: group name →
    its layers (names, or indices where a digit string names no layer); ``parts_dir``: where
    finished simulations are kept so an interrupted search resumes (None: not kept)."""

    calibration: str
    weights: str
    data_root: str
    network: str = "mnist"
    dataset: str = "mnist"
    limit: int = 300
    timesteps: int = 200
    tolerance: float = 0.005
    groups: tuple[tuple[str, tuple[str | int, ...]], ...] = ()
    v_neg_volts: tuple[float, ...] | None = None
    v_dd_volts: float | None = None
    eta: float | None = 0.5
    array_size: int | None = None
    batch: int = 250
    max_passes: int = 4
    parts_dir: str | None = None

    def __post_init__(self) -> None:
        from nmpkit.studies.layers import check_eta, check_tolerance

        groups = self.groups.items() if isinstance(self.groups, Mapping) else self.groups
        object.__setattr__(self, "groups", tuple((str(g), tuple(m)) for g, m in groups))
        if self.v_neg_volts is not None:
            object.__setattr__(self, "v_neg_volts", tuple(float(v) for v in self.v_neg_volts))
            if any(not v <= 0 for v in self.v_neg_volts):
                raise ConfigError(f"v_neg_volts must all be <= 0, got {list(self.v_neg_volts)}")
        if self.v_dd_volts is not None and not 0 < self.v_dd_volts <= 5:
            raise ConfigError(f"v_dd_volts must be volts in (0, 5], got {self.v_dd_volts!r}")
        for name in ("timesteps", "batch", "max_passes"):
            _positive_int(name, getattr(self, name))
        check_tolerance(self.tolerance)
        if self.eta is not None:
            check_eta(self.eta)

    def groups_spec(self) -> dict[str, list[str | int]]:
        """``groups`` as the JSON-ready mapping the provenance records."""
        return {g: list(m) for g, m in self.groups}


@dataclass(frozen=True, slots=True)
class LayersResult:
    """``summary`` (what ``layers.json`` holds, `layers_output.summarize`), ``rows`` (the
    diagnostic, one per configuration and layer: ``layers.csv``)."""

    summary: dict[str, Any]
    rows: tuple[dict[str, Any], ...] = ()

    def text(self) -> str:
        """The search's answer in one sentence."""
        from nmpkit.studies.layers_output import sentence

        return str(self.summary.get("text") or sentence(self.summary))

    def frame(self) -> pd.DataFrame:
        """The diagnostic rows as a table (empty without rows)."""
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def save(self, out_dir: str | Path) -> list[Path]:
        """``layers.json`` and ``layers.csv`` in ``out_dir``, each written atomically."""
        from nmpkit.studies.layers_output import write_outputs

        return write_outputs(Path(out_dir), self.summary, list(self.rows))

    @classmethod
    def load(cls, out_dir: str | Path) -> LayersResult:
        """The result `save` wrote into ``out_dir``."""
        import pandas as pd

        summary = read_summary(Path(out_dir) / RESULT_FILE, "no per-layer floor search here")
        csv = Path(out_dir) / DIAGNOSTIC_FILE
        rows = ()
        if csv.is_file() and csv.stat().st_size > 1:
            names = {"config": str, "layer": str, "group": str}  # "1" stays a layer's name
            rows = tuple(pd.read_csv(csv, dtype=names).to_dict("records"))
        return cls(summary, rows)


def _resolve(layers: Sequence[str | int], names: tuple[str, ...]) -> list[str | int]:
    """Layer names stay names; a digit string that names no layer is an index."""
    return [ly if ly in names or not str(ly).isdigit() else int(ly) for ly in layers]


def run(cfg: LayersConfig, progress: Callable[[str], None] | None = None) -> LayersResult:
    """Load the calibration, weights and data of ``cfg``; search the least-energy allocation."""
    from calib import Calibration
    from calib.io import content_hash, provenance
    from nmpkit.studies.classifier import load_classifier
    from nmpkit.studies.layers import floor_levels, make_groups
    from nmpkit.studies.layers_eval import Evaluator
    from nmpkit.studies.layers_output import diagnostic_rows, sentence, summarize
    from nmpkit.studies.layers_search import search_floors

    cal = Calibration.load(cfg.calibration)
    levels = floor_levels(cal, cfg.v_neg_volts)
    clf = load_classifier(network=cfg.network, weights=cfg.weights, dataset=cfg.dataset,
                          data_root=cfg.data_root, limit=cfg.limit)
    names = tuple(ly.name for ly in clf.net.layers)
    groups = make_groups(names, {g: _resolve(m, names) for g, m in cfg.groups})
    key = content_hash({"cal": cal.to_dict(), "clf": clf.info, "T": cfg.timesteps})[:16]
    ev = Evaluator(cal, clf.net, clf.x, clf.y, groups=groups, levels=levels,
                   timesteps=cfg.timesteps, v_dd_volts=cfg.v_dd_volts, batch=cfg.batch,
                   parts_dir=None if cfg.parts_dir is None else Path(cfg.parts_dir),
                   parts_key=key, eta=cfg.eta, array_size=cfg.array_size)
    found = search_floors(ev, tolerance=cfg.tolerance, max_passes=cfg.max_passes,
                          progress=progress)
    v_neg = None if cfg.v_neg_volts is None else list(cfg.v_neg_volts)
    meta = {"network": cfg.network, "dataset": cfg.dataset, "ann_accuracy": clf.ann_accuracy,
            "provenance": provenance(command="nmpkit layers", calibration=cfg.calibration,
                                     calibration_sources=cal.sources, **clf.info,
                                     groups=cfg.groups_spec(), v_neg=v_neg)}
    summary = summarize(ev, found, meta=meta)
    summary["text"] = sentence(summary)  # as layers.json holds it: load(save(r)) == r
    return LayersResult(summary, tuple(diagnostic_rows(ev, found)))


__all__ = ["DIAGNOSTIC_FILE", "RESULT_FILE", "LayersConfig", "LayersResult", "run"]
