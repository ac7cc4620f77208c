"""Peak resident memory of an evaluation (calls of ``cosim.simulate`` on C samples) vs N and T.

Run under the lock (a CPU-heavy job):

    flock /work/heavy.lock env NMPKIT_DATA=/work/shared/datasets PYTHONPATH=. \\
        .venv/bin/python bench/cosim_memory.py

Each row is a fresh process (``--child``) that loads the net (MNIST 20C3-50C5-FC500-FC10 of
``bench/cosim_model.py``, or the CIFAR-10 All-CNN-C of ``bench/cosim_cifar.py``), then simulates
the first N test images for T steps in calls of C samples (``nmpkit evaluate``'s way: its
``--batch-size`` is 500), keeping each sample's final prediction, as an evaluation does.
It reports the resident peak while simulating (``VmHWM``, reset after loading: Python, torch,
the data set and the net resident, plus the engine) and, apart, the peak while loading (the
conversion's calibration pass). The engine bounds one call by ``memory_budget_bytes`` (1 GiB:
outputs + one batch chunk's working memory, the chunk shrinking with the outputs); nothing
carries over between calls but the predictions (N int64), so the peak is that of one call:
the rows vary N (1 or 2 calls) and T to show it.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_timing import proc_status  # noqa: E402

import cosim  # noqa: E402

# (net, N samples, C per call, T): N in 1 and 2 calls, T = 100 / 300 / 1000.
PLAN = (("mnist", 500, 500, 100), ("mnist", 1000, 500, 100), ("mnist", 500, 500, 300),
        ("mnist", 500, 500, 1000), ("cifar10", 500, 500, 10), ("cifar10", 1000, 500, 10),
        ("cifar10", 48, 48, 100), ("cifar10", 48, 48, 300), ("cifar10", 48, 48, 1000))


def _load(net_name: str, n: int, data_dir: Path) -> tuple[cosim.SpikingNetwork, torch.Tensor]:
    if net_name == "cifar10":
        from cosim_cifar import WEIGHTS
        from cosim_cifar import load as load_cifar

        args = argparse.Namespace(data=data_dir / "cifar10.npz", weights=WEIGHTS, batch=n)
        net, x, _, _ = load_cifar(args)
        return net, x
    from cosim_model import get_model, load_mnist

    data = load_mnist(data_dir / "mnist.npz")
    model, _ = get_model(data, None, Path("/tmp/nmpkit-bench"))
    net = cosim.convert(model, data["x_train"][:1000], percentile=99.99)
    return net, data["x_test"][:n].clone()


def child(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    net, x = _load(args.net, args.samples, args.data_dir)
    if x.shape[0] < args.samples:
        raise SystemExit(f"--samples {args.samples}: the test set has {x.shape[0]}")
    gc.collect()
    load_peak = proc_status("VmHWM")  # the peak while loading (the data set, the conversion)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = proc_status("VmRSS")
    preds = torch.empty(args.samples, dtype=torch.int64)
    chunks = set()
    t0 = time.perf_counter()
    for c0 in range(0, args.samples, args.call):
        res = cosim.simulate(net, x[c0:c0 + args.call], timesteps=args.timesteps)
        preds[c0:c0 + res.batch_size] = res.predictions_membrane[-1].long() \
            if res.predictions_membrane is not None else res.output_counts.argmax(1)
        chunks.add(res.schedule["chunk_size"])
        del res
    secs = time.perf_counter() - t0
    peak = max(proc_status("VmHWM"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    print(json.dumps({"peak": peak, "base": base, "load_peak": load_peak,
                      "chunks": sorted(chunks), "seconds": secs}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="the datasets' folder (default: $NMPKIT_DATA)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="mnist or cifar10: that net's rows only")
    ap.add_argument("--child", nargs=4, metavar=("NET", "N", "C", "T"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    from nmpkit.ml.data import data_dir

    args.data_dir = data_dir(args.data_dir)
    if args.child:
        args.net, n, c, t = args.child
        args.samples, args.call, args.timesteps = int(n), int(c), int(t)
        return child(args)
    print(f"# peak memory of evaluations, 1 GiB engine budget, {args.threads} threads, "
          f"torch {torch.__version__}")
    print("| net | N | per call | T | seconds | peak RSS while simulating | of which above "
          "the loaded process | peak while loading | engine chunk |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for net_name, n, c, t in PLAN:
        if args.only and net_name != args.only:
            continue
        cmd = [sys.executable, __file__, "--data-dir", str(args.data_dir), "--threads",
               str(args.threads), "--child", net_name, str(n), str(c), str(t)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {net_name} | {n:,} | {c} | {t:,} | {r['seconds']:.1f} | "
              f"{r['peak'] / 1e9:.2f} GB | {(r['peak'] - r['base']) / 1e9:.2f} GB | "
              f"{r['load_peak'] / 1e9:.2f} GB | "
              f"{', '.join(map(str, r['chunks']))} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
