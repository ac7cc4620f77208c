"""One candidate design of `nmpkit optimize`: ngspice → calibration → engine → accuracy, energy.

`trial_grid` is the small characterization a trial needs (the quick grid's 8 currents, at the
design's V_DD and one 0.1 V above — the energy regime needs two — and at V_NEG 0 and the
design's; 2 Monte Carlo samples only because the fit needs a mismatch table: the engine runs the
nominal neuron). `DesignEvaluator.characterize` runs it through the content-addressed point
cache (`circuits.point_cache`) shared by every trial, and keeps the fitted calibration under
``OUT/designs/<key>/`` (key = hash of design + grid, `design_key`), so a repeated design costs no
ngspice run at all and a repeated point none either; `SpiceUse` counts both.

`DesignEvaluator.evaluate` runs the converted classifier with the calibrated neuron at the
design's V_NEG (floor and transfer curve) for T steps on the fixed image set (locally, or on
the Dask cluster the sweeps use: `distributed.simulate_on`, the same chunks) and prices the
spikes at the design's supplies (``cosim.energy``); it returns the per-image correctness, so every
accuracy gets its Wilson interval and every comparison a paired test on the same images.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calib.io import content_hash
from circuits.design import NeuronDesign


def trial_grid(design: NeuronDesign, v_neg_volts: tuple[float, ...] | None = None, *,
               currents: int = 8) -> Any:
    """The per-trial characterization grid (see the module docstring); ``currents`` excitatory
    currents, log-spaced over the quick grid's range (1 nA .. 2x the reset current)."""
    import numpy as np

    from circuits.grid import Grid, quick_grid

    q = quick_grid(design)
    i_exc = tuple(float(f"{x:.4g}") for x in np.geomspace(q.i_exc_amps[0], q.i_exc_amps[-1],
                                                          currents))
    vdd = round(design.v_dd_volts, 6)
    other = round(vdd + 0.1, 6) if vdd + 0.1 <= 2.0 else round(vdd - 0.1, 6)
    vnegs = v_neg_volts or tuple(sorted({0.0, round(design.v_neg_volts, 6)}, reverse=True))
    return Grid(i_exc_amps=i_exc, v_dd_volts=tuple(sorted({vdd, other})),
                v_neg_volts=vnegs, i_inh_amps=q.i_inh_amps, mc_samples=2,
                mc_i_exc_amps=q.mc_i_exc_amps, name="optimize-trial")


@dataclass(slots=True)
class SpiceUse:
    """ngspice work a study needed: designs characterized (new / reused whole), points
    (simulated / read from the point cache) and ngspice runs."""

    designs_new: int = 0
    designs_reused: int = 0
    points_total: int = 0
    points_cached: int = 0
    points_simulated: int = 0
    simulator_runs: int = 0

    def add(self, other: dict[str, int]) -> None:
        for k, v in other.items():
            setattr(self, k, getattr(self, k) + int(v))

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Characterized:
    """A design's calibration and what its characterization cost this time."""

    key: str
    calibration: Any
    calibration_path: Path
    calibration_digest: str
    use: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """One design on the image set: per-image correctness, energy per inference, latency."""

    correct: np.ndarray
    accuracy: float
    energy_joules: float | None
    energy_regime: str
    spikes_per_inference: float
    dt_seconds: float
    latency_seconds: float
    floor_theta: float | None
    notes: tuple[str, ...] = field(default=())


def design_key(design: NeuronDesign, grid: Any) -> str:
    """The folder name of ``design`` characterized on ``grid`` under ``OUT/designs/`` (with the
    fit's version: a calibration the current fit would not produce is refitted, its SPICE points
    still come from the cache)."""
    from calib.fit import FIT_VERSION

    return content_hash({"design": design.to_dict(), "grid": grid.to_dict(),
                         "fit_version": FIT_VERSION})[:20]


def calibration_digest(cal: Any) -> str:
    """The calibration's content address (sha256 of its canonical JSON, seal excluded)."""
    from calib.calibration import content_hash as cal_hash

    return cal_hash(cal.to_dict())


