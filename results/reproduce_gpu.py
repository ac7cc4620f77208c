"""The reproduction on a GPU in one time-boxed run (a lent accelerator counts its minutes).

    python results/reproduce_gpu.py --budget 500 [--device cuda] [--archive OUT.tgz]

Phases in order of priority; each gets a share of the time left and is logged, with what it
measured, to ``results/gpu_run.json``:

1. ``tests``: the tests that need a GPU (CUDA == CPU spikes, no TF32, crop/flip on CUDA);
2. ``bench``: ``cosim.simulate`` on the MNIST network on the GPU (sample-steps/s), and its spike
   counts against the CPU engine;
3. ``train``: CIFAR-10 all-conv and the autoencoder with their recipes, bfloat16 autocast; the
   number of epochs is what fits the phase's budget by a timed pilot of 60 batches (the cosine
   schedule spans the epochs actually run), capped at the recipe's;
4. ``reproduce.py``'s sections with ``--device cuda``: NMP and ZMP to T = 1000, first on a pilot
   subset, then on as many test samples as the measured speed allows in the phase's share
   (finished chunks are reused); then the floor sweeps, one floor at a time while time is left.

Every phase ends by re-archiving what exists (``--archive PATH``), so a run cut short still
returns what it finished. The archive is written as ``PATH.00``, ``PATH.01``, … of at most 15 MB
each (a device call returns files of at most 16 MB; ``cat PATH.* | tar xz`` joins them), with
``gpu_run.json`` beside them. Fetch everything in the same call: the next call re-copies the
working tree, and whatever this run wrote inside it is gone. Data are read from ``--data-dir``
(default ``$NMPKIT_DATA``): the folder holding ``mnist.npz`` and ``cifar10.npz``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import platform
import statistics
import subprocess
import sys
import tarfile
import time
import traceback
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from calib.io import atomic_write_text  # noqa: E402
from nmpkit.ml.data import data_dir, load_dataset, to_tensor  # noqa: E402
from nmpkit.ml.train import TrainConfig, load_weights, train  # noqa: E402
from nmpkit.ml.zoo import get_network  # noqa: E402
from nmpkit.studies.evaluate import EvalConfig, convert_normalized  # noqa: E402

_spec = importlib.util.spec_from_file_location("reproduce", HERE / "reproduce.py")
rp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rp)

SECTIONS = ("mnist", "cifar10", "autoencoder")
LOG: dict = {"phases": []}


class Clock:
    def __init__(self, budget: float) -> None:
        self.t0, self.budget = time.monotonic(), budget

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.t0)


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def phase(name: str, clock: Clock, args, fn, *a, **k) -> object:
    """Run one phase, record its wall time and outcome, archive; never raise."""
    rec = {"phase": name, "started_s": round(clock.budget - clock.left(), 1)}
    say(f"phase {name}: {clock.left():.0f} s left")
    t = time.monotonic()
    out = None
    try:
        out = fn(*a, **k)
        rec["result"] = out
        rec["ok"] = True
    except Exception as exc:  # a failed phase must not cost the others
        rec["ok"] = False
        rec["error"] = f"{type(exc).__name__}: {exc}"
        rec["traceback"] = traceback.format_exc()[-3000:]
        say(f"phase {name} FAILED: {rec['error']}")
    rec["wall_s"] = round(time.monotonic() - t, 2)
    LOG["phases"].append(rec)
    write_log()
    archive(args)
    say(f"phase {name}: done in {rec['wall_s']} s")
    return out


def write_log() -> None:
    atomic_write_text(HERE / "gpu_run.json", json.dumps(LOG, indent=1, default=str))


PART_BYTES = 15 * 2**20
DATA_DIR: str | None = None  # --data-dir (None: $NMPKIT_DATA)


def archive(args) -> None:
    if not args.archive:
        return
    dest = Path(args.archive)
    tmp = Path("/tmp") / f"nmpkit_gpu_{dest.name}.tmp"
    with tarfile.open(tmp, "w:gz") as tar:
        for p in [HERE / "gpu_run.json"] + [HERE / f"{s}.md" for s in SECTIONS]:
            if p.is_file():
                tar.add(p, arcname=str(p.relative_to(REPO)))
        for p in sorted(HERE.glob("*.png")):
            if p.stem.split("_")[0] in SECTIONS:
                tar.add(p, arcname=str(p.relative_to(REPO)))
        for s in SECTIONS:
            for p in sorted((HERE / s).glob("*")) if (HERE / s).is_dir() else []:
                if p.is_file() and p.suffix in (".csv", ".json", ".npz"):
                    tar.add(p, arcname=str(p.relative_to(REPO)))
        for name in ("cifar10", "autoencoder"):
            for suf in (".pt", ".json"):
                p = REPO / "nmpkit" / "weights" / f"{name}{suf}"
                if p.is_file() and LOG.get(f"trained_{name}"):
                    tar.add(p, arcname=str(p.relative_to(REPO)))
    for old in dest.parent.glob(dest.name + ".*"):
        old.unlink()
    data = tmp.read_bytes()
    for i in range(0, max(1, len(data)), PART_BYTES):
        part = dest.with_name(f"{dest.name}.{i // PART_BYTES:02d}")
        part.write_bytes(data[i : i + PART_BYTES])
    tmp.unlink()
    atomic_write_text(dest.parent / "gpu_run.json", json.dumps(LOG, indent=1, default=str))


# ----- phases -------------------------------------------------------------------------------------


def run_tests(timeout: float) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
           "tests/cosim/test_engine_setup.py", "tests/nmpkit/test_train.py", "-k", "cuda"]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    return {"command": " ".join(cmd[2:]), "rc": p.returncode,
            "tail": (p.stdout + p.stderr)[-1500:]}


def mnist_net(dev: str, limit: int | None = None):
    data = load_dataset("mnist", data_dir(DATA_DIR) / "mnist.npz")
    spec = get_network("mnist")
    mean, std = spec.norm_for("mnist")
    model = load_weights(spec, REPO / "nmpkit/weights/mnist.pt")
    net = convert_normalized(model, to_tensor(data.x_train[:1000], mean, std),
                  EvalConfig(timesteps=1, lower_bound=None))
    return (net, to_tensor(data.x_test[:limit], mean, std),
            torch.from_numpy(data.y_test[:limit]).long())


def _sync(dev: str) -> None:
    if torch.device(dev).type == "cuda":
        torch.cuda.synchronize()


def bench(dev: str, mem_gb: float, full_t: int) -> dict:
    import cosim

    net, x, y = mnist_net(dev, FULL["mnist"])
    out: dict = {"network": "mnist 20C3-50C5-FC500-FC10", "T": 100, "encoding": "current",
                 "lower_bound": "NMP"}
    budget = int(mem_gb * 2**30)
    for b in (256, 2048):
        b = len(x[:b])
        cosim.simulate(net, x[:b], timesteps=10, device=dev, memory_budget_bytes=budget)
        times = []
        for _ in range(3):
            _sync(dev)
            t = time.perf_counter()
            cosim.simulate(net, x[:b], timesteps=100, device=dev, memory_budget_bytes=budget)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        out[f"B{b}"] = {"seconds": [round(v, 4) for v in times],
                        "sample_steps_per_s": round(b * 100 / med)}
        say(f"bench B={b}: {b * 100 / med:,.0f} sample-steps/s")
    # spike counts on the GPU against the CPU engine (pure torch on the CPU: no compiler needed)
    g = cosim.simulate(net, x[:64], timesteps=100, device=dev)
    c = cosim.simulate(net, x[:64], timesteps=100, kernels=False)
    diff = [int((a.int() - b.int()).abs().sum()) for a, b in zip(g.spike_counts, c.spike_counts,
                                                                 strict=True)]
    out["gpu_vs_cpu_64x100"] = {"abs_count_difference_per_layer": diff,
                                "neuron_counts": [int(a.numel()) for a in c.spike_counts]}
    # the figure: the MNIST test set (10,000) to T = 1000, NMP, one simulate call
    _sync(dev)
    t = time.perf_counter()
    res = cosim.simulate(net, x, timesteps=full_t, device=dev, memory_budget_bytes=budget)
    wall = time.perf_counter() - t
    acc = res.accuracy_per_step(y)
    out[f"mnist_{len(x)}_T{full_t}_nmp"] = {
        "wall_s": round(wall, 2), "sample_steps_per_s": round(len(x) * full_t / wall),
        "accuracy_final": float(acc[-1]), "best_accuracy": float(acc.max()),
        "best_t": int(acc.argmax()) + 1, "chunk_size": res.schedule["chunk_size"],
        "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if torch.cuda.is_available() else None}
    say(f"MNIST {len(x)} x T={full_t} NMP on {dev}: {wall:.1f} s, acc {float(acc[-1]):.4f}")
    return out


def train_fitted(name: str, budget: float, dev: str, pilot: int = 60,
                 train_limit: int | None = None) -> dict:
    """Train ``name`` for as many recipe epochs as fit ``budget`` seconds (timed pilot)."""
    spec = get_network(name)
    data = load_dataset("cifar10", data_dir(DATA_DIR) / "cifar10.npz")
    scratch = Path("/tmp/nmpkit_gpu_pilot")
    scratch.mkdir(exist_ok=True)
    marks: dict[int, float] = {}
    first = pilot // 6
    seen = [0]

    def on_batch(_e: int, _b: int, _loss: float) -> None:
        if seen[0] in (first, pilot - 1):
            _sync(dev)
            marks[seen[0]] = time.perf_counter()
        seen[0] += 1

    t = time.perf_counter()
    train(spec, data, scratch / f"{name}.pt",
          TrainConfig(epochs=spec.recipe.epochs, device=dev, amp=True, max_batches=pilot,
                      eval_limit=2000, checkpoint_seconds=1e9, train_limit=train_limit),
          on_batch=on_batch)
    pilot_wall = time.perf_counter() - t
    per_batch = (marks[pilot - 1] - marks[first]) / (pilot - 1 - first)
    n_train = min(len(data.x_train), train_limit or len(data.x_train))
    per_epoch = per_batch * math.ceil(n_train / spec.recipe.batch_size) + 1.0
    left = budget - pilot_wall - 5.0
    epochs = max(1, min(spec.recipe.epochs, int(left / per_epoch)))
    say(f"{name}: {per_batch * 1e3:.2f} ms/batch, {per_epoch:.1f} s/epoch -> {epochs} epochs")
    out = REPO / "nmpkit" / "weights" / f"{name}.pt"
    cmd = (f"nmpkit train {name} --data-root {data_dir(DATA_DIR) / 'cifar10.npz'} --out "
           f"nmpkit/weights/{name}.pt --epochs {epochs} --seed 0 --device {dev} --amp")
    if train_limit:
        cmd += f" --train-limit {train_limit}"
    meta = train(spec, data, out, TrainConfig(epochs=epochs, device=dev, amp=True,
                                              command_line=cmd, checkpoint_seconds=1e9,
                                              train_limit=train_limit))
    for p in out.parent.glob(f"{name}.pt.ckpt"):
        p.unlink()
    LOG[f"trained_{name}"] = True
    return {"pilot_ms_per_batch": round(per_batch * 1e3, 3), "epochs": epochs,
            "recipe_epochs": spec.recipe.epochs, "train_seconds": meta["train_seconds"],
            "history": meta["history"], "command": cmd}


def section_args(name: str, args, limit: int | None, sweep_t: int) -> argparse.Namespace:
    argv = [name, "--timesteps", str(T[0]), "--sweep-timesteps", str(sweep_t), "--device",
            args.device, "--memory-gb", str(args.memory_gb), "--batch-size",
            str(args.batch[name]), "--threads", "8"]
    if DATA_DIR is not None:
        argv += ["--data-dir", DATA_DIR]
    if limit is not None:
        argv[1:1] = ["--limit", str(limit)]
    return rp.parse_args(argv)


def nmp_zmp(name: str, args, budget: float, pilot: int | None, full: int | None) -> dict:
    """NMP and ZMP to T = 1000 on a pilot subset, then on as many samples as fit ``budget``."""
    sec = rp.SECTIONS[name]
    t = time.monotonic()
    a = section_args(name, args, pilot, T[0])
    runs = {b: rp.evaluate(sec, name, b, T[0], a, corr=True) for b in ("nmp", "zmp")}
    spent = time.monotonic() - t
    n = pilot
    if pilot is not None and full is not None and full > pilot:
        per_sample = spent / pilot
        step = args.batch[name]
        extra = int((budget - spent) / per_sample) // step * step
        n = min(full, pilot + max(0, extra))
        if n > pilot:
            say(f"{name}: pilot {pilot} in {spent:.0f} s; extending to {n}")
            a = section_args(name, args, n, T[0])
            runs = {b: rp.evaluate(sec, name, b, T[0], a, corr=True) for b in ("nmp", "zmp")}
    rp.write_section(name, sec, runs, {}, a)
    per_run = spent / 2 * ((n or 1) / (pilot or 1))  # one bound's run at the final size
    STATE[name] = {"args": a, "runs": runs, "per_run_s": per_run}
    return {"samples": runs["nmp"]["samples"], "wall_s": round(time.monotonic() - t, 1),
            "pilot_s": round(spent, 1),
            **{f"{b}_final": runs[b][f"final_{runs[b]['metric']}"] for b in runs},
            **{f"{b}_best": runs[b][f"best_{runs[b]['metric']}"] for b in runs}}


STATE: dict[str, dict] = {}
T = [1000]  # timesteps of every SNN run (--timesteps)
FULL: dict[str, int] = {}


def sweep(name: str, args, clock: Clock, reserve: float) -> dict:
    """Floors one at a time at the NMP run's sample count, while their time fits."""
    st = STATE[name]
    sec, a, runs = rp.SECTIONS[name], st["args"], st["runs"]
    est = st["per_run_s"]
    done = []
    sw = {"0 (ZMP)": runs["zmp"]}
    for f in sec["floors"]:
        if clock.left() - reserve < est:
            break
        t = time.monotonic()
        sw[f"{f:g}"] = rp.evaluate(sec, name, f, T[0], a, corr=False)
        est = time.monotonic() - t
        done.append(f)
        sw_all = {**sw, "none (NMP)": runs["nmp"]}
        rp.write_section(name, sec, runs, sw_all, a)
        archive(args)
    return {"floors_done": done, "floors_planned": sec["floors"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=500.0, help="seconds for the whole run")
    p.add_argument("--device", default="cuda")
    p.add_argument("--data-dir", default=None,
                   help="folder holding mnist.npz, cifar10.npz (default: $NMPKIT_DATA)")
    p.add_argument("--memory-gb", type=float, default=40.0)
    p.add_argument("--archive", default=None, help="tar.gz of the outputs, rewritten per phase")
    p.add_argument("--skip", nargs="*", default=[], help="phases to skip")
    p.add_argument("--mnist-full", type=int, default=10000)
    p.add_argument("--cifar-full", type=int, default=10000)
    p.add_argument("--pilot", type=int, nargs=2, default=[2000, 1000],
                   help="pilot sizes for MNIST and CIFAR-10")
    p.add_argument("--train-budget", type=float, nargs=2, default=[150.0, 45.0],
                   help="seconds for CIFAR-10 and autoencoder training")
    p.add_argument("--train-pilot", type=int, default=60, help="batches of the timing pilot")
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--train-limit", type=int, default=None, help="first N training images")
    args = p.parse_args()
    global DATA_DIR
    DATA_DIR = args.data_dir
    T[0] = args.timesteps
    FULL["mnist"] = args.mnist_full
    args.batch = {"mnist": min(2000, args.pilot[0]), "cifar10": min(500, args.pilot[1]),
                  "autoencoder": 256}
    clock = Clock(args.budget)
    LOG["host"] = {"python": sys.version.split()[0], "torch": torch.__version__,
                   "platform": platform.platform(),
                   "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                   "argv": sys.argv[1:], "budget_s": args.budget}
    write_log()
    # old CPU results of these sections move aside: the archive holds only this run's files
    for s in SECTIONS:
        if (HERE / s).is_dir():
            (HERE / s).rename(Path("/tmp") / f"old_results_{s}_{int(time.time())}")
    todo = [
        ("tests", lambda: run_tests(min(90.0, clock.left()))),
        ("bench", lambda: bench(args.device, args.memory_gb, args.timesteps)),
        ("train_cifar10", lambda: train_fitted("cifar10", args.train_budget[0], args.device,
                                               args.train_pilot, args.train_limit)),
        ("train_autoencoder", lambda: train_fitted("autoencoder", args.train_budget[1],
                                                   args.device, args.train_pilot,
                                                   args.train_limit)),
        ("mnist", lambda: nmp_zmp("mnist", args, min(60.0, clock.left() - 200), *(
            args.pilot[0], args.mnist_full))),
        ("autoencoder", lambda: nmp_zmp("autoencoder", args, 0.0, None, None)),
        ("cifar10", lambda: nmp_zmp("cifar10", args, clock.left() - 90, args.pilot[1],
                                    args.cifar_full)),
        ("sweep_autoencoder", lambda: sweep("autoencoder", args, clock, 45.0)),
        ("sweep_mnist", lambda: sweep("mnist", args, clock, 20.0)),
        ("sweep_cifar10", lambda: sweep("cifar10", args, clock, 5.0)),
    ]
    for name, fn in todo:
        if name in args.skip:
            continue
        if clock.left() < 5:
            LOG["phases"].append({"phase": name, "skipped": "budget spent"})
            continue
        phase(name, clock, args, fn)
    LOG["total_s"] = round(args.budget - clock.left(), 1)
    write_log()
    archive(args)
    say(f"all phases done in {LOG['total_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
