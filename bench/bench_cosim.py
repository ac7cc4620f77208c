"""Benchmark of cosim.simulate on the MNIST network (20C3-50C5-FC500-FC10) against its peers.

Run under the lock, with the peers installed by ``bench/setup_peers.sh``:

    flock /work/heavy.lock env PYTHONPATH=.:/work/peers .venv/bin/python bench/bench_cosim.py

Everything is measured in this one run (the machine is shared; compare only ratios within a
run): medians of ``--reps`` runs of B × T sample-steps each (default B = 256, T = 100, 2 threads,
constant-current input, NMP), in sample-steps per second:

- the dense-FLOP floor: only the dense synaptic ops of every step (conv2, fc1, fc2 on B samples;
  conv1 once), no neuron update: what any dense step loop must at least spend;
- a plain torch step loop (channels-last convs, first layer computed once);
- ``cosim.simulate`` (auto schedule, and forced dense/event-driven);
- sinabs, SpikingJelly, snnTorch, Norse on the same converted weights (``bench/cosim_peers.py``
  lists each one's semantics), with a check that their spike counts equal ours.

``--net cifar10`` runs the CIFAR-10 section instead (``bench/cosim_cifar.py``: the study's
all-conv net, its dense-FLOP floor, a plain torch loop and SpikingJelly, in one run).

``--full`` adds the MNIST test set (10,000 samples) to T = 1000, NMP: wall time, peak resident
memory of that process, and accuracy after every step (best and final).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_timing import RateTable, compare, timed  # noqa: E402
from cosim_model import add_common_arguments, get_model, load_mnist  # noqa: E402
from cosim_peers import PEERS, SEMANTICS, plain_torch_loop  # noqa: E402

import cosim  # noqa: E402
from calib.io import git_revision  # noqa: E402

MAC_PER_SAMPLE_STEP = 20 * 9 * 26 * 26 + 50 * 20 * 25 * 22 * 22 + 24200 * 500 + 500 * 10


def converted_layers(net: cosim.SpikingNetwork) -> list[nn.Module]:
    """The converted (normalized) weights as four plain torch modules for the peers."""
    mods = []
    for ly in net.layers:
        op = [o for o in ly.ops if o.kind in ("conv2d", "linear")][0]
        if op.kind == "conv2d":
            m = nn.Conv2d(op.weight.shape[1], op.weight.shape[0], op.weight.shape[2:])
        else:
            m = nn.Linear(op.weight.shape[1], op.weight.shape[0])
        with torch.no_grad():
            m.weight.copy_(op.weight)
            m.bias.copy_(op.bias)
        mods.append(m.eval())
    return mods


def dense_floor(layers: list[nn.Module], x: torch.Tensor, T: int) -> None:
    conv1, conv2, fc1, fc2 = layers
    conv2 = copy.deepcopy(conv2).to(memory_format=torch.channels_last)
    with torch.no_grad():
        s1 = conv1(x.contiguous(memory_format=torch.channels_last)).gt(0.5).float()
        s2 = torch.zeros(x.shape[0], 24200)
        s3 = torch.zeros(x.shape[0], 500)
        for _ in range(T):
            conv2(s1)
            fc1(s2)
            fc2(s3)


def main() -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--net", default="mnist", choices=("mnist", "cifar10"))
    known, rest = pre.parse_known_args()
    if known.net == "cifar10":  # the CIFAR-10 section: bench/cosim_cifar.py
        from cosim_cifar import main as cifar_main

        return cifar_main(rest)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="mnist", choices=("mnist", "cifar10"),
                    help="cifar10: the CIFAR-10 all-conv section (bench/cosim_cifar.py)")
    add_common_arguments(ap)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--peer-reps", type=int, default=3, help="medians of this many for peers")
    ap.add_argument("--peer-chunk", type=int, default=64, help="samples per peer call")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma list, or '' for none")
    ap.add_argument("--full", action="store_true", help="also 10,000 × T=1000 (long)")
    ap.add_argument("--full-only", action="store_true", help="only the 10,000 × T=1000 run")
    ap.add_argument("--full-samples", type=int, default=10000)
    ap.add_argument("--full-timesteps", type=int, default=1000)
    ap.add_argument("--child-full", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_mnist(args.data)
    model, source = get_model(data, args.weights, args.cache_dir)
    net = cosim.convert(model, data["x_train"][:1000], percentile=99.99)
    if args.child_full:
        return full_child(args, net, data)
    if args.full_only:
        return full_run(args)
    B, T = args.batch, args.timesteps
    x, y = data["x_test"][:B], data["y_test"][:B]
    layers = converted_layers(net)
    with torch.no_grad():
        ann_acc = float((model(data["x_test"]).argmax(1) == data["y_test"]).float().mean())
    print(f"# cosim benchmark — weights {source}; ANN test accuracy {ann_acc:.4f}")
    print(f"# torch {torch.__version__}, {args.threads} threads, {platform.processor() or '?'}"
          f"; B={B}, T={T}, median of {args.reps}; kernels: {cosim.kernels.status()}; "
          f"git {git_revision()[:12]}")
    cosim.simulate(net, x[:8], timesteps=4)  # warm up (kernel load)
    table = RateTable(B * T)
    add = table.add
    secs, _ = timed(lambda: dense_floor(layers, x, T), args.reps)
    add("dense-FLOP floor (GEMMs only)", secs,
        f"{2 * MAC_PER_SAMPLE_STEP * B * T / secs / 1e9:.0f} GFLOP/s")
    secs, ours = timed(lambda: cosim.simulate(net, x, timesteps=T), args.reps)
    add("cosim.simulate (auto)", secs, "; ".join(f"{k}: {v}" for k, v in ours.schedule.items()
                                                 if k in ("3", "6")))
    counts = ours.spike_counts
    rates = ", ".join(f"{r:.2%}" for r in ours.layer_rates)
    print(f"    rates per layer {rates}; accuracy at T: {float(ours.accuracy_per_step(y)[-1]):.4f}")
    for sched in ("dense", "sparse"):
        secs, r = timed(lambda s=sched: cosim.simulate(net, x, timesteps=T, schedule=s),
                        args.reps)
        add(f"cosim.simulate ({sched})", secs, compare(counts, r.spike_counts))
    secs, r = timed(lambda: cosim.simulate(net, x, timesteps=T, kernels=False), args.reps)
    add("cosim.simulate (no compiled kernels)", secs, compare(counts, r.spike_counts))
    secs, plain = timed(lambda: plain_torch_loop(layers, x, T, B), args.reps)
    add("plain torch step loop", secs, compare(counts, plain))
    zero = None
    peer_rates = {}
    for name in [p for p in args.peers.split(",") if p]:
        ref = counts
        if SEMANTICS[name] == "zero":
            zero = zero or cosim.simulate(net, x, timesteps=T, reset="zero").spike_counts
            ref = zero
        try:
            secs, theirs = timed(lambda n=name: PEERS[n](layers, x, T, args.peer_chunk),
                                 args.peer_reps)
        except Exception as err:  # report and go on: a broken peer install is not our result
            print(f"  {name:34s} FAILED: {type(err).__name__}: {err}")
            continue
        add(name, secs, f"reset={SEMANTICS[name]}; vs ours: {compare(ref, theirs)}")
        peer_rates[name] = table.rate(name)
    table.print("cosim.simulate (auto)")
    if peer_rates:
        print("\n" + table.summary("cosim.simulate (auto)", peer_rates))
    if args.full:
        full_run(args)
    return 0


def full_run(args) -> int:
    """10,000 samples × T=1000 NMP in a fresh process, for its wall time and peak memory."""
    cmd = [sys.executable, __file__, "--child-full", "--threads", str(args.threads),
           "--data", str(args.data), "--cache-dir", str(args.cache_dir),
           "--full-samples", str(args.full_samples),
           "--full-timesteps", str(args.full_timesteps)]
    if args.weights:
        cmd += ["--weights", str(args.weights)]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                    text=True).stdout.strip().splitlines()[-1])
    print(f"\nMNIST test set: {res['samples']} samples × T={res['timesteps']} NMP: "
          f"wall {res['wall_s']:.0f} s ({res['rate']:,.0f} sample-steps/s); peak RSS "
          f"{res['peak_rss_gb']:.2f} GB (process, of which {res['base_rss_gb']:.2f} GB "
          f"before simulate); accuracy final {res['acc_final']:.4f}, best "
          f"{res['acc_best']:.4f} at t={res['t_best']}; chunk {res['chunk']}")
    return 0


def full_child(args, net, data) -> int:
    import resource

    import psutil

    n, T = args.full_samples, args.full_timesteps
    x, y = data["x_test"][:n], data["y_test"][:n]
    del data
    base = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    res = cosim.simulate(net, x, timesteps=T)
    wall = time.perf_counter() - t0
    acc = res.accuracy_per_step(y)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"samples": n, "timesteps": T, "wall_s": wall, "rate": n * T / wall,
                      "peak_rss_gb": peak / 1e9, "base_rss_gb": base / 1e9,
                      "acc_final": float(acc[-1]), "acc_best": float(acc.max()),
                      "t_best": int(acc.argmax()) + 1, "chunk": res.schedule["chunk_size"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
