"""Why the co-simulation check at V_NEG = 0 (ZMP) stays above 2 % with a step model: the ideal
IF network of the check (``nmpkit.studies.cosim_check_net.small_network``, Fashion-MNIST,
49 → 20 → 10, T = 60, floor 0 θ, reset by subtraction) on the step grid against the same network
in continuous time (``--n-sub`` substeps per step, spikes delivered as impulses at their
substep), no circuit.

    python bench/zmp_step_order.py [--images 12] [--n-sub 400]

Prints per image and overall the per-neuron spike-count error (MAE / mean continuous-time count,
both layers) of rules for a step's inputs: ``step`` (net the step's inputs, clamp once: cosim's
rule), ``inh_first`` (the step's inhibitory spikes, clamp, then its excitatory ones), ``half``
(half the inhibition before the excitation, half after), ``random`` (the step's spikes one at a
time in random order, clamping after each), ``dt/8`` (the step grid 8 times finer). The hidden
layer (constant currents) is the same in all; only the order of spikes inside a step differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nmpkit.ml.data import load_dataset  # noqa: E402
from nmpkit.studies.cosim_check_net import linear_ops, small_network  # noqa: E402

RULES = ("step", "inh_first", "half", "random", "dt/8")


def fine(i1, w2, b2, *, floor: float, timesteps: int, n_sub: int):
    """Both layers on a grid ``n_sub`` times finer: currents / n_sub, spikes as impulses."""
    v1, v2 = np.zeros(i1.size), np.zeros(b2.size)
    c1, c2 = np.zeros(i1.size, int), np.zeros(b2.size, int)
    for _ in range(timesteps * n_sub):
        v1 = np.maximum(v1 + i1 / n_sub, floor)
        s1 = v1 >= 1
        v1[s1] -= 1
        c1 += s1
        v2 = np.maximum(v2 + b2 / n_sub + w2 @ s1, floor)
        s2 = v2 >= 1
        v2[s2] -= 1
        c2 += s2
    return np.concatenate([c1, c2])


def stepped(i1, w2, b2, *, floor: float, timesteps: int, rule: str, rng):
    if rule == "dt/8":
        return fine(i1, w2, b2, floor=floor, timesteps=timesteps, n_sub=8)
    v1, v2 = np.zeros(i1.size), np.zeros(b2.size)
    c1, c2 = np.zeros(i1.size, int), np.zeros(b2.size, int)
    wn, wp = np.minimum(w2, 0), np.maximum(w2, 0)
    for _ in range(timesteps):
        v1 = np.maximum(v1 + i1, floor)
        s1 = v1 >= 1
        v1[s1] -= 1
        c1 += s1
        if rule == "step":
            v2 = np.maximum(v2 + b2 + w2 @ s1, floor)
        elif rule == "inh_first":
            v2 = np.maximum(v2 + b2 + wn @ s1, floor) + wp @ s1
        elif rule == "half":
            v2 = np.maximum(np.maximum(v2 + b2 + wn @ s1 / 2, floor) + wp @ s1 + wn @ s1 / 2,
                            floor)
        else:  # random
            idx = np.nonzero(s1)[0]
            rng.shuffle(idx)
            v2 = np.maximum(v2 + b2, floor)
            for j in idx:
                v2 = np.maximum(v2 + w2[:, j], floor)
        s2 = v2 >= 1
        v2[s2] -= 1
        c2 += s2
    return np.concatenate([c1, c2])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--n-sub", type=int, default=400)
    ap.add_argument("--timesteps", type=int, default=60)
    ap.add_argument("--floor", type=float, default=0.0)
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset("fashion-mnist", args.data_root)
    net, pool = small_network(ds.x_train, ds.y_train, hidden=20, seed=0)
    (w1, b1), (w2, b2) = linear_ops(net)
    rng = np.random.default_rng(0)
    err = {r: 0.0 for r in RULES}
    total = 0.0
    for img in range(args.images):
        i1 = w1 @ pool(ds.x_test[img:img + 1])[0].double().numpy() + b1
        ref = fine(i1, w2, b2, floor=args.floor, timesteps=args.timesteps, n_sub=args.n_sub)
        total += ref.sum()
        row = []
        for r in RULES:
            c = stepped(i1, w2, b2, floor=args.floor, timesteps=args.timesteps, rule=r, rng=rng)
            err[r] += float(np.abs(c - ref).sum())
            row.append(f"{r} {np.abs(c - ref).mean() / ref.mean():.2%}")
        print(f"image {img}: mean count {ref.mean():.2f}; " + ", ".join(row))
    print(f"all {args.images} images ({args.images * ref.size} neurons): "
          + ", ".join(f"{r} {err[r] / total:.2%}" for r in RULES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
