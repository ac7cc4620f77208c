"""Correlation data of an evaluation (the study's diagrams): for a few samples, the ANN activation
of every ReLU layer (and the output layer), divided by that layer's normalization scale — the same
percentile of the layer's activations over the calibration batch that the converter uses —
against the SNN firing rate (spikes / t) of the matching spiking layer at step ``t``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nmpkit.studies.evaluate_parts import EvalConfig, simulate_eval


@torch.no_grad()
def ann_activations(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs of every ReLU in forward order, then the model's output. Each (B, ...)."""
    acts: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: acts.append(o.detach().clone()))
        for m in model.modules()
        if isinstance(m, nn.ReLU)
    ]
    try:
        out = model.eval()(x)
    finally:
        for h in hooks:
            h.remove()
    return acts + [out]


def layer_scales(
    model: nn.Module, calib_x: torch.Tensor, percentile: float, batch_size: int = 250
) -> list[float]:
    """Per recorded layer (see `ann_activations`): ``percentile`` of its positive activations."""
    chunks = [
        ann_activations(model, calib_x[i : i + batch_size])
        for i in range(0, len(calib_x), batch_size)
    ]
    scales = []
    for li in range(len(chunks[0])):
        v = torch.cat([c[li].flatten() for c in chunks]).numpy()
        v = v[v > 0]  # the positive values, as the converter's data-based normalization does
        scales.append(float(np.percentile(v, percentile)) if v.size else 1.0)
    return [s if s > 0 else 1.0 for s in scales]


def correlation_data(
    model: nn.Module, net, x: torch.Tensor, calib_x: torch.Tensor, cfg: EvalConfig
) -> tuple[list[dict], list[dict]]:
    """ANN activation (normalized) vs SNN rate at ``min(cfg.correlation_at, T)`` for ``x``.

    Returns (rows, summary): rows = dicts with layer, neuron, sample, ann, snn (sampled points);
    summary = per layer its shape, Pearson r, and the mean absolute difference over all neurons.
    """
    t = min(cfg.correlation_at, cfg.timesteps)
    res = simulate_eval(net, x, t, cfg)
    acts = ann_activations(model, x)
    scales = layer_scales(model, calib_x, cfg.percentile)
    gen = np.random.default_rng(cfg.seed)
    rows: list[dict] = []
    summary: list[dict] = []
    used = 0
    for li, counts in enumerate(res.spike_counts):
        counts = torch.as_tensor(counts).float()
        # match the spiking layer to the next ANN activation of the same per-sample shape
        match = next((j for j in range(used, len(acts)) if acts[j].shape == counts.shape), None)
        if match is None:
            continue
        used = match + 1
        ann = (acts[match] / scales[match]).flatten().numpy()
        snn = (counts / t).flatten().numpy()
        r = float(np.corrcoef(ann, snn)[0, 1]) if ann.std() > 0 and snn.std() > 0 else float("nan")
        summary.append(
            {
                "layer": li,
                "ann_layer": match,
                "shape": list(counts.shape[1:]),
                "scale": scales[match],
                "pearson_r": r,
                "mean_abs_diff": float(np.abs(np.clip(ann, 0, 1) - snn).mean()),
            }
        )
        per = counts[0].numel()
        pick = gen.choice(ann.size, size=min(cfg.correlation_points, ann.size), replace=False)
        for k in np.sort(pick):
            rows.append(
                {
                    "layer": li,
                    "sample": int(k // per),
                    "neuron": int(k % per),
                    "ann_activation": float(ann[k]),
                    "snn_rate": float(snn[k]),
                }
            )
    return rows, summary


__all__ = ["ann_activations", "correlation_data", "layer_scales"]
