"""Evaluate a trained zoo network as a converted SNN: accuracy or MSE after every timestep.

The ANN is converted once (`cosim.convert`, data-based normalization on a calibration batch of
training samples) and simulated in chunks (`cosim.simulate`); each finished chunk is stored under
``OUT.parts-<key>/`` as ``chunk_<start>_<size>.pt`` so a killed evaluation resumes where it
stopped, and a longer ``--limit`` reuses the chunks a shorter one finished. Per-step metrics of the
chunks are combined by sample count (accuracy) or by element count (MSE), which equals the
metric over the whole set.

Correlation data (the study's diagrams): for a few samples, the ANN activation of every ReLU
layer (and the output layer), divided by that layer's normalization scale — the same percentile
of the layer's activations over the calibration batch that the converter uses — against the SNN
firing rate (spikes / t) of the matching spiking layer at step ``t``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from calib.io import atomic_write, content_hash
from nmpkit.errors import ConfigError
from nmpkit.studies.batched import batch_slices, metric_per_step


def parse_lower_bound(text: str) -> float | None:
    """``nmp`` → None (no floor), ``zmp`` → 0.0, a float ≤ 0 → that floor in threshold units."""
    t = text.strip().lower()
    if t == "nmp":
        return None
    if t == "zmp":
        return 0.0
    try:
        v = float(t)
    except ValueError:
        raise ConfigError(f"--lower-bound must be nmp, zmp or a float <= 0, got {text!r}") from None
    if not math.isfinite(v) or v > 0:
        raise ConfigError(f"--lower-bound must be nmp, zmp or a finite float <= 0, got {text!r}")
    return v


def bound_label(lb: float | None) -> str:
    """Human label of a lower bound: NMP, ZMP or the floor value."""
    return "NMP" if lb is None else ("ZMP" if lb == 0 else f"{lb:g}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalConfig:
    """Options of one SNN evaluation."""

    timesteps: int
    lower_bound: float | None
    batch_size: int = 500
    percentile: float = 99.99
    calibration_samples: int = 1000
    correlation_at: int = 300  # clipped to timesteps
    correlation_samples: int = 16
    correlation_points: int = 3000  # per layer, sampled at random (seeded)
    seed: int = 0
    device: str = "cpu"  # where cosim.simulate runs ("cuda" on a GPU)
    memory_budget_gb: float = 1.0  # cosim.simulate's working-memory bound per call

    def __post_init__(self) -> None:
        if not 1 <= self.timesteps <= 100_000:  # past 10^5 the buffers outgrow memory
            raise ConfigError(f"timesteps must be in 1..100000, got {self.timesteps!r}")
        for name in ("correlation_at", "correlation_samples"):
            if getattr(self, name) < (1 if name == "correlation_at" else 0):
                raise ConfigError(f"{name} must be >= {1 if name == 'correlation_at' else 0}, "
                                  f"got {getattr(self, name)!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size!r}")
        if not 0 < self.percentile <= 100:
            raise ConfigError(f"percentile must be in (0, 100], got {self.percentile!r}")
        if self.calibration_samples < 1:
            raise ConfigError(f"calibration_samples must be >= 1, got {self.calibration_samples!r}")
        if not (math.isfinite(self.memory_budget_gb) and self.memory_budget_gb > 0):
            raise ConfigError(f"memory_budget_gb must be > 0, got {self.memory_budget_gb!r}")
        from nmpkit.ml.train import resolve_device

        resolve_device(self.device)


def convert_normalized(model: nn.Module, calib_x: torch.Tensor, cfg: EvalConfig):
    """`cosim.convert` with data-based normalization on ``calib_x`` (N, C, H, W)."""
    import cosim

    return cosim.convert(model.eval(), calib_x, percentile=cfg.percentile)


def _simulate(net, x: torch.Tensor, timesteps: int, cfg: EvalConfig):
    import cosim

    return cosim.simulate(
        net,
        x,
        timesteps=timesteps,
        lower_bound=cfg.lower_bound,
        device=cfg.device,
        memory_budget_bytes=int(cfg.memory_budget_gb * 2**30),
    )


def _load_chunk(part: Path, T: int, n: int, snapshots) -> dict[str, Any] | None:
    """A finished chunk, or None when there is none or it is unreadable (empty, truncated, the
    wrong shape): then it is discarded with a one-line warning and recomputed."""
    if not part.is_file():
        return None
    try:
        rec = torch.load(part, weights_only=True)
        ok = (isinstance(rec, dict) and rec.get("n") == n
              and tuple(rec["metric"].shape) == (T,) and "rates" in rec
              and (not snapshots or "snap" in rec))
    except Exception:  # EOFError on 0 bytes, zip/pickle errors, missing keys
        ok = False
    if ok:
        return rec
    warnings.warn(f"discarding the unreadable evaluation chunk {part.name}; recomputing it",
                  RuntimeWarning, stacklevel=3)
    part.unlink(missing_ok=True)
    return None


def run_chunks(
    net,
    x: torch.Tensor,
    target: torch.Tensor,
    cfg: EvalConfig,
    *,
    task: str,
    parts_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    snapshots: tuple[int, ...] = (),
) -> dict:
    """Simulate ``x`` in chunks; returns ``{"metric": (T,) array, "layer_rates": [...], ...}``.

    ``task`` "classify": ``target`` are labels, metric = accuracy per step, and ``"correct"``:
    (T, N) bool, per sample and step (for paired tests).
    ``task`` "reconstruct": ``target`` are images like ``x``, metric = MSE per step; with
    ``snapshots``, also ``"snapshots": {t: (N, *out_shape) decoded output after t steps}``
    (output spikes up to t / t × the output's normalization scale).
    """
    n, T = len(x), cfg.timesteps
    total = np.zeros(T, dtype=np.float64)
    rates_sum: list[float] | None = None
    snaps: list[torch.Tensor] = []
    correct: list[torch.Tensor] = []
    if parts_dir is not None:
        parts_dir.mkdir(parents=True, exist_ok=True)
    for sl in batch_slices(n, cfg.batch_size):
        start, xb, tb = sl.start, x[sl], target[sl]
        name = f"chunk_{start:07d}_{len(xb)}.pt"
        part = parts_dir / name if parts_dir is not None else None
        rec = _load_chunk(part, T, len(xb), snapshots) if part is not None else None
        if rec is None or (task == "classify" and "correct" not in rec):  # old parts: redo
            res = _simulate(net, xb, T, cfg)
            per = metric_per_step(res, tb, task)
            rates = [float(torch.as_tensor(r).double().mean()) for r in res.layer_rates]
            rec = {
                "metric": torch.as_tensor(per, dtype=torch.float64).reshape(T),
                "rates": torch.tensor(rates, dtype=torch.float64),
                "n": len(xb),
            }
            if task == "classify":
                rec["correct"] = correct_per_step(res, tb)
            if snapshots:
                rec["snap"] = torch.stack([decoded_output(res, t) for t in snapshots])
            if part is not None:
                atomic_write(part, lambda tmp, rec=rec: torch.save(rec, tmp))
        if task == "classify":
            correct.append(rec["correct"])
        total += rec["metric"].numpy() * rec["n"]
        r = rec["rates"].numpy() * rec["n"]
        rates_sum = r if rates_sum is None else rates_sum + r
        if snapshots:
            snaps.append(rec["snap"])
        if progress:
            progress(rec["n"])
    out = {"metric": total / n, "layer_rates": (rates_sum / n).tolist() if n else []}
    if correct:
        out["correct"] = torch.cat(correct, dim=1)
    if snapshots:
        cat = torch.cat(snaps, dim=1)
        out["snapshots"] = {t: cat[i] for i, t in enumerate(snapshots)}
    return out


def correct_per_step(res, labels: torch.Tensor) -> torch.Tensor:
    """(T, B) bool: sample b classified right after t+1 steps (most output spikes; ties go to
    the lowest index, as ``SimulationResult.accuracy_per_step(ties="first")``)."""
    labels = torch.as_tensor(labels).reshape(-1).long().cpu()
    spk = res.output_spikes.reshape(res.timesteps, res.batch_size, -1)
    return spk.to(torch.int32).cumsum(0).argmax(-1) == labels


def decoded_output(res, t: int) -> torch.Tensor:
    """(B, *out_shape) float32: output spikes in the first ``t`` steps / t × output scale."""
    counts = res.output_spikes[:t].sum(0, dtype=torch.float32)
    return counts / t * float(res.output_scale)


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
    res = _simulate(net, x, t, cfg)
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


def config_key(**parts: object) -> str:
    """Short content hash (``calib.io.content_hash``) of all that changes a chunk's result."""
    return content_hash(parts)[:12]


__all__ = [
    "EvalConfig",
    "ann_activations",
    "bound_label",
    "config_key",
    "convert_normalized",
    "correct_per_step",
    "correlation_data",
    "decoded_output",
    "layer_scales",
    "parse_lower_bound",
    "run_chunks",
]
