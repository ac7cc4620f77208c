"""Where cosim.simulate spends its time: seconds per compiled kernel (MNIST or CIFAR-10 net).

Run under the lock (it is a CPU-heavy job):

    flock /work/heavy.lock .venv/bin/python bench/cosim_profile.py --threads 2
    flock /work/heavy.lock .venv/bin/python bench/cosim_profile.py --net cifar10 \
        --data /work/shared/datasets/cifar10.npz --batch 48 --timesteps 40

``--variants 8`` profiles one ``simulate_variants`` call with the first 8 floors of
``bench/cosim_variants.py`` instead (where the K axis costs).

Every call into ``cosim.kernels`` is timed (wall clock around the call); "other" is the rest of
``simulate`` (first layer's dense convolution, setup, Python, result assembly). One warm-up
call first (kernel build/load), then one timed ``simulate`` per schedule.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cosim_model import add_common_arguments, get_model, load_mnist  # noqa: E402
from cosim_variants import FLOORS  # noqa: E402

import cosim  # noqa: E402
import cosim.engine_parts  # noqa: E402
from cosim.kernels import load  # noqa: E402


class _Timed:
    """The kernel module with every function call's wall time added to ``seconds``."""

    def __init__(self, module: object, seconds: dict[str, float]) -> None:
        self._module, self._seconds = module, seconds

    def __getattr__(self, name: str):
        fn = getattr(self._module, name)

        def timed(*args, **kwargs):
            key = name
            if name.startswith("conv") and len(args) > 4:  # geo: which convolution shape
                g = args[4]
                key = f"{name} {g[2]}->{g[13]} {g[3]}x{g[4]}/{g[5]} in {g[0]}x{g[1]}"
            elif name == "if_bits":
                key = f"{name} n={args[2].numel() // max(1, args[2].shape[0])}"
            elif name == "linear_bits":
                key = f"{name} n_out={args[3]}"
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._seconds[key] += time.perf_counter() - t0
        return timed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(ap)
    ap.add_argument("--schedules", default="auto,sparse,dense")
    ap.add_argument("--net", default="mnist", choices=("mnist", "cifar10"))
    ap.add_argument("--variants", type=int, default=1,
                    help="K > 1: profile one simulate_variants call with the first K floors of "
                         "bench/cosim_variants.py (NMP, 0, -0.125, ... -4 thresholds)")
    ap.add_argument("--chunk-size", type=int, default=None,
                    help="SimConfig.chunk_size (default: what the memory budget gives)")
    ap.add_argument("--memory-gib", type=float, default=1.0,
                    help="SimConfig.memory_budget_bytes in GiB")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.net == "cifar10":
        from cosim_cifar import WEIGHTS
        from cosim_cifar import load as load_cifar

        args.weights = args.weights or WEIGHTS
        net, x, _, _ = load_cifar(args)
    else:
        data = load_mnist(args.data)
        model, _ = get_model(data, args.weights, args.cache_dir)
        net = cosim.convert(model, data["x_train"][:1000], percentile=99.99)
        x = data["x_test"][:args.batch]
    seconds: dict[str, float] = collections.defaultdict(float)
    module = load()
    if module is None:
        raise SystemExit(f"no compiled kernels: {cosim.kernels.status()}")
    cosim.engine_parts.load_kernels = lambda: _Timed(module, seconds)
    cosim.simulate(net, x[:8], timesteps=4)
    B, T = args.batch, args.timesteps
    budget = int(args.memory_gib * 2**30)
    print(f"# {args.net}, B={B}, T={T}, K={args.variants}, {args.threads} threads, "
          f"torch {torch.__version__}, kernels: {cosim.kernels.status()}")
    for sched in args.schedules.split(","):
        seconds.clear()
        t0 = time.perf_counter()
        if args.variants > 1:
            res = cosim.simulate_variants(net, x, timesteps=T, schedule=sched, neurons=[
                cosim.IFNeuron(lower_bound=f) for f in FLOORS[:args.variants]],
                chunk_size=args.chunk_size, memory_budget_bytes=budget)[0]
        else:
            res = cosim.simulate(net, x, timesteps=T, schedule=sched, chunk_size=args.chunk_size,
                                 memory_budget_bytes=budget)
        total = time.perf_counter() - t0
        print(f"{sched}: {total:.3f} s, {B * T * args.variants / total:,.0f} sample-steps/s "
              f"(x variants)")
        for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {name:40s} {s:7.3f} s  {s / total:6.1%}")
        other = total - sum(seconds.values())
        print(f"  {'other':40s} {other:7.3f} s  {other / total:6.1%}")
        print("  " + "; ".join(f"{k}: {v}" for k, v in res.schedule.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
