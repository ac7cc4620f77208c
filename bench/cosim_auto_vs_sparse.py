"""Auto against sparse, interleaved in one process (does the auto schedule's probe cost time?).

    flock /work/heavy.lock env NMPKIT_DATA=DIR python bench/cosim_auto_vs_sparse.py

The MNIST bench network on ``--batch`` test images (256), ``--timesteps`` (100), ``--threads``
(2): ``--pairs`` pairs of
``simulate(..., schedule="auto")`` and ``schedule="sparse"`` back to back, wall seconds each.
``bench/bench_cosim.py`` times each schedule's reps together, so a process's first-call costs and
the machine's drift land on whichever it measures first; interleaving shows the probe's own cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cosim_model import add_common_arguments, get_model, load_mnist  # noqa: E402

import cosim  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--pairs", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d = load_mnist(a.data)
    model, _ = get_model(d, a.weights, a.cache_dir)
    net = cosim.convert(model, calibration_inputs=d["x_train"][:1000], percentile=99.99)
    x = d["x_test"][:a.batch]
    for k in range(a.pairs):
        row = []
        for sched in ("auto", "sparse"):
            t0 = time.perf_counter()
            cosim.simulate(net, x, timesteps=a.timesteps, schedule=sched)
            row.append(f"{sched} {time.perf_counter() - t0:.3f} s")
        print(f"pair {k}: " + ", ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
