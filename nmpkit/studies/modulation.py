"""Device variation and the weight-modulation loop on a converted classifier.

For each σ (log-normal device-to-device spread): every Conv2d/Linear weight of the converted
network becomes a device pair (``cosim.variation``), every neuron gets gain/threshold mismatch from
the calibration (``cosim.calibrated.sample_mismatch``), all seeded. Accuracy is measured

* ideal: exact weights, nominal calibrated neurons;
* before: open-loop programmed devices, mismatched neurons;
* after: the same devices after the weight-modulation loop (``cosim.modulation``), which observes
  only firing counts of one representative neuron per row (Linear: the neuron itself; Conv2d: the
  centre neuron of each output channel — a shared kernel cannot compensate every position).

As a typed call: ``run(ModulateConfig(...)) -> ModulateResult`` with ``.save(dir)`` /
``ModulateResult.load(dir)`` (what `nmpkit modulate` and `nmpkit run`'s stage both use).

Biases stay exact (bias currents, not device pairs). The loop's target is the ideal weight; its
measurements include each row's neuron gain, threshold and transfer curve, so it compensates them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from calib.calibration import Calibration
from nmpkit.errors import ConfigError


def _weighted(net) -> list[tuple[int, int]]:
    """(layer, op) indices of the Conv2d/Linear ops (device-mapped)."""
    return [(li, oi) for li, ly in enumerate(net.layers) for oi, op in enumerate(ly.ops)
            if op.kind in ("conv2d", "linear")]


def with_weights(net, new: dict[tuple[int, int], torch.Tensor]):
    """A copy of ``net`` whose (layer, op) weights are replaced."""
    layers = []
    for li, ly in enumerate(net.layers):
        ops = tuple(op.with_tensors(new[(li, oi)].reshape(op.weight.shape), op.bias)
                    if (li, oi) in new else op for oi, op in enumerate(ly.ops))
        layers.append(dataclasses.replace(ly, ops=ops))
    return dataclasses.replace(net, layers=tuple(layers))


def _representative(gain: torch.Tensor, thr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if gain.ndim == 1:
        return gain, thr
    h, w = gain.shape[1] // 2, gain.shape[2] // 2
    return gain[:, h, w], thr[:, h, w]


def correct(net, x, y, neurons, timesteps: int, batch: int = 250) -> np.ndarray:
    """(N,) bool: image n classified right after ``timesteps`` (most output spikes, ties to the
    lowest index: the readout of ``SimulationResult.accuracy_per_step``), in batches."""
    import cosim
    from nmpkit.studies.batched import batch_slices
    from nmpkit.studies.layers_eval import final_correct

    y = torch.as_tensor(y)
    return np.concatenate([final_correct(cosim.simulate(net, x[sl], timesteps=timesteps,
                                                        neuron=neurons), y[sl])
                           for sl in batch_slices(int(x.shape[0]), batch)])


def accuracy_stats(right: np.ndarray, ideal: np.ndarray, before: np.ndarray | None = None
                   ) -> dict[str, Any]:
    """One condition's accuracy with its n and Wilson 95% interval, paired against the ideal
    weights (and, for ``after``, against ``before``) on the same images: the difference, its
    Newcombe 95% interval, the images that flip each way and McNemar's exact p."""
    from nmpkit.studies.stats import compare
    from nmpkit.studies.stats.intervals import accuracy as wilson_accuracy

    a = wilson_accuracy(right)
    out = {"samples": a.n, "correct": a.k, "accuracy": a.estimate, "ci_low": a.ci_low,
           "ci_high": a.ci_high, "vs_ideal": compare(right, ideal).as_dict()}
    if before is not None:
        out["vs_before"] = compare(right, before).as_dict()
    return out


