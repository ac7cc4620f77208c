"""A/B timing of ``cosim.simulate`` at two revisions of the repository, interleaved in one run.

    git worktree add /tmp/nmpkit-old REV     # or: git archive REV | tar -x -C /tmp/nmpkit-old
    flock /work/heavy.lock .venv/bin/python bench/cosim_ab.py /tmp/nmpkit-old . --rounds 4

Each round runs one fresh process per checkout (old, new, alternating, so drift on a shared
machine hits both alike); each process imports ``cosim`` and the bench's model helpers
(``bench/cosim_model.py``) from its checkout, converts the MNIST network of
``bench/bench_cosim.py`` (the same weights and calibration images), warms up, then
times ``--reps`` calls per case (NMP, ZMP, floor -0.5 θ; auto schedule; B × T sample-steps).
Reported: the median over all rounds and reps per checkout and case, the ratio new / old, the
range of the per-round ratios (each round's median old time over its median new time: rate
new / old, paired within a round), and whether the spike counts of the two checkouts are
identical (they must be: same semantics).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = {"NMP": None, "ZMP": 0.0, "floor -0.5": -0.5}


def child(args: argparse.Namespace) -> int:
    root = Path(args.child).resolve()
    # the checkout's own bench helpers (an old revision's cosim_model has no nmpkit.ml to import)
    sys.path.insert(0, str(root / "bench" if (root / "bench" / "cosim_model.py").is_file()
                           else HERE))
    sys.path.insert(0, str(root))
    import torch
    from cosim_model import get_model, load_mnist

    import cosim

    assert Path(cosim.__file__).resolve().is_relative_to(root), cosim.__file__
    torch.set_num_threads(args.threads)
    data = load_mnist(args.data)
    model, _ = get_model(data, None, args.cache_dir)
    net = cosim.convert(model, data["x_train"][:1000], percentile=99.99)
    x = data["x_test"][:args.batch]
    cosim.simulate(net, x[:8], timesteps=4)
    out = {}
    for name, lb in CASES.items():
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            res = cosim.simulate(net, x, timesteps=args.timesteps, lower_bound=lb)
            times.append(time.perf_counter() - t0)
        h = hashlib.sha1()
        for c in res.spike_counts:
            h.update(c.to(torch.int32).numpy().tobytes())
        out[name] = {"times": times, "counts_sha1": h.hexdigest()}
    print(json.dumps(out))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="checkout A (e.g. a git worktree of the old revision)")
    ap.add_argument("new", type=Path, help="checkout B")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--timesteps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    env = os.environ.get("NMPKIT_DATA")  # the datasets' folder (README: data paths)
    ap.add_argument("--data", type=Path, default=Path(env) / "mnist.npz" if env else None)
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/nmpkit-bench"))
    ap.add_argument("--child", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    times: dict[tuple[str, str], list[float]] = {}
    rounds: dict[tuple[str, str], list[float]] = {}  # each round's median time
    hashes: dict[tuple[str, str], set[str]] = {}
    for r in range(args.rounds):
        for label, root in (("old", args.old), ("new", args.new)):
            cmd = [sys.executable, __file__, str(args.old), str(args.new), "--child",
                   str(root.resolve()), "--reps", str(args.reps), "--batch", str(args.batch),
                   "--timesteps", str(args.timesteps), "--threads", str(args.threads),
                   "--data", str(args.data), "--cache-dir", str(args.cache_dir)]
            env = dict(os.environ, PYTHONPATH=str(root.resolve()))
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
            if proc.returncode:
                raise SystemExit(f"{label} ({root}) failed:\n{proc.stderr[-3000:]}")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            for case, rec in res.items():
                times.setdefault((label, case), []).extend(rec["times"])
                rounds.setdefault((label, case), []).append(statistics.median(rec["times"]))
                hashes.setdefault((label, case), set()).add(rec["counts_sha1"])
            print(f"round {r + 1}/{args.rounds} {label} done", flush=True)
    n = args.batch * args.timesteps
    print(f"\nB={args.batch}, T={args.timesteps}, {args.threads} threads; medians of "
          f"{args.rounds} rounds × {args.reps} reps (sample-steps/s)")
    print("| case | old | new | new / old | per-round new / old (min–max) | spike counts |")
    print("|---|---:|---:|---:|---:|---|")
    for case in CASES:
        a = n / statistics.median(times[("old", case)])
        b = n / statistics.median(times[("new", case)])
        pair = [o / w for o, w in zip(rounds[("old", case)], rounds[("new", case)], strict=True)]
        same = hashes[("old", case)] == hashes[("new", case)] and len(hashes[("old", case)]) == 1
        print(f"| {case} | {a:,.0f} | {b:,.0f} | {b / a:.3f} | {min(pair):.3f}–{max(pair):.3f} "
              f"| {'identical' if same else 'DIFFER'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
