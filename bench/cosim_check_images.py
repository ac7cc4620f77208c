"""The co-simulation check on more test images than `nmpkit cosim-check`'s default one: the same
network (`small_network`, Fashion-MNIST, seed 0), images ``--first`` .. ``--first + --images - 1``
split over ``--workers`` processes (ngspice runs one image at a time per process), every model of
the check (step model, ``--substeps`` sub-steps, ideal IF) summarized over all of them.

    flock /work/heavy.lock python bench/cosim_check_images.py --v-neg 0 --first 1 --images 4

Prints per model the per-neuron spike-count error over all images and neurons (MAE / mean
circuit count), per layer and per image; ``--save FILE`` also writes every count as JSON.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _images(args: tuple) -> list:
    import torch

    from calib.calibration import Calibration
    from nmpkit.ml.data import load_dataset
    from nmpkit.studies.cosim_check import run_check, small_network

    cal_path, root, idx, v_neg, timesteps, substeps = args
    torch.set_num_threads(1)
    cal = Calibration.load(cal_path)
    ds = load_dataset("fashion-mnist", root)
    net, pool = small_network(ds.x_train, ds.y_train, hidden=20, seed=0)
    pts = []
    for i in idx:
        for p in run_check(cal, net, pool(ds.x_test[i:i + 1]), v_neg_volts=v_neg,
                           timesteps=timesteps, substeps=substeps):
            pts.append((i, p))
    return pts


def main() -> int:
    from nmpkit.studies.cosim_check import MODELS, summarize

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibration", default="results/calibration/calibration-default.json")
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--v-neg", type=float, nargs="+", default=[0.0])
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--timesteps", type=int, default=60)
    ap.add_argument("--substeps", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--save", default="", help="also write the counts (JSON) here")
    args = ap.parse_args()
    idx = list(range(args.first, args.first + args.images))
    parts = [idx[w::args.workers] for w in range(args.workers) if idx[w::args.workers]]
    with ProcessPoolExecutor(len(parts)) as ex:
        got = [q for r in ex.map(_images, [(args.calibration, args.data_root, part, args.v_neg,
                                            args.timesteps, args.substeps) for part in parts])
               for q in r]
    got.sort(key=lambda q: q[0])
    for r in summarize([p for _, p in got], args.substeps):
        print(f"V_NEG {r['v_neg_volts']:g} V  {r['model']:>18} ({r['substeps']} sub-steps): "
              f"{r['neurons']} neurons, mean count {r['mean_count']:.2f}, "
              f"error {100 * r['rel_mae']:.2f}% (hidden {100 * r['rel_mae_layer0']:.2f}%, "
              f"output {100 * r['rel_mae_layer1']:.2f}%)")
    if args.save:
        import json

        Path(args.save).write_text(json.dumps([
            {"image": i, "v_neg_volts": p.v_neg_volts,
             "circuit": [c.tolist() for c in p.circuit],
             "cosim": {m: [c.tolist() for c in p.cosim[m]] for m in MODELS}} for i, p in got]))
    for i, p in got:
        one = {r["model"]: r["rel_mae"] for r in summarize([p], args.substeps)}
        print(f"image {i} V_NEG {p.v_neg_volts:g} V: "
              + ", ".join(f"{m} {100 * one[m]:.2f}%" for m in MODELS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
