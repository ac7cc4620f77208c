"""`nmpkit tradeoff` locally against the same run on a Dask ``LocalCluster`` (2 worker
processes, 1 thread each), one run each, in one process; the tables must be equal.

Run under the lock (a CPU-heavy job):

    flock /work/heavy.lock .venv/bin/python bench/dask_localcluster.py \\
        --data-root /work/shared/datasets/mnist.npz --limit 500 --timesteps 100

The local run uses 2 torch threads (both cores, like the cluster's 2 workers). The cluster run
includes the client's start, the scatter of network and images and the gathering of the
results, but not the cluster's start (reported apart): what a user with a running cluster sees.
Part files go to fresh temporary folders, so neither run reuses the other's chunks.

Session 21 (2 cores, under the lock; MNIST net, calibration-default, 500 images, T 100, V_DD
0.8 V, V_NEG 0 V and the -0.5 / -1 θ floors: 4 rows, 4 chunks of 125): local 71.5 s,
LocalCluster 49.2 s (cluster start 4.0 s apart), ratio 0.69, tables equal.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nmpkit.studies.tradeoff import TradeoffConfig, run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calibration", default="results/calibration/calibration-default.json")
    p.add_argument("--weights", default="nmpkit/weights/mnist.pt")
    p.add_argument("--data-root", required=True)
    p.add_argument("--limit", type=int, default=500)
    p.add_argument("--timesteps", type=int, nargs="+", default=[100])
    p.add_argument("--v-neg", type=float, nargs="+", default=[0.0])
    p.add_argument("--v-dd", type=float, nargs="+", default=[0.8])
    p.add_argument("--energy-samples", type=int, default=250)
    p.add_argument("--batch", type=int, default=125)
    a = p.parse_args(argv)
    from distributed import LocalCluster

    cfg = TradeoffConfig(calibration=a.calibration, weights=a.weights, data_root=a.data_root,
                         limit=a.limit, timesteps=tuple(a.timesteps), v_neg_volts=tuple(a.v_neg),
                         v_dd_volts=tuple(a.v_dd), energy_samples=a.energy_samples,
                         batch=a.batch)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        local = run(cfg, parts_dir=Path(tmp) / "local")
        t_local = time.perf_counter() - t0
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster:
            t_start = time.perf_counter() - t0
            t0 = time.perf_counter()
            on = run(replace(cfg, scheduler=cluster.scheduler_address),
                     parts_dir=Path(tmp) / "dask")
            t_dask = time.perf_counter() - t0
    a_df, b_df = local.frame(), on.frame()
    equal = a_df.equals(b_df)
    print(f"tradeoff {a.limit} images, T {a.timesteps}, V_NEG {a.v_neg}, V_DD {a.v_dd}, "
          f"{len(a_df)} rows, batch {a.batch}")
    print(f"local (2 torch threads):                {t_local:7.1f} s")
    print(f"LocalCluster (2 workers x 1 thread):    {t_dask:7.1f} s  "
          f"(cluster start {t_start:.1f} s apart)")
    print(f"ratio cluster / local:                  {t_dask / t_local:7.2f}")
    print(f"tables equal: {equal}")
    return 0 if equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
