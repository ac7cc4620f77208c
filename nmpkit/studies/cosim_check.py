"""The co-simulation check: one small network, transistor level in ngspice vs cosim.

A fully connected network (input → hidden → 10 outputs; ≥ 2 spiking layers, ≥ 20 neurons) is
trained here on images average-pooled to 7×7 (``small_network``), converted with data-based
normalization, and run for T steps

* in ngspice (``circuits.spice_network``): one ``if_neuron`` per neuron, layer 1 driven by constant
  currents, every later synapse a spike-gated current pulse of charge |w|·q_spike;
* in cosim with the calibrated neuron (floor at the chosen V_NEG, transfer curve, saturation);
* in cosim with the ideal IF, uncalibrated: θ = the design's nominal reset charge q_reset, floor
  V_NEG / V_th,nominal (what the design values alone predict), and the plain network (gain 1);
* in cosim with the calibrated neuron on a time grid ``substeps`` times finer
  (``calibrated_substep``, `substepped`: currents, biases and the transfer curve divided by
  ``substeps``, weights and threshold kept, T × ``substeps`` steps). A floor acts inside a step
  in the circuit: an inhibitory spike that meets a membrane at the floor loses its charge even
  if excitation arrives later in the same step, while the step model nets the step's inputs
  first. At V_NEG = 0 (ZMP: the floor is rest, where every reset lands) that is most of the
  per-neuron error; where the floor does not bind the finer grid is slightly worse, since the
  transfer curve (a rate map) then meets each spike's charge as an impulse.

Per-neuron spike counts are compared: MAE and MAE / mean circuit count (the figure of merit).
As a typed call: ``run(CosimCheckConfig(...)) -> CosimCheckResult`` (``.save(dir)``/``.load``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from calib.calibration import Calibration
from nmpkit.errors import ConfigError

MODELS = ("calibrated", "calibrated_substep", "ideal_nominal", "ideal_unit")
SUBSTEPS = 8
"""Default ``substeps`` of the ``calibrated_substep`` model."""


def small_network(x_train: np.ndarray, y_train: np.ndarray, *, hidden: int = 20, seed: int = 0,
                  epochs: int = 3, n_train: int = 10_000):
    """Train input(7×7) → hidden → 10 on pooled images and convert it.

    Args:
        x_train: (N, 1, 28, 28) or (N, 28, 28) uint8 images; y_train: (N,) labels.

    Returns:
        ``(net, pool)``: the converted ``cosim.SpikingNetwork`` and the function that turns
        uint8 images into its (B, 49) inputs.
    """
    from cosim import convert

    def pool(x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.asarray(x, dtype=np.float32).copy()).reshape(-1, 1, 28, 28) / 255.0
        return nn.functional.avg_pool2d(t, 4).reshape(t.shape[0], 49)

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = pool(x_train[:n_train])
    y = torch.as_tensor(np.asarray(y_train[:n_train]), dtype=torch.long)
    model = nn.Sequential(nn.Linear(49, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        for i in range(0, x.shape[0], 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return convert(model, x[:2000], percentile=99.9), pool


def _linear_ops(net) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for ly in net.layers:
        ops = [op for op in ly.ops if op.kind != "flatten"]
        if len(ops) != 1 or ops[0].kind != "linear":
            raise ValueError(f"layer {ly.name!r}: the check needs one Linear op per layer, got "
                             f"{[op.kind for op in ly.ops]}")
        w = ops[0].weight.detach().double().numpy()
        b = (np.zeros(w.shape[0]) if ops[0].bias is None
             else ops[0].bias.detach().double().numpy())
        out.append((w, b))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckPoint:
    """One (V_NEG, sample) comparison."""

    v_neg_volts: float
    sample: int
    circuit: list[np.ndarray]  # per layer counts
    cosim: dict[str, list[np.ndarray]]  # model -> per layer counts
    ngspice_seconds: float
    gate_seconds: float


def substepped(net, neuron, k: int):
    """``(net_k, neuron_k)``: ``net`` and its neuron (one ``IFNeuron`` or one per layer) on a
    grid ``k`` times finer in time.

    The input layer's weight and bias and every later layer's bias are divided by ``k`` (a
    current per step), synaptic weights of later layers are kept (a spike delivers its charge
    once), the transfer curve ``(xs, ys)`` becomes ``(xs / k, ys / k)`` without its flat
    saturation tail (linear extrapolation beyond: a spike's charge landing in one substep is an
    impulse, not a current above the maximum rate) and the refractory time ``k`` times as many
    steps; run it for ``k · T`` steps to compare with T steps of ``net``.
    """
    import dataclasses

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"substeps must be an int >= 1, got {k!r}")
    layers = []
    for li, ly in enumerate(net.layers):
        ops = []
        for op in ly.ops:
            if op.kind == "linear":
                w = op.weight / k if li == 0 else op.weight
                b = None if op.bias is None else op.bias / k
                op = op.with_tensors(w, b)
            ops.append(op)
        layers.append(dataclasses.replace(ly, ops=tuple(ops)))

    def fine(n):
        tr = n.transfer
        if tr is not None and k > 1:
            xs, ys = tr
            m = len(ys)  # drop the flat saturation tail: one spike's charge in one substep is
            while m > 2 and ys[m - 1] <= ys[m - 2]:  # an impulse, not a rate above the maximum
                m -= 1
            tr = (xs[:m] / k, ys[:m] / k)
        return dataclasses.replace(n, transfer=tr, refractory_steps=n.refractory_steps * k)

    neu = [fine(n) for n in neuron] if isinstance(neuron, list | tuple) else fine(neuron)
    return dataclasses.replace(net, layers=tuple(layers)), neu


def _neurons(cal: Calibration, net, v_neg: float) -> dict[str, Any]:
    from cosim import IFNeuron
    from cosim.calibrated import calibrated_neurons

    design = cal.sources.get("fi", {}).get("provenance", {}).get("design", {})
    q_nom = float(design.get("q_reset_coulombs") or cal.q_spike_coulombs)
    c_tot = float(design.get("c_mem_farads", cal.c_mem_farads)) + float(
        design.get("c_fb_farads", 0.0))
    v_th_nom = q_nom / c_tot
    floor_nom = min(0.0, v_neg / v_th_nom)
    shapes = [ly.shape for ly in net.layers]
    return {
        "calibrated": calibrated_neurons(cal, shapes, v_neg_volts=v_neg),
        "calibrated_substep": calibrated_neurons(cal, shapes, v_neg_volts=v_neg),
        "ideal_nominal": IFNeuron(gain=cal.q_spike_coulombs / q_nom, lower_bound=floor_nom),
        "ideal_unit": IFNeuron(lower_bound=floor_nom),
    }


def run_check(cal: Calibration, net, inputs: torch.Tensor, *, v_neg_volts: Sequence[float],
              timesteps: int, design: dict[str, float] | None = None,
              models: str = "generic_bsim3", progress=None,
              substeps: int = SUBSTEPS) -> list[CheckPoint]:
    """Run the circuit and the three cosim models for every V_NEG and input sample.

    Args:
        cal: the calibration (its design provenance gives the subcircuit parameters unless
            ``design`` is given).
        net: a converted network of Linear layers.
        inputs: (S, n_in) samples, each one circuit run per V_NEG.
        v_neg_volts: negative supplies to check.
        timesteps: T (≥ 50 for the study's check).
        substeps: time refinement of the ``calibrated_substep`` model (see `substepped`).
    """
    from circuits.spice_network import measure_gate_seconds, simulate_network
    from cosim import simulate

    design = design or dict(cal.sources["fi"]["provenance"]["design"])
    layers = _linear_ops(net)
    w1, b1 = layers[0]

    def circuit(v: float) -> list[tuple[float, Any]]:
        """The ngspice runs of one V_NEG: the gate integral, then one network run per sample."""
        gate = measure_gate_seconds(design, v_dd_volts=cal.v_dd_volts, v_neg_volts=v,
                                    i_amps=0.4 * cal.i_unit_amps,
                                    q_guess_coulombs=cal.q_spike_coulombs, models=models)
        return [(gate, simulate_network(
            design, v_dd_volts=cal.v_dd_volts, v_neg_volts=v,
            first_currents=w1 @ inputs[s].double().numpy() + b1,
            weights=[w for w, _ in layers[1:]], biases=[b for _, b in layers[1:]],
            i_unit_amps=cal.i_unit_amps, dt_seconds=cal.dt_seconds, timesteps=timesteps,
            gate_seconds=gate, v_init_volts=cal.rest_at(v), models=models))
            for s in range(inputs.shape[0])]

    vs = [float(v) for v in v_neg_volts]
    # each V_NEG is its own ngspice process (one thread each): run them side by side
    workers = max(1, min(len(vs), os.cpu_count() or 1))
    out = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for v, runs in zip(vs, pool.map(circuit, vs)):
            neurons = _neurons(cal, net, v)
            for s, (gate, run) in enumerate(runs):
                x = inputs[s:s + 1]
                sims = {}
                for name, neuron in neurons.items():
                    if name == "calibrated_substep":
                        fine, neu = substepped(net, neuron, substeps)
                        res = simulate(fine, x, timesteps=timesteps * substeps, neuron=neu)
                    else:
                        res = simulate(net, x, timesteps=timesteps, neuron=neuron)
                    sims[name] = [c[0].reshape(-1).numpy().astype(np.int64)
                                  for c in res.spike_counts]
                out.append(CheckPoint(v_neg_volts=v, sample=s, circuit=list(run.counts),
                                      cosim=sims, ngspice_seconds=run.wall_seconds,
                                      gate_seconds=gate))
                if progress is not None:
                    progress(out[-1])
    return out


def summarize(points: Sequence[CheckPoint]) -> list[dict[str, Any]]:
    """Per V_NEG and model: MAE, mean circuit count, MAE / mean count (all neurons, all layers,
    all samples) and per layer."""
    rows = []
    for v in sorted({p.v_neg_volts for p in points}, reverse=True):
        pts = [p for p in points if p.v_neg_volts == v]
        circ = np.concatenate([np.concatenate(p.circuit) for p in pts]).astype(float)
        for m in MODELS:
            sim = np.concatenate([np.concatenate(p.cosim[m]) for p in pts]).astype(float)
            mae = float(np.abs(sim - circ).mean())
            mean = float(circ.mean())
            row = {"v_neg_volts": v, "model": m, "neurons": int(circ.size), "mae": mae,
                   "mean_count": mean, "rel_mae": mae / mean if mean > 0 else math.nan}
            for li in range(len(pts[0].circuit)):
                c = np.concatenate([p.circuit[li] for p in pts]).astype(float)
                s = np.concatenate([p.cosim[m][li] for p in pts]).astype(float)
                row[f"rel_mae_layer{li}"] = (float(np.abs(s - c).mean() / c.mean())
                                             if c.mean() > 0 else math.nan)
            rows.append(row)
    return rows


# --- the study as a typed call: CosimCheckConfig -> run -> CosimCheckResult --------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CosimCheckConfig:
    """Everything `run` needs (the values of `nmpkit cosim-check`'s options)."""

    calibration: str
    data_root: str
    dataset: str = "mnist"
    hidden: int = 20
    timesteps: int = 100
    v_neg_volts: tuple[float, ...] = (0.0, -0.5)
    samples: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "v_neg_volts", tuple(float(v) for v in self.v_neg_volts))
        for name in ("timesteps", "hidden", "samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if any(not v <= 0 for v in self.v_neg_volts):  # NaN too
            raise ConfigError(f"v_neg_volts must be <= 0, got {list(self.v_neg_volts)}")


@dataclass(frozen=True, slots=True)
class CosimCheckResult:
    """``summary`` (what ``cosim_check.json`` holds: per V_NEG and model the MAE, the network,
    the calibration's units, provenance) and ``counts`` (one row per neuron and sample)."""

    summary: dict[str, Any]
    counts: list[dict[str, Any]]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self.summary["summary"])

    def save(self, out_dir: str | Path) -> list[Path]:
        """``cosim_check.json`` and ``counts.csv`` into ``out_dir``."""
        import pandas as pd

        from calib.io import atomic_write_csv, atomic_write_json

        out = Path(out_dir)
        return [atomic_write_csv(out / "counts.csv", pd.DataFrame(self.counts)),
                atomic_write_json(out / "cosim_check.json", self.summary)]

    @classmethod
    def load(cls, out_dir: str | Path) -> CosimCheckResult:
        """The result `save` wrote into ``out_dir``."""
        import json

        import pandas as pd

        out = Path(out_dir)
        if not (out / "cosim_check.json").is_file():
            raise ConfigError(f"{out}: no co-simulation check result here")
        return cls(json.loads((out / "cosim_check.json").read_text(encoding="utf-8")),
                   pd.read_csv(out / "counts.csv").to_dict("records"))


def run(cfg: CosimCheckConfig,
        progress: Callable[[CheckPoint], None] | None = None) -> CosimCheckResult:
    """Train the small network, run it in ngspice and in cosim for every V_NEG; compare."""
    from calib.io import provenance
    from nmpkit.ml.data import load_dataset

    cal = Calibration.load(cfg.calibration)
    ds = load_dataset(cfg.dataset, cfg.data_root)
    net, pool = small_network(ds.x_train, ds.y_train, hidden=cfg.hidden, seed=cfg.seed)
    x = pool(ds.x_test[:cfg.samples])
    with torch.no_grad():
        acc = float((torch.as_tensor(net.ann_forward(pool(ds.x_test[:2000]))[-1]).argmax(1)
                     == torch.as_tensor(ds.y_test[:2000])).double().mean())
    points = run_check(cal, net, x, v_neg_volts=cfg.v_neg_volts, timesteps=cfg.timesteps,
                       progress=progress)
    counts = [{"v_neg_volts": p.v_neg_volts, "sample": p.sample, "layer": li, "neuron": i,
               "count_spice": int(c[i]), "count_calibrated": int(p.cosim["calibrated"][li][i]),
               "count_ideal": int(p.cosim["ideal_nominal"][li][i]),
               "count_ideal_unit": int(p.cosim["ideal_unit"][li][i])}
              for p in points for li, c in enumerate(p.circuit) for i in range(len(c))]
    vs = list(cfg.v_neg_volts)
    summary = {
        "summary": summarize(points),
        "network": {"layers": [list(ly.shape) for ly in net.layers], "inputs": 49,
                    "ann_accuracy_2000_test": acc, "dataset": cfg.dataset,
                    "data_source": ds.source},
        "timesteps": cfg.timesteps, "dt_seconds": cal.dt_seconds,
        "i_unit_amps": cal.i_unit_amps,
        "rest_volts": {str(v): cal.rest_at(v) for v in vs},
        "floor_theta": {str(v): cal.floor_theta(v) for v in vs},
        "gate_seconds": {str(p.v_neg_volts): p.gate_seconds for p in points},
        "ngspice_seconds": sum(p.ngspice_seconds for p in points),
        "provenance": provenance(command="nmpkit cosim-check", calibration=cfg.calibration,
                                 calibration_sources=cal.sources, seed=cfg.seed,
                                 hidden=cfg.hidden, samples=cfg.samples, v_neg=vs),
    }
    return CosimCheckResult(summary, counts)


__all__ = ["MODELS", "CheckPoint", "CosimCheckConfig", "CosimCheckResult", "run", "run_check",
           "small_network", "summarize"]
