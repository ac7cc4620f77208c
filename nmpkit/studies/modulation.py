"""Device variation and the weight-modulation loop on a converted classifier.

For each σ (log-normal device-to-device spread): every Conv2d/Linear weight of the converted
network becomes a device pair (``cosim.variation``), every neuron gets gain/threshold mismatch from
the calibration (``cosim.calibrated.sample_mismatch``), all seeded. Accuracy is measured

* ideal: exact weights, nominal calibrated neurons;
* before: open-loop programmed devices, mismatched neurons;
* after: the same devices after the weight-modulation loop (``cosim.modulation``), which observes
  only firing counts of one representative neuron per row (Linear: the neuron itself; Conv2d: the
  centre neuron of each output channel — a shared kernel cannot compensate every position).

Biases stay exact (bias currents, not device pairs). The loop's target is the ideal weight; its
measurements include each row's neuron gain, threshold and transfer curve, so it compensates them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from calib.calibration import Calibration


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


def accuracy(net, x, y, neurons, timesteps: int, batch: int = 250) -> float:
    """Accuracy after ``timesteps`` over all of ``x`` (`nmpkit.studies.batched`)."""
    from nmpkit.studies.batched import simulate_batched

    run = simulate_batched(net, x, y, batch=batch, timesteps=timesteps, neuron=neurons)
    return float(run.metric[-1])


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
    ideal_acc = accuracy(net, x, y, nominal, timesteps)
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
        before = accuracy(with_weights(net, {kk: d.weights() for kk, d in devices.items()}),
                          x, y, neurons, timesteps)
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
        after = accuracy(with_weights(net, {kk: d.weights() for kk, d in devices.items()}),
                         x, y, neurons, timesteps)
        say(f"σ={sigma:g}: after modulation {after:.4f}")
        rows.append({"sigma": float(sigma), "accuracy_before": before, "accuracy_after": after,
                     "layers": layer_reports})
    return {"ideal_accuracy": ideal_acc, "rows": rows,
            "config": dataclasses.asdict(config) | {"levels": levels,
                                                    "sigma_pulse": sigma_pulse,
                                                    "v_neg_volts": v_neg_volts}}


__all__ = ["accuracy", "run_study", "with_weights"]
