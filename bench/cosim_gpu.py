"""The GPU section of the cosim benchmark (issue 14 §5): CIFAR-10 all-conv on one CUDA device,
the event-driven convolutions (Triton, ``cosim.triton_events``) against the dense cuDNN path.

Needs a CUDA device and Triton (a CUDA build of torch brings it). One prepared, time-boxed run:

    python bench/cosim_gpu.py --data DATA/cifar10.npz --json OUT/gpu.json

In one run, every timing after ``torch.cuda.synchronize()`` (the engine's result comes back to
the CPU, which synchronizes too), medians of ``--reps``:

1. **Exactness on the dyadic grid**: the net's weights rounded to multiples of 1/64 (every float32
   partial sum exact), ``--check`` images, T = ``--check-timesteps``: spike counts of the GPU
   event-driven schedule, the GPU dense schedule and the CPU kernels, all compared.
2. **Speed** on the real weights, B = ``--batch``, T = ``--timesteps``: sample-steps/s of
   ``schedule="dense"`` (cuDNN, TF32 off as the engine always sets it), ``"sparse"`` (Triton
   event-driven convs) and ``"auto"``; the ratio event-driven / dense (target >= 3x on an H200).
3. **The test set**: ``--full`` images × T = ``--full-timesteps`` with the faster schedule, wall
   time (target: 10,000 × 1000 in <= 60 s), or its extrapolation from the first chunk when
   ``--budget-seconds`` would be exceeded (printed as such).

Not run on the development machine (no GPU was lent there): see bench/cosim_results.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cosim  # noqa: E402
from cosim import triton_events  # noqa: E402


def _load(data: str, weights: str, n: int):
    from nmpkit.ml.data import load_dataset, to_tensor
    from nmpkit.ml.train import load_weights
    from nmpkit.ml.zoo import get_network

    spec = get_network("cifar10")
    model = load_weights(spec, weights).eval()
    ds = load_dataset("cifar10", data)
    mean, std = spec.norm_for("cifar10")
    return (model, to_tensor(ds.x_test[:n], mean, std),
            to_tensor(ds.x_train[:1000], mean, std), torch.from_numpy(ds.y_test[:n]).long())


def _dyadic(net: cosim.SpikingNetwork, scale: int = 64) -> cosim.SpikingNetwork:
    """The converted net with every weight and bias rounded to a multiple of 1/scale."""
    layers = []
    for ly in net.layers:
        ops = tuple(op.with_tensors(torch.round(op.weight * scale) / scale,
                                    None if op.bias is None else torch.round(op.bias * scale)
                                    / scale) if op.weight is not None else op for op in ly.ops)
        layers.append(dataclasses.replace(ly, ops=ops))
    return dataclasses.replace(net, layers=tuple(layers))


def _timed(fn, reps: int) -> tuple[float, object]:
    ts, out = [], None
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2], out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", default=str(ROOT / "nmpkit" / "weights" / "cifar10.pt"))
    ap.add_argument("--check", type=int, default=8)
    ap.add_argument("--check-timesteps", type=int, default=50)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--timesteps", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--full", type=int, default=10_000)
    ap.add_argument("--full-timesteps", type=int, default=1000)
    ap.add_argument("--budget-seconds", type=float, default=240.0)
    ap.add_argument("--json", default="")
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: this bench needs one (nothing measured)")
        return 2
    dev = torch.device("cuda")
    if not triton_events.usable(dev):
        print("Triton cannot be imported: the event-driven convolutions cannot run")
        return 2
    out: dict = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                 "triton": triton_events.triton_version()}
    model, x, calib, y = _load(a.data, a.weights, max(a.check, a.batch, a.full))
    net = cosim.convert(model, calib, percentile=99.99)

    # 1. exactness on the dyadic grid
    dy = _dyadic(net)
    xc = torch.round(x[:a.check] * 64) / 64
    runs = {name: cosim.simulate(dy, xc, timesteps=a.check_timesteps, schedule=s, device=d)
            for name, s, d in (("gpu_events", "sparse", dev), ("gpu_dense", "dense", dev),
                               ("cpu_kernels", "auto", None))}
    ref = runs["cpu_kernels"].spike_counts
    out["exact"] = {name: all(torch.equal(p.cpu(), q) for p, q in zip(r.spike_counts, ref,
                                                                      strict=True))
                    for name, r in runs.items()}
    print("dyadic grid, spike counts equal to the CPU kernels:", out["exact"], flush=True)

    # 2. speed on the real weights
    xb = x[:a.batch]
    steps = a.batch * a.timesteps
    rates = {}
    for s in ("dense", "sparse", "auto"):
        cosim.simulate(net, xb[:16], timesteps=5, schedule=s, device=dev)  # warm-up / compile
        sec, res = _timed(lambda s=s: cosim.simulate(net, xb, timesteps=a.timesteps,
                                                     schedule=s, device=dev), a.reps)
        rates[s] = steps / sec
        print(f"{s:>7}: {rates[s]:,.0f} sample-steps/s ({sec:.3f} s)  {res.schedule}",
              flush=True)
    out["rates"] = rates
    out["events_over_dense"] = rates["sparse"] / rates["dense"]
    print(f"event-driven / dense = {out['events_over_dense']:.2f}x (target >= 3x on an H200)")

    # 3. the test set at T = full_timesteps, with the faster schedule
    best = max(rates, key=rates.get)
    chunk = min(a.full, 1000)
    t0 = time.perf_counter()
    done, correct = 0, 0
    while done < a.full:
        n = min(chunk, a.full - done)
        r = cosim.simulate(net, x[done:done + n], timesteps=a.full_timesteps, schedule=best,
                           device=dev)
        correct += round(float(r.accuracy_per_step(y[done:done + n])[-1]) * n)
        done += n
        if time.perf_counter() - t0 > a.budget_seconds and done < a.full:
            break
    wall = time.perf_counter() - t0
    out["full"] = {"schedule": best, "images": done, "timesteps": a.full_timesteps,
                   "seconds": wall, "accuracy": correct / done,
                   "extrapolated_seconds_for_all": wall * a.full / done}
    print(f"test set: {done:,} images x T = {a.full_timesteps} in {wall:.1f} s "
          f"({'measured' if done == a.full else 'extrapolated'}: "
          f"{wall * a.full / done:.1f} s for {a.full:,}), accuracy {correct / done:.4f}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
