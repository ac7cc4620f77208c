"""Per-patch reconstruction error of a converted autoencoder after every timestep.

`nmpkit evaluate` keeps the MSE averaged over all patches per step; a bootstrap interval over
patches (`nmpkit.studies.stats.mean_interval`, ``ratio_interval``) needs it per patch.
`patch_mse_run` simulates the patches in chunks (`cosim.simulate` via
`nmpkit.studies.evaluate_parts.simulate_eval`) and returns, per chunk and combined:

- ``mse``: (T, N) float64, the MSE of patch n after t+1 steps, decoded as
  ``cosim.SimulationResult.mse_per_step`` decodes (output spikes up to t / t × output scale), so
  ``mse.mean(1)`` equals that method's value over the same patches;
- ``snapshots``: {t: (N, C, p, p) float32} decoded outputs at the requested steps;
- ``layer_rates``: mean spikes per neuron per step of every spiking layer over all patches, and
  ``spike_counts`` of the first ``keep_counts`` patches (for correlation diagrams at t = T).

Each finished chunk is written atomically to ``parts_dir/chunk_<start>_<size>.pt`` and reused
when the call is repeated (a killed run resumes), keyed by the caller's choice of folder.

Example::

    run = patch_mse_run(net, patches, EvalConfig(timesteps=750, lower_bound=None),
                        snapshots=(50, 750), parts_dir=Path("runs/ae/nmp"))
    stats.mean_interval(run.mse[-1])         # MSE at t = 750 with a 95% interval over patches
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from calib.io import atomic_write
from nmpkit.errors import ConfigError
from nmpkit.studies.batched import batch_slices
from nmpkit.studies.evaluate_parts import EvalConfig, decoded_output, simulate_eval


@dataclass(frozen=True, slots=True)
class PatchRun:
    """What `patch_mse_run` measured (see the module docstring)."""

    mse: np.ndarray
    layer_rates: list[float]
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    spike_counts: list[np.ndarray] = field(default_factory=list)


def mse_per_patch(output_spikes: torch.Tensor, scale: float, target: torch.Tensor,
                  block: int = 4) -> torch.Tensor:
    """(T, B) float64 MSE per sample and step from ``output_spikes`` (T, B, ...) and ``target``
    (B, ...): estimate after t steps = spikes up to t / t × ``scale``."""
    T, B = int(output_spikes.shape[0]), int(output_spikes.shape[1])
    if target.shape[0] != B or target[0].numel() != output_spikes[0, 0].numel():
        raise ConfigError(f"target must be ({B}, {tuple(output_spikes.shape[2:])}), got "
                          f"{tuple(target.shape)}")
    tgt = target.reshape(B, -1).double().cpu()
    t = torch.arange(1, T + 1, dtype=torch.float64).reshape(-1, 1, 1)
    out = torch.empty(T, B, dtype=torch.float64)
    for b0 in range(0, B, block):
        spk = output_spikes[:, b0:b0 + block].reshape(T, -1, tgt.shape[1])
        est = spk.to(torch.int32).cumsum(0).double() / t * float(scale)
        out[:, b0:b0 + block] = ((est - tgt[b0:b0 + block]) ** 2).mean(-1)
    return out


def _load(part: Path, n: int, T: int) -> dict | None:
    if not part.is_file():
        return None
    try:
        rec = torch.load(part, weights_only=True)
        if rec.get("n") == n and tuple(rec["mse"].shape) == (T, n):
            return rec
    except Exception:  # a truncated or foreign file: recompute it
        pass
    part.unlink(missing_ok=True)
    return None


def patch_mse_run(net, x: torch.Tensor, cfg: EvalConfig, *, snapshots: tuple[int, ...] = (),
                  parts_dir: Path | None = None, keep_counts: int = 0,
                  progress: Callable[[int], None] | None = None) -> PatchRun:
    """Simulate patches ``x`` (N, C, p, p) for ``cfg.timesteps`` steps with ``cfg``'s floor;
    the target is ``x`` itself. Chunks of ``cfg.batch_size`` patches (see the module docstring).
    """
    T, n = cfg.timesteps, len(x)
    steps = tuple(sorted({int(s) for s in snapshots if 1 <= int(s) <= T}))
    if parts_dir is not None:
        parts_dir.mkdir(parents=True, exist_ok=True)
    mse, snaps, counts = [], [], []
    rates = None
    for sl in batch_slices(n, cfg.batch_size):
        xb = x[sl]
        part = None if parts_dir is None else parts_dir / f"chunk_{sl.start:06d}_{len(xb)}.pt"
        rec = None if part is None else _load(part, len(xb), T)
        if rec is None or (steps and "snap" not in rec) \
                or (sl.start < keep_counts and "counts" not in rec):
            res = simulate_eval(net, xb, T, cfg)
            rec = {"n": len(xb), "mse": mse_per_patch(res.output_spikes, res.output_scale, xb),
                   "rates": torch.tensor([float(torch.as_tensor(r).double().mean())
                                          for r in res.layer_rates], dtype=torch.float64)}
            if steps:
                rec["snap"] = torch.stack([decoded_output(res, s) for s in steps])
            if sl.start < keep_counts:
                rec["counts"] = [torch.as_tensor(c).to(torch.int32) for c in res.spike_counts]
            if part is not None:
                atomic_write(part, lambda tmp, rec=rec: torch.save(rec, tmp))
        mse.append(rec["mse"].numpy())
        r = rec["rates"].numpy() * rec["n"]
        rates = r if rates is None else rates + r
        if steps:
            snaps.append(rec["snap"].numpy())
        if sl.start < keep_counts:
            counts.append(rec["counts"])
        if progress:
            progress(rec["n"])
    spike_counts = [np.concatenate([c[li].numpy() for c in counts])[:keep_counts]
                    for li in range(len(counts[0]))] if counts else []
    snap = np.concatenate(snaps, axis=1) if snaps else None
    return PatchRun(mse=np.concatenate(mse, axis=1), layer_rates=list(rates / n),
                    snapshots={s: snap[i] for i, s in enumerate(steps)} if snaps else {},
                    spike_counts=spike_counts)


__all__ = ["PatchRun", "mse_per_patch", "patch_mse_run"]
