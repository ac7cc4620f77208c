"""The CIFAR-10 section of the cosim benchmark: the study's all-conv net against its peers.

Run under the lock (a CPU-heavy job; about 3 minutes at the defaults):

    flock /work/heavy.lock env PYTHONPATH=.:/work/peers .venv/bin/python bench/cosim_cifar.py \\
        --data /work/shared/datasets/cifar10.npz

(also ``bench/bench_cosim.py --net cifar10``). Network: ``nmpkit.ml.architectures.cifar10_allconv``
(All-CNN-C with BatchNorm: 96-96-96/2-192-192-192/2-192(3x3 valid)-192(1x1)-10(1x1)-GAP) with
the committed weights ``nmpkit/weights/cifar10.pt``, converted by ``cosim.convert`` (BatchNorm
folded, percentile 99.99 on 1,000 training images). B test images, T steps, constant-current
input, NMP, 2 threads; in ONE run, medians of ``--reps``:

- the dense-FLOP floor: only the dense convolutions of every step (layers 2..9 on B samples,
  layer 1 once; channels-last, oneDNN), no neuron update;
- ``cosim.simulate`` (auto, and forced dense / event-driven), and the K-floor
  ``simulate_variants``;
- a plain torch step loop and SpikingJelly (``IFNode(v_reset=None)``, single-step), both on the
  same converted weights (the ops of ``net.layers``, channels-last), spike counts compared.

``--memory`` adds the peak resident memory of ``simulate`` on one evaluation chunk
(``--memory-batch`` samples; the peak reset after loading, ``/proc/self/clear_refs``) in a fresh
process, and the engine's memory plan for T = ``--memory-timesteps``.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_timing import RateTable, compare, proc_status, timed  # noqa: E402
from cosim_variants import FLOORS  # noqa: E402

import cosim  # noqa: E402
from cosim.network import SynapticOp  # noqa: E402

WEIGHTS = ROOT / "nmpkit" / "weights" / "cifar10.pt"


class Ops(nn.Module):
    """One spiking layer's synaptic ops (the converted weights) as a torch module."""

    def __init__(self, ops: tuple[SynapticOp, ...]) -> None:
        super().__init__()
        self.ops = tuple(
            op.with_tensors(op.weight.contiguous(memory_format=torch.channels_last), op.bias)
            if op.kind == "conv2d" else op for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            x = op(x)
        return x


def load(args) -> tuple[cosim.SpikingNetwork, torch.Tensor, torch.Tensor, nn.Module]:
    from nmpkit.ml.data import load_dataset, to_tensor
    from nmpkit.ml.train import load_weights
    from nmpkit.ml.zoo import get_network

    spec = get_network("cifar10")
    model = load_weights(spec, args.weights).eval()
    data = load_dataset("cifar10", args.data)
    mean, std = spec.norm_for("cifar10")
    x = to_tensor(data.x_test[:args.batch], mean, std)
    y = torch.from_numpy(data.y_test[:args.batch]).long()
    calib = to_tensor(data.x_train[:1000], mean, std)
    return cosim.convert(model, calib, percentile=99.99), x, y, model


def macs(net: cosim.SpikingNetwork) -> list[int]:
    """Multiply-accumulates per sample of each layer's dense ops (conv: weights per output
    element × output elements; linear: weights)."""
    out, h = [], torch.zeros(1, *net.input_shape)
    with torch.no_grad():
        for ly in net.layers:
            n = 0
            for op in ly.ops:
                y = op(h)
                if op.kind == "conv2d":
                    n += op.weight[0].numel() * y.numel()
                elif op.kind == "linear":
                    n += op.weight.numel()
                h = y
            out.append(n)
            h = torch.zeros(1, *ly.shape)
    return out


def dense_floor(mods: list[nn.Module], net: cosim.SpikingNetwork, x: torch.Tensor,
                T: int) -> None:
    """Dense synaptic ops only: layer 1 once, layers 2.. every step on zero spikes."""
    with torch.no_grad():
        mods[0](x.contiguous(memory_format=torch.channels_last))
        ins = [torch.zeros(x.shape[0], *ly.shape).contiguous(
            memory_format=torch.channels_last) if len(ly.shape) == 3 else
            torch.zeros(x.shape[0], *ly.shape) for ly in net.layers[:-1]]
        for _ in range(T):
            for m, s in zip(mods[1:], ins, strict=True):
                m(s)


def plain_loop(mods: list[nn.Module], x: torch.Tensor, T: int, chunk: int) -> list[torch.Tensor]:
    """A plain dense step loop: v += I; s = v >= 1; v -= s; next layer's current from s."""
    out = [[] for _ in mods]
    with torch.no_grad():
        for b0 in range(0, x.shape[0], chunk):
            xc = x[b0:b0 + chunk].contiguous(memory_format=torch.channels_last)
            i0 = mods[0](xc)
            vs: list = [None] * len(mods)
            cs: list = [None] * len(mods)
            for _ in range(T):
                cur = i0
                for k in range(len(mods)):
                    v = cur.clone() if vs[k] is None else vs[k].add_(cur)
                    s = (v >= 1.0).float()
                    v.sub_(s)
                    vs[k] = v
                    cs[k] = s.clone() if cs[k] is None else cs[k].add_(s)
                    if k + 1 < len(mods):
                        cur = mods[k + 1](s)
            for k in range(len(mods)):
                out[k].append(cs[k].contiguous())
    return [torch.cat(o) for o in out]


def spikingjelly(mods: list[nn.Module], x: torch.Tensor, T: int,
                 chunk: int) -> list[torch.Tensor]:
    from spikingjelly.activation_based import functional, neuron

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cosim_peers import _step_loop

    ifs = [neuron.IFNode(v_threshold=1.0, v_reset=None, step_mode="s") for _ in mods]
    net = nn.Sequential(*[m for pair in zip(copy.deepcopy(mods), ifs, strict=True)
                          for m in pair])
    return _step_loop(net, ifs, x, T, chunk, functional.reset_net)


def logical(counts: list[torch.Tensor]) -> list[torch.Tensor]:
    return [c.reshape(c.shape[0], -1) for c in counts]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="CIFAR-10 .npz (default: $NMPKIT_DATA/cifar10.npz)")
    ap.add_argument("--weights", type=Path, default=WEIGHTS)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--timesteps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--peer-reps", type=int, default=1)
    ap.add_argument("--peer-chunk", type=int, default=48)
    ap.add_argument("--peers", default="SpikingJelly", help="'' for none")
    ap.add_argument("--variants", type=int, default=8, help="K floors (0: skip)")
    ap.add_argument("--schedules", default="dense,sparse")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--memory-batch", type=int, default=500)
    ap.add_argument("--memory-timesteps", type=int, default=1000)
    ap.add_argument("--child-memory", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.data is None:
        from nmpkit.ml.data import data_dir

        args.data = data_dir() / "cifar10.npz"
    torch.set_num_threads(args.threads)
    if args.child_memory:
        return memory_child(args)
    net, x, y, _ = load(args)
    B, T = x.shape[0], args.timesteps
    mods = [Ops(ly.ops) for ly in net.layers]
    mac = macs(net)
    print(f"# CIFAR-10 all-conv ({args.weights.name}), B={B}, T={T}, {args.threads} threads, "
          f"medians of {args.reps} (peers {args.peer_reps}); kernels: {cosim.kernels.status()}")
    print(f"# MAC per sample-step (layers 2..9): {sum(mac[1:]):,}; layer 1 once: {mac[0]:,}")
    cosim.simulate(net, x[:4], timesteps=2)  # kernel load, warm-up
    table = RateTable(B * T)
    add = table.add
    secs, _ = timed(lambda: dense_floor(mods, net, x, T), args.reps)
    add("dense-FLOP floor (convs only)", secs,
        f"{2 * sum(mac[1:]) * B * T / secs / 1e9:.0f} GFLOP/s")
    secs, ours = timed(lambda: cosim.simulate(net, x, timesteps=T), args.reps)
    add("cosim.simulate (auto)", secs)
    print(f"    rates {', '.join(f'{r:.2%}' for r in ours.layer_rates)}; accuracy at T "
          f"{float(ours.accuracy_per_step(y)[-1]):.4f}; {ours.schedule}")
    counts = logical(ours.spike_counts)
    for sched in [s for s in args.schedules.split(",") if s]:
        secs, r = timed(lambda s=sched: cosim.simulate(net, x, timesteps=T, schedule=s),
                        args.reps)
        add(f"cosim.simulate ({sched})", secs, compare(counts, logical(r.spike_counts)))
    if args.variants:
        floors = FLOORS[:args.variants]
        neurons = [cosim.IFNeuron(lower_bound=f) for f in floors]
        secs, many = timed(lambda: cosim.simulate_variants(net, x, timesteps=T,
                                                           neurons=neurons), args.reps)
        add(f"simulate_variants K={len(floors)} (per variant)", secs,
            f"{secs * table.rate('cosim.simulate (auto)') / (B * T):.2f}x one auto call; NMP "
            f"variant vs auto: {compare(counts, logical(many[0].spike_counts))}",
            per_call=len(floors))
    secs, plain = timed(lambda: plain_loop(mods, x, T, args.peer_chunk), args.peer_reps)
    add("plain torch step loop", secs, compare(counts, logical(plain)))
    peers = {}
    if "SpikingJelly" in args.peers.split(","):
        try:
            secs, sj = timed(lambda: spikingjelly(mods, x, T, args.peer_chunk), args.peer_reps)
            add("SpikingJelly (IFNode, v_reset=None)", secs, compare(counts, logical(sj)))
            peers["SpikingJelly"] = table.rows[-1][1]
        except Exception as err:  # a broken peer install is not our result
            print(f"  SpikingJelly FAILED: {type(err).__name__}: {err}")
    peers["plain torch loop"] = table.rate("plain torch step loop")
    table.print("cosim.simulate (auto)")
    print("\n" + table.summary("cosim.simulate (auto)", peers))
    if args.memory:
        memory_run(args)
    return 0


def memory_run(args) -> None:
    cmd = [sys.executable, __file__, "--child-memory", "--data", str(args.data),
           "--weights", str(args.weights), "--threads", str(args.threads),
           "--batch", str(args.memory_batch), "--timesteps", "4",
           "--memory-timesteps", str(args.memory_timesteps)]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                    text=True).stdout.strip().splitlines()[-1])
    print(f"\nmemory: simulate of one evaluation chunk of {res['batch']} samples (T=4 run): "
          f"peak RSS during simulate {res['peak_gb']:.2f} GB ({res['base_gb']:.2f} GB before; "
          f"engine chunk {res['chunk']}). The engine's plan at the default 1 GiB budget for "
          f"T={res['plan_T']}: outputs {res['outputs_mib']:,.0f} MiB + {res['plan_chunk']} "
          f"samples x {res['per_sample_mib']:.1f} MiB working memory; 10,000 samples in one "
          f"call would need {res['outputs_10k_mib']:,.0f} MiB of outputs (spike counts of "
          f"every layer), so evaluations go in chunks (nmpkit evaluate --batch-size)")


def memory_child(args) -> int:
    from cosim.engine_setup import SimConfig, plan_memory

    net, x, _, _ = load(args)
    import gc

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    base = proc_status("VmRSS")
    res = cosim.simulate(net, x, timesteps=args.timesteps)
    peak = proc_status("VmHWM")
    sizes = [ly.size for ly in net.layers]
    plan = plan_memory(SimConfig(timesteps=args.memory_timesteps), x.shape[0], sizes, sizes[-1],
                       x[0].numel(), True)
    big = plan_memory(SimConfig(timesteps=args.memory_timesteps, memory_budget_bytes=1 << 40),
                      10_000, sizes, sizes[-1], x[0].numel(), True)
    print(json.dumps({"batch": x.shape[0], "peak_gb": peak / 1e9, "base_gb": base / 1e9,
                      "chunk": res.schedule["chunk_size"], "plan_T": args.memory_timesteps,
                      "plan_chunk": plan.chunk, "outputs_mib": plan.outputs / 2**20,
                      "per_sample_mib": plan.per_sample / 2**20,
                      "outputs_10k_mib": big.outputs / 2**20}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
