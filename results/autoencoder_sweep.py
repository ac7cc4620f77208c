"""The autoencoder's floor sweep as one K-variant pass per chunk (`results/autoencoder_study.py`).

Every floor of a sweep is one neuron variant of ``cosim.simulate_variants``: one pass over each
chunk of patches shares the input current, the weights and the first layer's spikes (a constant
input current never both fires and meets a floor), which K separate ``cosim.simulate`` calls
would each redo. The per-patch MSE after every step is ``nmpkit.studies.patch_mse.mse_per_patch``
of each variant's output spikes, as `patch_mse_run` computes it for one floor. Finished chunks are
written atomically to ``parts_dir/chunk_<start>_<size>.pt`` (all floors of the chunk) and reused
when the call is repeated with the same folder (the caller keys it by the settings).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from calib.io import atomic_write, atomic_write_json, atomic_write_npz
from nmpkit.studies.batched import batch_slices
from nmpkit.studies.patch_mse import PatchRun, mse_per_patch


def _load(part: Path, n: int, T: int, k: int) -> dict | None:
    if not part.is_file():
        return None
    try:
        rec = torch.load(part, weights_only=True)
        if rec.get("n") == n and tuple(rec["mse"].shape) == (k, T, n):
            return rec
    except Exception:  # a truncated or foreign file: recompute it
        pass
    part.unlink(missing_ok=True)
    return None


def sweep_variants(net, x: torch.Tensor, floors: list[float], timesteps: int, *,
                   batch_size: int, memory_gb: float = 1.0,
                   parts_dir: Path | None = None) -> dict[float, PatchRun]:
    """Patches ``x`` (N, C, p, p) simulated for ``timesteps`` steps with every floor of
    ``floors`` (θ, each ≤ 0) in one ``cosim.simulate_variants`` pass per chunk of
    ``batch_size`` patches: {floor: PatchRun(mse (T, N), layer_rates)}."""
    import cosim

    neurons = [cosim.IFNeuron(lower_bound=float(f)) for f in floors]
    K, T, n = len(floors), timesteps, len(x)
    if parts_dir is not None:
        parts_dir.mkdir(parents=True, exist_ok=True)
    mse: list[np.ndarray] = []
    rates = np.zeros((K, 0))
    for sl in batch_slices(n, batch_size):
        xb = x[sl]
        part = None if parts_dir is None else parts_dir / f"chunk_{sl.start:06d}_{len(xb)}.pt"
        rec = None if part is None else _load(part, len(xb), T, K)
        if rec is None:
            res = cosim.simulate_variants(net, xb, neurons=neurons, timesteps=T,
                                          memory_budget_bytes=int(memory_gb * 2**30))
            rec = {"n": len(xb),
                   "mse": torch.stack([mse_per_patch(r.output_spikes, r.output_scale, xb)
                                       for r in res]),
                   "rates": torch.tensor([[float(torch.as_tensor(v).double().mean())
                                           for v in r.layer_rates] for r in res],
                                         dtype=torch.float64)}
            if part is not None:
                atomic_write(part, lambda tmp, rec=rec: torch.save(rec, tmp))
        mse.append(rec["mse"].numpy())
        r = rec["rates"].numpy() * rec["n"]
        rates = r if rates.shape[1] == 0 else rates + r
    allm = np.concatenate(mse, axis=2)
    return {f: PatchRun(mse=allm[k], layer_rates=list(rates[k] / n)) for k, f in enumerate(floors)}


def load_main_runs(out: Path) -> tuple[dict, dict[str, PatchRun]]:
    """The saved summary and the NMP / ZMP runs (per-patch MSE as float32 in per_patch_mse.npz,
    layer rates from summary.json) of an earlier full run in ``out``: what ``--sweep-only``
    pairs a new sweep with instead of rerunning them."""
    import json

    try:
        s = json.loads((out / "summary.json").read_text())
        arr = np.load(out / "per_patch_mse.npz")
        runs = {b: PatchRun(mse=arr[f"{b}_mse"].astype(np.float64),
                            layer_rates=list(s["layer_rates"][b])) for b in ("nmp", "zmp")}
    except (OSError, KeyError, ValueError) as e:
        raise SystemExit(f"--sweep-only: expected a full run's summary.json and per_patch_mse.npz"
                         f" in {out}, got {type(e).__name__}: {e}") from None
    return s, runs


def write_sweep_only(out: Path, saved: dict, sweeps: list, plans, sweep_runs) -> None:
    """summary.json with the new sweeps (each with its own provenance; the rest as saved) and
    per_patch_mse.npz with the new sweeps' arrays added (a replaced T's old arrays dropped)."""
    saved = dict(saved, sweeps=sweeps)  # the main runs' command and provenance stay
    new_ts = {T2 for T2, _, _ in plans}
    old = dict(np.load(out / "per_patch_mse.npz"))
    arrays = {k: v for k, v in old.items()
              if not any(k.startswith(f"sweep_T{t}_") for t in new_ts)}
    arrays |= {f"sweep_T{T2}_every{K}_floor{f:g}_mse": r.mse.astype(np.float32)
               for (T2, K, _), sr in zip(plans, sweep_runs, strict=True) for f, r in sr.items()}
    atomic_write_json(out / "summary.json", saved)
    atomic_write_npz(out / "per_patch_mse.npz", arrays, compressed=True)


__all__ = ["load_main_runs", "sweep_variants", "write_sweep_only"]
