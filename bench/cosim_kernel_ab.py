"""A/B of two kernel source folders in ONE process: ``cosim.simulate`` calls interleaved A B A B.

Run under the lock (a CPU-heavy job; the first run builds both folders' kernels):

    cp -r cosim/csrc /tmp/csrc_b && $EDITOR /tmp/csrc_b/conv.cpp
    flock /work/heavy.lock env NMPKIT_DATA=/work/shared/datasets PYTHONPATH=. \\
        .venv/bin/python bench/cosim_kernel_ab.py /tmp/csrc_b --pairs 9

A = this checkout's ``cosim/csrc``, B = the folder given (built by ``cosim.kernels.build``, its
own cached module). The MNIST net of ``bench/cosim_model.py``, B test images, T steps, the
schedule given (default ``sparse``: the event-driven kernels every layer), one neuron case
(``--lower-bound``). Pairs of calls, the order inside a pair alternating (A B, B A, ...), so
drift on a shared machine hits both alike; reported: the median of A, of B and of the
per-pair ratios B / A with their min and max, a sign test over the pairs, and whether every
layer's spike counts of A and B are identical (they must be: a kernel change may not change
a sum's order).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cosim_model import add_common_arguments, get_model, load_mnist  # noqa: E402

import cosim  # noqa: E402
import cosim.engine_parts  # noqa: E402
from cosim.kernels import build  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(ap)
    ap.add_argument("csrc_b", type=Path, help="the other kernel source folder (B)")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--schedule", default="sparse")
    ap.add_argument("--lower-bound", type=float, default=None, help="default: NMP")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    mods = {"A": build(), "B": build(source_dir=args.csrc_b.resolve())}
    data = load_mnist(args.data)
    model, source = get_model(data, args.weights, args.cache_dir)
    net = cosim.convert(model, data["x_train"][:1000], percentile=99.99)
    x = data["x_test"][:args.batch]
    cfg = cosim.SimConfig(timesteps=args.timesteps, schedule=args.schedule,
                          neuron=cosim.IFNeuron(lower_bound=args.lower_bound), kernels=True)

    def call(which: str) -> tuple[float, cosim.SimulationResult]:
        cosim.engine_parts.load_kernels = lambda: mods[which]
        cosim.engine_parts.require_kernels = lambda: mods[which]
        t0 = time.perf_counter()
        res = cosim.simulate(net, x, cfg)
        return time.perf_counter() - t0, res

    ref = {w: call(w)[1] for w in "AB"}  # warm-up, and the spike counts to compare
    same = all(torch.equal(a, b) for a, b in zip(ref["A"].spike_counts, ref["B"].spike_counts,
                                                 strict=True))
    times: dict[str, list[float]] = {"A": [], "B": []}
    for p in range(args.pairs):
        for w in ("AB" if p % 2 == 0 else "BA"):
            t, res = call(w)
            times[w].append(t)
            same = same and all(torch.equal(a, b) for a, b in zip(
                res.spike_counts, ref["A"].spike_counts, strict=True))
    ratios = [b / a for a, b in zip(times["A"], times["B"], strict=True)]
    n = args.batch * args.timesteps
    lb = "NMP" if args.lower_bound is None else f"floor {args.lower_bound:g}"
    print(f"# MNIST ({source}), B={args.batch}, T={args.timesteps}, {lb}, schedule "
          f"{args.schedule}, {args.threads} threads, {args.pairs} pairs, "
          f"torch {torch.__version__}, instruction sets: A {mods['A'].isa()}, B "
          f"{mods['B'].isa() if hasattr(mods['B'], 'isa') else '(not reported by B)'}")
    print(f"A ({cosim.kernels.SOURCE_DIR}): {n / statistics.median(times['A']):,.0f} "
          f"sample-steps/s; B ({args.csrc_b}): {n / statistics.median(times['B']):,.0f}")
    faster = sum(r < 1 for r in ratios)
    k = min(faster, len(ratios) - faster)  # two-sided sign test of "B / A = 1"
    p = min(1.0, 2 * sum(math.comb(len(ratios), i) for i in range(k + 1)) / 2 ** len(ratios))
    print(f"time B / A per pair: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, "
          f"max {max(ratios):.3f}); B faster in {faster} of {len(ratios)} pairs (sign test "
          f"p = {p:.3f}); spike counts of every layer {'identical' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
