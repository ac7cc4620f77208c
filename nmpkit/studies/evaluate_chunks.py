"""Simulate a data set in chunks, each finished chunk kept on disk so a run resumes.

`run_chunks` is the one loop both a local evaluation (`nmpkit.studies.evaluate`) and a Dask one
(`nmpkit.studies.distributed.run_chunks_on`, which fills ``parts_dir`` first) combine chunks
with: each chunk is ``parts_dir/chunk_<start>_<size>.pt`` (`part_path`), a record of
`evaluate_parts.chunk_record`; per-step metrics are combined by sample count (accuracy) or element
count (MSE), which equals the metric over the whole set. An unreadable chunk is discarded with a
warning and recomputed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from calib.io import atomic_write
from nmpkit.studies.batched import batch_slices
from nmpkit.studies.evaluate_parts import EvalConfig, chunk_record


def part_path(parts_dir: Path, start: int, size: int) -> Path:
    """The file of the chunk of ``size`` samples from ``start``."""
    return parts_dir / f"chunk_{start:07d}_{size}.pt"


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
        part = part_path(parts_dir, start, len(xb)) if parts_dir is not None else None
        rec = _load_chunk(part, T, len(xb), snapshots) if part is not None else None
        if rec is None or (task == "classify" and "correct" not in rec):  # old parts: redo
            rec = chunk_record(net, xb, tb, cfg, task=task, snapshots=snapshots)
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


__all__ = ["part_path", "run_chunks"]
