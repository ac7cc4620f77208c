"""What the report reads from a run directory, each through its owner's loader.

A run holds one folder per stage (``nmpkit.app.stages``); inside it the study's result is read by
that study's own ``XResult.load`` (the same class that wrote it), the circuit tables by their
kind's file name (``calib.tables.TABLE_FILES``), the calibration by ``Calibration.load``. Each
loader returns None where the stage did not run or left nothing readable: the report then lists
the figure as missing. This module is the one place of the report that knows the run's layout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import pandas as pd

    from calib.calibration import Calibration
    from nmpkit.studies.cosim_check import CosimCheckResult
    from nmpkit.studies.evaluate_io import EvaluateResult
    from nmpkit.studies.floor_sweep import FloorSweepResult
    from nmpkit.studies.layers_study import LayersResult
    from nmpkit.studies.modulation import ModulateResult
    from nmpkit.studies.optimize_output import OptimizeResult
    from nmpkit.studies.tradeoff_io import TradeoffResult

R = TypeVar("R")


def _maybe(load: Callable[[Path], R], folder: Path) -> R | None:
    try:
        return load(folder)
    except (OSError, ValueError, KeyError):  # ConfigError (nothing there), bad JSON/CSV
        return None


def table(run: Path, kind: str) -> pd.DataFrame | None:
    """The characterize stage's table of ``kind`` (``fi``, ``floor``, ...), or None."""
    import pandas as pd

    from calib.tables import TABLE_FILES

    p = Path(run) / "characterize" / TABLE_FILES[kind]
    return pd.read_csv(p) if p.is_file() else None


def calibration(run: Path) -> Calibration | None:
    """The calibrate stage's calibration (``Calibration.load``), None where the stage did not run;
    a calibration that is there but unreadable is an error, not a missing section."""
    from calib.calibration import Calibration

    p = Path(run) / "calibrate" / "calibration.json"
    return Calibration.load(p) if p.is_file() else None


def energy_profile(run: Path) -> pd.DataFrame | None:
    """The characterize stage's energy profile (`calib.profile.write_energy_profile`), or None."""
    import pandas as pd

    p = Path(run) / "characterize" / "energy_profile.csv"
    return pd.read_csv(p) if p.is_file() else None


def sweep(folder: Path) -> FloorSweepResult | None:
    """An evaluate stage's floor sweep (``RUN/evaluate`` or ``RUN/evaluate-NAME``)."""
    from nmpkit.studies.floor_sweep import FloorSweepResult

    return _maybe(FloorSweepResult.load, Path(folder))


def evaluation(folder: Path, name: str = "nmp") -> EvaluateResult | None:
    """One condition's evaluation in an evaluate stage's folder (``name``: nmp, zmp, ...)."""
    from nmpkit.studies.evaluate_io import EvaluateResult

    return _maybe(lambda d: EvaluateResult.load(d, name), Path(folder))


def tradeoff(folder: Path) -> TradeoffResult | None:
    """A trade-off stage's result (``RUN/tradeoff`` or ``RUN/tradeoff-NAME``)."""
    from nmpkit.studies.tradeoff_io import TradeoffResult

    return _maybe(TradeoffResult.load, Path(folder))


def layers(folder: Path) -> LayersResult | None:
    """A per-layer floor search (``RUN/layers``, ``RUN/layers-NAME`` or the run folder itself)."""
    from nmpkit.studies.layers_study import LayersResult

    return _maybe(LayersResult.load, Path(folder))


def optimize(folder: Path) -> OptimizeResult | None:
    """An optimizer study (``RUN/optimize``, ``RUN/optimize-NAME`` or the run folder itself)."""
    from nmpkit.studies.optimize_output import OptimizeResult

    return _maybe(OptimizeResult.load, Path(folder))


def modulation(run: Path) -> ModulateResult | None:
    """The modulate stage's result (``RUN/modulate``)."""
    from nmpkit.studies.modulation import ModulateResult

    return _maybe(ModulateResult.load, Path(run) / "modulate")


def cosim_check(run: Path) -> CosimCheckResult | None:
    """The co-simulation check's result (``RUN/cosim_check``)."""
    from nmpkit.studies.cosim_check import CosimCheckResult

    return _maybe(CosimCheckResult.load, Path(run) / "cosim_check")


__all__ = ["calibration", "cosim_check", "energy_profile", "evaluation", "layers", "modulation",
           "optimize", "sweep", "table", "tradeoff"]
