"""The co-simulation check: one small network, transistor level in ngspice vs cosim.

A fully connected network (input → hidden → 10 outputs; ≥ 2 spiking layers, ≥ 20 neurons) is
trained here on images average-pooled to 7×7 (``cosim_check_net.small_network``), converted with
data-based normalization, and run for T steps

* in ngspice (``circuits.spice_network``): one ``if_neuron`` per neuron, layer 1 driven by constant
  currents, every later synapse a spike-gated current pulse of charge |w|·q_spike;
* in cosim with the calibrated neuron (floor at the chosen V_NEG, transfer curve, saturation), on
  the step grid (``calibrated``) and with every step in ``substeps`` sub-steps
  (``calibrated_substep``, ``cosim.substepped``): the gated model;
* in cosim with the ideal IF, uncalibrated: θ = the design's nominal reset charge q_reset, floor
  V_NEG / V_th,nominal (what the design values alone predict), and the plain network (gain 1).

Per-neuron spike counts are compared: MAE and MAE / mean circuit count (the figure of merit),
gated at ≤ 2% on the sub-stepped model (``cosim_check_result``: why the step model's error at
V_NEG = 0 is the step grid's). As a typed call: ``run(CosimCheckConfig(...)) ->
CosimCheckResult`` (``.save(dir)``/``.load``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from calib.calibration import Calibration
from nmpkit.studies.cosim_check_net import linear_ops, small_network
from nmpkit.studies.cosim_check_result import (
    COUNT_COLUMNS,
    MODEL_NOTES,
    MODELS,
    SUBSTEPS,
    CosimCheckConfig,
    CosimCheckResult,
    gate,
    summarize,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckPoint:
    """One (V_NEG, sample) comparison."""

    v_neg_volts: float
    sample: int
    circuit: list[np.ndarray]  # per layer counts
    cosim: dict[str, list[np.ndarray]]  # model -> per layer counts
    ngspice_seconds: float
    gate_seconds: float
    t_max_seconds: float  # the ngspice transient's maximum step


def _neurons(cal: Calibration, net, v_neg: float) -> dict[str, Any]:
    from cosim import IFNeuron
    from cosim.calibrated import calibrated_neurons

    design = cal.sources.get("fi", {}).get("provenance", {}).get("design", {})
    q_nom = float(design.get("q_reset_coulombs") or cal.q_spike_coulombs)
    c_tot = float(design.get("c_mem_farads", cal.c_mem_farads)) + float(
        design.get("c_fb_farads", 0.0))
    v_th_nom = q_nom / c_tot
    floor_nom = min(0.0, v_neg / v_th_nom)
    calibrated = calibrated_neurons(cal, [ly.shape for ly in net.layers], v_neg_volts=v_neg)
    return {
        "calibrated": calibrated,
        "calibrated_substep": calibrated,  # the same neurons, sub-stepped in run_check
        "ideal_nominal": IFNeuron(gain=cal.q_spike_coulombs / q_nom, lower_bound=floor_nom),
        "ideal_unit": IFNeuron(lower_bound=floor_nom),
    }


def run_check(cal: Calibration, net, inputs: torch.Tensor, *, v_neg_volts: Sequence[float],
              timesteps: int, design: dict[str, float] | None = None,
              models: str = "generic_bsim3", progress=None,
              substeps: int = SUBSTEPS) -> list[CheckPoint]:
    """Run the circuit and the cosim models for every V_NEG and input sample.

    Args:
        cal: the calibration (its design provenance gives the subcircuit parameters unless
            ``design`` is given).
        net: a converted network of Linear layers.
        inputs: (S, n_in) samples, each one circuit run per V_NEG.
        v_neg_volts: negative supplies to check.
        timesteps: T (≥ 50 for the study's check).
        substeps: sub-steps per step of the ``calibrated_substep`` model (``cosim.substepped``).
    """
    from circuits.spice_network import measure_gate_seconds, simulate_network
    from cosim import simulate, substepped

    design = design or dict(cal.sources["fi"]["provenance"]["design"])
    layers = linear_ops(net)
    w1, b1 = layers[0]

    def circuit(v: float) -> list[tuple[float, Any]]:
        """The ngspice runs of one V_NEG: the gate integral, then one network run per sample."""
        gate_s = measure_gate_seconds(design, v_dd_volts=cal.v_dd_volts, v_neg_volts=v,
                                      i_amps=0.4 * cal.i_unit_amps,
                                      q_guess_coulombs=cal.q_spike_coulombs, models=models)
        return [(gate_s, simulate_network(
            design, v_dd_volts=cal.v_dd_volts, v_neg_volts=v,
            first_currents=w1 @ inputs[s].double().numpy() + b1,
            weights=[w for w, _ in layers[1:]], biases=[b for _, b in layers[1:]],
            i_unit_amps=cal.i_unit_amps, dt_seconds=cal.dt_seconds, timesteps=timesteps,
            gate_seconds=gate_s, v_init_volts=cal.rest_at(v), models=models))
            for s in range(inputs.shape[0])]

    vs = [float(v) for v in v_neg_volts]
    # each V_NEG is its own ngspice process (one thread each): run them side by side
    workers = max(1, min(len(vs), os.cpu_count() or 1))
    out = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for v, runs in zip(vs, pool.map(circuit, vs)):
            neurons = _neurons(cal, net, v)
            for s, (gate_s, run) in enumerate(runs):
                x = inputs[s:s + 1]
                sims = {}
                for name, neuron in neurons.items():
                    n = substeps if name == "calibrated_substep" else 1
                    fine, neu = substepped(net, neuron, n)
                    res = simulate(fine, x, timesteps=timesteps * n, neuron=neu)
                    sims[name] = [c[0].reshape(-1).numpy().astype(np.int64)
                                  for c in res.spike_counts]
                out.append(CheckPoint(v_neg_volts=v, sample=s, circuit=list(run.counts),
                                      cosim=sims, ngspice_seconds=run.wall_seconds,
                                      gate_seconds=gate_s, t_max_seconds=run.t_max_seconds))
                if progress is not None:
                    progress(out[-1])
    return out


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
                       progress=progress, substeps=cfg.substeps)
    counts = [{"v_neg_volts": p.v_neg_volts, "sample": p.sample, "layer": li, "neuron": i,
               "count_spice": int(c[i]),
               **{COUNT_COLUMNS[m]: int(p.cosim[m][li][i]) for m in MODELS}}
              for p in points for li, c in enumerate(p.circuit) for i in range(len(c))]
    vs = list(cfg.v_neg_volts)
    rows = summarize(points, cfg.substeps)
    summary = {
        "summary": rows,
        "gate": gate(rows),
        "substeps": cfg.substeps,
        "models": dict(MODEL_NOTES),
        "network": {"layers": [list(ly.shape) for ly in net.layers], "inputs": 49,
                    "ann_accuracy_2000_test": acc, "dataset": cfg.dataset,
                    "data_source": ds.source},
        "timesteps": cfg.timesteps, "dt_seconds": cal.dt_seconds,
        "i_unit_amps": cal.i_unit_amps,
        "rest_volts": {str(v): cal.rest_at(v) for v in vs},
        "floor_theta": {str(v): cal.floor_theta(v) for v in vs},
        "gate_seconds": {str(p.v_neg_volts): p.gate_seconds for p in points},
        "ngspice_seconds": sum(p.ngspice_seconds for p in points),
        # the network transient's maximum step, what the reference's counts are converged to
        # (one design and dt: every run's is the same)
        "t_max_seconds": points[0].t_max_seconds,
        "provenance": provenance(command="nmpkit cosim-check", calibration=cfg.calibration,
                                 calibration_sources=cal.sources, seed=cfg.seed,
                                 hidden=cfg.hidden, samples=cfg.samples, v_neg=vs,
                                 substeps=cfg.substeps),
    }
    return CosimCheckResult(summary, counts)


__all__ = ["MODELS", "SUBSTEPS", "CheckPoint", "CosimCheckConfig", "CosimCheckResult", "gate",
           "run", "run_check", "small_network", "summarize"]
