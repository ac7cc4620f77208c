"""K floors in one ``cosim.simulate_variants`` call against one ``cosim.simulate`` call.

Run under the lock (a CPU-heavy job):

    flock /work/heavy.lock env NMPKIT_DATA=/work/shared/datasets .venv/bin/python \\
        bench/cosim_variants.py --batch 128 --timesteps 100 --reps 3

The MNIST net of ``bench/cosim_model.py`` (the benchmark's weights, converted at percentile 99.99
on 1,000 training images), B test images, T steps, constant-current input. In ONE run, for each
repetition: one ``simulate`` (NMP), the K floors as K separate ``simulate`` calls, and the K
floors in one ``simulate_variants`` call; medians over the repetitions. Ratios within the run:
variants / one call (the issue's target: K = 8 in <= 3x) and K separate / variants. Spike
counts of every layer of every variant are compared with the separate calls' (schedule as
given; with ``auto`` the two may pick different schedules, which on float weights can move a
count by ±1 on a few neurons: the report says how many differ).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cosim_model import add_common_arguments, get_model, load_mnist  # noqa: E402

import cosim  # noqa: E402

FLOORS = (None, 0.0, -0.125, -0.25, -0.5, -1.0, -2.0, -4.0)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(ap)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--variants", type=int, default=8, help=f"K (up to {len(FLOORS)} floors)")
    ap.add_argument("--schedule", default="auto")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_mnist(args.data)
    model, source = get_model(data, args.weights, args.cache_dir)
    net = cosim.convert(model, data["x_train"][:1000], percentile=99.99)
    x = data["x_test"][:args.batch]
    floors = FLOORS[:args.variants]
    neurons = [cosim.IFNeuron(lower_bound=f) for f in floors]
    cfg = cosim.SimConfig(timesteps=args.timesteps, schedule=args.schedule)
    cosim.simulate(net, x[:8], timesteps=4)  # kernel build / load, warm-up
    one_t, sep_t, var_t = [], [], []
    for _ in range(args.reps):
        _, t = _timed(lambda: cosim.simulate(net, x, cfg))
        one_t.append(t)
        seps, each = [], []
        for n in neurons:
            res, t = _timed(lambda n=n: cosim.simulate(net, x, replace(cfg, neuron=n)))
            seps.append(res)
            each.append(t)
        sep_t.append(each)
        many, t = _timed(lambda: cosim.simulate_variants(net, x, cfg, neurons=neurons))
        var_t.append(t)
    one, var = statistics.median(one_t), statistics.median(var_t)
    per_floor = [statistics.median(ts) for ts in zip(*sep_t)]
    sep = statistics.median(sum(ts) for ts in sep_t)
    B, T, K = args.batch, args.timesteps, len(floors)
    differ = total = 0
    for a, b in zip(many, seps, strict=True):
        for ca, cb in zip(a.spike_counts, b.spike_counts, strict=True):
            differ += int((ca != cb).sum())
            total += ca.numel()
    print(f"# MNIST 20C3-50C5-FC500-FC10 ({source}), B={B}, T={T}, {args.threads} threads, "
          f"schedule={args.schedule}, medians of {args.reps}, torch {torch.__version__}")
    print(f"# floors (lower_bound): {', '.join('NMP' if f is None else f'{f:g}' for f in floors)}")
    print("| run | seconds | sample-steps/s (per variant) |")
    print("|---|---:|---:|")
    print(f"| one simulate (NMP) | {one:.3f} | {B * T / one:,.0f} |")
    for f, t in zip(floors, per_floor, strict=True):
        print(f"| separate call, floor {'NMP' if f is None else f'{f:g}'} | {t:.3f} | "
              f"{B * T / t:,.0f} |")
    print(f"| {K} separate simulate calls | {sep:.3f} | {K * B * T / sep:,.0f} |")
    print(f"| simulate_variants, K = {K} | {var:.3f} | {K * B * T / var:,.0f} |")
    mean_one = sep / K
    print(f"variants / one call: {var / one:.2f}x (vs the mean separate call: "
          f"{var / mean_one:.2f}x; target <= 3x for K = 8); separate / variants: "
          f"{sep / var:.2f}x")
    print(f"spike counts vs the separate calls: {differ:,} of {total:,} neuron counts differ")
    print(f"schedule: {many[0].schedule}")
    rates = many[0].layer_rates
    print(f"firing rates (NMP): {', '.join(f'{r:.2%}' for r in rates)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