def run_study(cal: Calibration, net, x, y, *, sigmas: Sequence[float], timesteps: int,
              v_neg_volts: float | None, seed: int = 0, levels: int = 64,
              sigma_pulse: float = 0.1, config=None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Accuracy vs σ before/after modulation, plus the loop's reports per layer."""
    from cosim.calibrated import calibrated_neuron, sample_mismatch
    from cosim.modulation import CountOracle, ModulationConfig, modulate
    from cosim.variation import DeviceModel, DevicePairArray

    config = config or ModulationConfig()
    say = progress or (lambda s: None)
    shapes = [ly.shape for ly in net.layers]
    nominal = [calibrated_neuron(cal, v_neg_volts=v_neg_volts, shape=s) for s in shapes]
    ideal_right = correct(net, x, y, nominal, timesteps)
    ideal_acc = float(ideal_right.mean())
    say(f"ideal weights, nominal neurons: accuracy {ideal_acc:.4f}")
    rows = []
    for k, sigma in enumerate(sigmas):
        g = torch.Generator().manual_seed(seed * 1000 + k)
        mism = [sample_mismatch(cal, s, generator=g) for s in shapes]
        neurons = [dataclasses.replace(n, gain=gm, threshold=th)
                   for n, (gm, th) in zip(nominal, mism)]
        model = DeviceModel(levels=levels, sigma_d2d=float(sigma), sigma_pulse=sigma_pulse)
        devices, targets = {}, {}
        for li, oi in _weighted(net):
            w = net.layers[li].ops[oi].weight.detach().float()
            targets[(li, oi)] = w.reshape(w.shape[0], -1)
            devices[(li, oi)] = DevicePairArray(targets[(li, oi)], model, generator=g)
        before_right = correct(with_weights(net, {kk: d.weights() for kk, d in devices.items()}),
                               x, y, neurons, timesteps)
        before = float(before_right.mean())
        say(f"σ={sigma:g}: before modulation {before:.4f}")
        layer_reports = []
        for (li, oi), dev in devices.items():
            t0 = time.perf_counter()
            gain, thr = _representative(*mism[li])
            oracle = CountOracle(dev, gain, thr, transfer=neurons[li].transfer)
            res = modulate(oracle, targets[(li, oi)], weight_step=dev.weight_step,
                           config=config)
            r = res.report
            w_true = dev.weights()
            eff = gain[:, None] * w_true / thr[:, None]
            layer_reports.append({
                "layer": net.layers[li].name, "synapses": r.n_synapses,
                "iterations": r.iterations, "pulses": r.pulses_total,
                "experiments": r.experiments, "tolerance": r.tolerance, "window": r.window,
                "measurement_seconds": r.measurement_steps * cal.dt_seconds,
                "estimate_error_rms_before": r.initial_error_rms,
                "estimate_error_rms_after": r.residual_error_rms,
                "true_error_rms_after": float((eff - targets[(li, oi)]).pow(2).mean().sqrt()),
                "not_converged": r.n_not_converged,
                "not_converged_first": r.not_converged[:10].tolist(),
                "seconds": time.perf_counter() - t0})
            say(f"  {net.layers[li].name}: {r.iterations} it, {r.pulses_total} pulses, "
                f"residual {r.residual_error_rms:.4g}, {r.n_not_converged} not converged")
        after_right = correct(with_weights(net, {kk: d.weights() for kk, d in devices.items()}),
                              x, y, neurons, timesteps)
        after = float(after_right.mean())
        say(f"σ={sigma:g}: after modulation {after:.4f}")
        rows.append({"sigma": float(sigma), "accuracy_before": before, "accuracy_after": after,
                     "before": accuracy_stats(before_right, ideal_right),
                     "after": accuracy_stats(after_right, ideal_right, before_right),
                     "layers": layer_reports})
    return {"ideal_accuracy": ideal_acc, "ideal": accuracy_stats(ideal_right, ideal_right),
            "rows": rows,
            "config": dataclasses.asdict(config) | {"levels": levels,
                                                    "sigma_pulse": sigma_pulse,
                                                    "v_neg_volts": v_neg_volts}}


# --- the study as a typed call: ModulateConfig -> run -> ModulateResult ------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ModulateConfig:
    """Everything `run` needs (the values of `nmpkit modulate`'s options)."""

    calibration: str
    weights: str
    data_root: str
    network: str = "mnist"
    dataset: str = "mnist"
    limit: int = 200
    timesteps: int = 200
    sigmas: tuple[float, ...] = (0.05, 0.1, 0.2)
    v_neg_volts: float | None = None
    levels: int = 64
    sigma_pulse: float = 0.1
    window: int | None = None
    tolerance: float | None = None
    max_iterations: int = 8
    max_pulses: int = 40
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        if any(s < 0 for s in self.sigmas):
            raise ConfigError(f"sigmas must be >= 0, got {list(self.sigmas)}")
        if any(not s < 1 for s in self.sigmas):  # NaN too; a relative spread, as in [variation]
            raise ConfigError(f"sigmas must be < 1 (relative spreads), got {list(self.sigmas)}")
        if self.timesteps < 1:
            raise ConfigError(f"timesteps must be >= 1, got {self.timesteps!r}")
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 2:
            raise ConfigError(f"levels must be an int >= 2, got {self.levels!r}")
        self.loop()  # the loop's own checks, now rather than after loading the data

    def loop(self):
        """The `cosim.modulation.ModulationConfig` of these values."""
        from cosim.modulation import ModulationConfig

        try:
            return ModulationConfig(window=self.window, tolerance=self.tolerance,
                                    max_iterations=self.max_iterations,
                                    pulse_budget=self.max_pulses)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc


RESULT_FILE = "modulate.json"


@dataclass(frozen=True, slots=True)
class ModulateResult:
    """The study's record (what ``modulate.json`` holds): ``ideal_accuracy``, ``rows`` (one per σ,
    each with per-layer reports), ``config``, ``ann_accuracy``, ``timesteps``, ``provenance``."""

    record: dict[str, Any]

    @property
    def ideal_accuracy(self) -> float:
        return float(self.record["ideal_accuracy"])

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self.record["rows"])

    def per_sigma(self) -> list[dict[str, Any]]:
        """One row per σ (what ``modulation.csv`` holds): accuracy ideal/before/after, the most
        iterations of any layer, the pulses, non-converged synapses and synapses of all; with
        the images (``samples``), each accuracy's Wilson 95% interval, and after − before paired
        on the same images (Newcombe 95% interval, flips each way, McNemar p), where the record
        has them (records before this version do not)."""
        out = []
        for r in self.rows:
            row = {"sigma": r["sigma"], "accuracy_ideal": self.ideal_accuracy,
                   "accuracy_before": r["accuracy_before"], "accuracy_after": r["accuracy_after"],
                   "iterations": max(ly["iterations"] for ly in r["layers"]),
                   "pulses": sum(ly["pulses"] for ly in r["layers"]),
                   "not_converged": sum(ly["not_converged"] for ly in r["layers"]),
                   "synapses": sum(ly["synapses"] for ly in r["layers"])}
            if "after" in r and "ideal" in self.record:
                b, a, i = r["before"], r["after"], self.record["ideal"]
                g = a["vs_before"]
                row |= {"samples": a["samples"],
                        "accuracy_ideal_ci_low": i["ci_low"],
                        "accuracy_ideal_ci_high": i["ci_high"],
                        "accuracy_before_ci_low": b["ci_low"],
                        "accuracy_before_ci_high": b["ci_high"],
                        "accuracy_after_ci_low": a["ci_low"],
                        "accuracy_after_ci_high": a["ci_high"],
                        "gain": g["difference"], "gain_ci_low": g["ci_low"],
                        "gain_ci_high": g["ci_high"], "flips_gained": g["a_only"],
                        "flips_lost": g["b_only"], "p_after_vs_before": g["p_value"],
                        "after_minus_ideal": a["vs_ideal"]["difference"],
                        "p_after_vs_ideal": a["vs_ideal"]["p_value"]}
            out.append(row)
        return out

    def summary(self) -> dict[str, str]:
        """σ -> one line: before → after with their 95% intervals, the paired gain, its interval,
        the flips and McNemar p, and the images (accuracies alone for older records)."""
        out = {}
        for r in self.per_sigma():
            line = f"{100 * r['accuracy_before']:.2f}% -> {100 * r['accuracy_after']:.2f}%"
            if "samples" in r:
                pct = {k: 100 * r[k] for k in (
                    "accuracy_before", "accuracy_before_ci_low", "accuracy_before_ci_high",
                    "accuracy_after", "accuracy_after_ci_low", "accuracy_after_ci_high")}
                line = (f"{pct['accuracy_before']:.2f}% ({pct['accuracy_before_ci_low']:.1f}"
                        f"-{pct['accuracy_before_ci_high']:.1f}) -> "
                        f"{pct['accuracy_after']:.2f}% ({pct['accuracy_after_ci_low']:.1f}"
                        f"-{pct['accuracy_after_ci_high']:.1f}), {100 * r['gain']:+.2f} %p "
                        f"[{100 * r['gain_ci_low']:+.2f},{100 * r['gain_ci_high']:+.2f}] "
                        f"flips {r['flips_gained']}/{r['flips_lost']} "
                        f"p={r['p_after_vs_before']:.2g} n={r['samples']}")
            out[f"sigma={r['sigma']:g}"] = line
        return out

    def per_layer(self) -> list[dict[str, Any]]:
        """One row per σ and layer (what ``modulation_layers.csv`` holds)."""
        return [{"sigma": r["sigma"], "accuracy_before": r["accuracy_before"],
                 "accuracy_after": r["accuracy_after"], **{k: ly[k] for k in (
                     "layer", "iterations", "pulses", "estimate_error_rms_before",
                     "estimate_error_rms_after", "true_error_rms_after", "not_converged")}}
                for r in self.rows for ly in r["layers"]]

    def save(self, out_dir: str | Path) -> list[Path]:
        """``modulate.json``, ``modulation.csv`` (`per_sigma`), ``modulation_layers.csv``
        (`per_layer`)."""
        import pandas as pd

        from calib.io import atomic_write_csv, atomic_write_json

        out = Path(out_dir)
        return [atomic_write_json(out / RESULT_FILE, self.record),
                atomic_write_csv(out / "modulation_layers.csv", pd.DataFrame(self.per_layer())),
                atomic_write_csv(out / "modulation.csv", pd.DataFrame(self.per_sigma()))]

    @classmethod
    def load(cls, out_dir: str | Path) -> ModulateResult:
        """The result `save` wrote into ``out_dir``."""
        import json

        path = Path(out_dir) / RESULT_FILE
        if not path.is_file():
            raise ConfigError(f"{path}: no modulation result here")
        return cls(json.loads(path.read_text(encoding="utf-8")))


