"""How the co-simulation check's error at one V_NEG moves with the number of sub-steps, from
saved circuit counts (no ngspice): `bench/cosim_check_images.py --save FILE` and/or a
`nmpkit cosim-check` output folder (its image 0), against the calibrated neuron sub-stepped n
times (`cosim.substepped`), n = 1 (the step model) … 64.

    python bench/cosim_substep_sweep.py --counts runs/img.json --check-dir runs/cc60 --v-neg 0

Prints per n the per-neuron spike-count error over all images (MAE / mean circuit count), per
layer, the output layer's summed count bias (cosim − circuit) and the error per image.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calib.calibration import Calibration  # noqa: E402
from cosim import simulate, substepped  # noqa: E402
from cosim.calibrated import calibrated_neurons  # noqa: E402
from nmpkit.ml.data import load_dataset  # noqa: E402
from nmpkit.studies.cosim_check_net import small_network  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibration", default="results/calibration/calibration-default.json")
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--counts", default="", help="JSON of bench/cosim_check_images.py --save")
    ap.add_argument("--check-dir", default="", help="a cosim-check output folder (image 0)")
    ap.add_argument("--v-neg", type=float, default=0.0)
    ap.add_argument("--timesteps", type=int, default=60)
    ap.add_argument("--substeps", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    args = ap.parse_args()
    torch.set_num_threads(1)
    circ: dict[int, list[np.ndarray]] = {}
    if args.check_dir:
        import pandas as pd

        df = pd.read_csv(Path(args.check_dir) / "counts.csv")
        d = df[(df.v_neg_volts == args.v_neg) & (df["sample"] == 0)]
        circ[0] = [d[d.layer == li].sort_values("neuron").count_spice.to_numpy()
                   for li in sorted(d.layer.unique())]
    if args.counts:
        for r in json.loads(Path(args.counts).read_text()):
            if r["v_neg_volts"] == args.v_neg:
                circ[r["image"]] = [np.asarray(c) for c in r["circuit"]]
    if not circ:
        ap.error("give --counts and/or --check-dir with counts at --v-neg")
    cal = Calibration.load(args.calibration)
    ds = load_dataset("fashion-mnist", args.data_root)
    net, pool = small_network(ds.x_train, ds.y_train, hidden=20, seed=0)
    neu = calibrated_neurons(cal, [ly.shape for ly in net.layers], v_neg_volts=args.v_neg)
    for n in args.substeps:
        fine, neu_n = substepped(net, neu, n)
        err, tot, per, bias = np.zeros(2), np.zeros(2), [], 0
        for i, c in sorted(circ.items()):
            res = simulate(fine, pool(ds.x_test[i:i + 1]), timesteps=args.timesteps * n,
                           neuron=neu_n)
            s = [x[0].reshape(-1).numpy().astype(np.int64) for x in res.spike_counts]
            e = np.array([np.abs(s[li] - c[li]).sum() for li in (0, 1)])
            m = np.array([c[li].sum() for li in (0, 1)])
            err, tot, bias = err + e, tot + m, bias + int((s[1] - c[1]).sum())
            per.append(f"{100 * e.sum() / m.sum():.2f}%")
        print(f"n = {n:2d}: {len(circ)} images, {100 * err.sum() / tot.sum():.2f}% (hidden "
              f"{100 * err[0] / tot[0]:.2f}%, output {100 * err[1] / tot[1]:.2f}%, output bias "
              f"{bias:+d} spikes); per image {', '.join(per)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