class DesignEvaluator:
    """Characterize, calibrate and evaluate designs for one classifier, T and output folder."""

    def __init__(self, clf: Any, *, timesteps: int, out_dir: Path, workers: int | None = None,
                 scheduler: Any = None, batch: int = 250, progress: bool = False,
                 currents: int = 8) -> None:
        self.clf, self.timesteps, self.batch = clf, int(timesteps), int(batch)
        self.out_dir = Path(out_dir)
        self.cache_dir = self.out_dir / "cache" / "points"
        self.workers, self.scheduler, self.progress = workers, scheduler, progress
        self.use = SpiceUse()
        self.currents = int(currents)

    def characterize(self, design: NeuronDesign, grid: Any = None) -> Characterized:
        """The design's calibration at its own supplies (fitted once per design and grid)."""
        from calib import Calibration
        from circuits.characterization import characterize
        from circuits.grid import grid_points
        from circuits.point_cache import point_key
        from nmpkit.studies.calibrate import calibrate

        grid = grid if grid is not None else trial_grid(design, currents=self.currents)
        key = design_key(design, grid)
        folder = self.out_dir / "designs" / key
        cal_path = folder / "calibration.json"
        if cal_path.is_file():
            cal = Calibration.load(cal_path)
            use = {"designs_reused": 1}
        else:
            from circuits.ngspice import ngspice_version

            version = ngspice_version()
            pts = [p for ps in grid_points(design, grid).values() for p in ps]
            keys = {point_key(design, p, version) for p in pts}
            from circuits.point_cache import cache_get

            before = sum(cache_get(self.cache_dir, k) is not None for k in keys)
            paths = characterize(design, grid, folder / "tables", workers=self.workers,
                                 scheduler=self.scheduler, progress=self.progress,
                                 cache_dir=self.cache_dir)
            prov = json.loads(paths["fi"].with_suffix(".json").read_text()).get("provenance", {})
            sweep = prov.get("sweep") or {}
            cal, _ = calibrate(folder / "tables", cal_path, v_dd_volts=design.v_dd_volts,
                               v_neg_volts=design.v_neg_volts)
            use = {"designs_new": 1, "points_total": len(keys), "points_cached": before,
                   "points_simulated": int(sweep.get("computed", len(keys) - before)),
                   "simulator_runs": int(sweep.get("simulator_runs", 0)) + 1}  # + waveform
        self.use.add(use)
        return Characterized(key=key, calibration=cal, calibration_path=cal_path,
                             calibration_digest=calibration_digest(cal), use=use)

    def evaluate(self, cal: Any, design: NeuronDesign | None) -> Evaluation:
        """Run the engine with ``cal``'s neuron at ``design``'s V_NEG (None: NMP, no floor) and
        price the spikes at the design's supplies (NMP: the calibration's own)."""
        from calib.errors import CalibrationError
        from cosim.calibrated import calibrated_neurons
        from cosim.energy import energy
        from cosim.result import SimulationResult
        from nmpkit.studies.batched import simulate_batched

        v_neg = None if design is None else design.v_neg_volts
        shapes = [ly.shape for ly in self.clf.net.layers]
        neurons = calibrated_neurons(cal, shapes, v_neg_volts=v_neg)
        if self.scheduler is None:
            results = simulate_batched(self.clf.net, self.clf.x, self.clf.y, batch=self.batch,
                                       keep=True, timesteps=self.timesteps,
                                       neuron=neurons).results
        else:  # the same chunks and simulate calls, as content-addressed tasks on the cluster
            from nmpkit.studies.distributed import simulate_on

            results = simulate_on(self.scheduler, self.clf.net, self.clf.x, [neurons],
                                  batch=self.batch, timesteps=self.timesteps)[0]
        res = SimulationResult.concat(results)
        pred = res.output_counts.reshape(res.batch_size, -1).argmax(-1)  # ties: first index
        correct = (pred == self.clf.y.reshape(-1).long()).numpy().astype(bool)
        notes: list[str] = []
        e, regime = None, "unavailable"
        try:
            rep = energy(res, cal, v_dd_volts=cal.v_dd_volts if design is None
                         else design.v_dd_volts,
                         v_neg_volts=cal.v_neg_volts if v_neg is None else v_neg,
                         net=self.clf.net, inputs=self.clf.x)
            e, regime, notes = rep.total_joules, rep.regime, list(rep.notes)
        except CalibrationError as exc:
            notes.append(f"energy unavailable: {exc}")
        spikes = float(sum(float(c.double().sum()) for c in res.spike_counts)) / res.batch_size
        return Evaluation(correct=correct, accuracy=float(correct.mean()), energy_joules=e,
                          energy_regime=regime, spikes_per_inference=spikes,
                          dt_seconds=float(cal.dt_seconds),
                          latency_seconds=float(cal.dt_seconds) * self.timesteps,
                          floor_theta=None if v_neg is None else cal.floor_theta(v_neg),
                          notes=tuple(notes))


__all__ = ["Characterized", "DesignEvaluator", "Evaluation", "SpiceUse", "calibration_digest",
           "design_key", "trial_grid"]