def run(cfg: ModulateConfig, progress: Callable[[str], None] | None = None) -> ModulateResult:
    """Load the calibration, weights and data of ``cfg``; accuracy vs σ before/after."""
    from calib import Calibration
    from calib.io import provenance
    from nmpkit.studies.classifier import load_classifier

    cal = Calibration.load(cfg.calibration)
    v_neg = cal.v_neg_volts if cfg.v_neg_volts is None else cfg.v_neg_volts
    clf = load_classifier(network=cfg.network, weights=cfg.weights, dataset=cfg.dataset,
                          data_root=cfg.data_root, limit=cfg.limit)
    res = run_study(cal, clf.net, clf.x, clf.y, sigmas=cfg.sigmas, timesteps=cfg.timesteps,
                    v_neg_volts=v_neg, seed=cfg.seed, levels=cfg.levels,
                    sigma_pulse=cfg.sigma_pulse, config=cfg.loop(), progress=progress)
    res |= {"ann_accuracy": clf.ann_accuracy, "timesteps": cfg.timesteps,
            "provenance": provenance(command="nmpkit modulate", calibration=cfg.calibration,
                                     calibration_sources=cal.sources, seed=cfg.seed,
                                     **clf.info)}
    return ModulateResult(res)


__all__ = ["ModulateConfig", "ModulateResult", "accuracy_stats", "correct", "run", "run_study",
           "with_weights"]
