"""What the study-faithful circuit changes when its calibrated neuron replaces the ideal IF
(issue 11 §3): NMP and ZMP, ideal vs calibrated, on the same test images.

    flock /work/heavy.lock python results/calibrated_vs_ideal.py --network mnist --limit 1000 \
        --timesteps 300 [--floors=-0.1,-0.2] [--threads 2]
    python results/calibrated_vs_ideal.py --report-only

One ``cosim.simulate_variants`` pass per chunk of test images runs every neuron model:

- ``ideal NMP`` / ``ideal ZMP``: the plain IF (threshold 1, gain 1), no floor / floor 0;
- ``calibrated NMP`` / ``calibrated ZMP``: `nmpkit.studies.tradeoff_sim.neuron_for` — the
  default design's calibration (results/calibration/calibration-default.json) at V_DD
  ``--v-dd`` (its transfer nonlinearity and saturation, inhibitory mirror gain, refractory
  steps; the nominal neuron, no mismatch), with no floor / the circuit's floor at V_NEG 0 V
  (``Calibration.membrane_floor_theta(0)``: the membrane floors at ground, a little above the
  post-reset level, and only inhibition meets it), every membrane started at the membrane
  controller's level (``Calibration.start_theta``);
- ``--floors``: ideal IF with those floors (θ), for a floor sweep on the same images.

Accuracy after t steps (most output spikes so far, ties to the lowest class) at t = 50, 100,
200 and T with Wilson 95% intervals; pairs on the same images with Newcombe's paired interval and
McNemar's exact p (`nmpkit.studies.stats.compare`). Each finished chunk is kept under
runs/calibrated_vs_ideal/ (a killed run resumes). Writes results/calibrated_vs_ideal/
<network>_n<N>_T<T>.json (per-image correctness, provenance) and rebuilds
results/calibrated_vs_ideal.md from every JSON there (results/calibrated_vs_ideal_report.py).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "results"))

from calib.calibration import Calibration  # noqa: E402
from calib.calibration import content_hash as calibration_hash  # noqa: E402
from calib.io import atomic_write_json, atomic_write_npz, content_hash, provenance  # noqa: E402
from nmpkit.studies.batched import batch_slices  # noqa: E402
from nmpkit.studies.classifier import load_classifier  # noqa: E402
from nmpkit.studies.tradeoff_sim import correct_at, neuron_for, pack  # noqa: E402

OUT = ROOT / "results" / "calibrated_vs_ideal"
CAL = ROOT / "results" / "calibration" / "calibration-default.json"
DATA = {"mnist": "/work/shared/datasets/mnist.npz", "cifar10": "/work/shared/datasets/cifar10.npz"}
WEIGHTS = {"mnist": "nmpkit/weights/mnist.pt", "cifar10": "nmpkit/weights/cifar10.pt"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a = p.add_argument
    a("--network", choices=sorted(WEIGHTS), default="mnist")
    a("--limit", type=int, default=1000, help="first N test images")
    a("--timesteps", type=int, default=300)
    a("--floors", default="", help="extra ideal-IF floors (θ), a comma list like -0.1,-0.2")
    a("--calibration", default=str(CAL))
    a("--v-dd", type=float, default=1.0, help="the calibrated neuron's V_DD (V)")
    a("--batch-size", type=int, default=100)
    a("--memory-gb", type=float, default=2.0)
    a("--threads", type=int, default=2)
    a("--run-dir", default="runs/calibrated_vs_ideal")
    a("--out", default=str(OUT))
    a("--report-only", action="store_true", help="only rebuild the page from the saved JSONs")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= args.limit <= 10_000:
        raise SystemExit(f"--limit: expected 1..10000 test images, got {args.limit}")
    if not 1 <= args.timesteps <= 100_000:
        raise SystemExit(f"--timesteps: expected 1..100000, got {args.timesteps}")
    args.floor_list = parse_floors(args.floors)
    return args


def parse_floors(text: str) -> list[float]:
    out = []
    for v in (t.strip() for t in text.split(",") if t.strip()):
        try:
            f = float(v)
        except ValueError:
            f = float("nan")
        if not -1e3 <= f < 0:
            raise SystemExit(f"--floors: expected a comma list of floors < 0 (θ), got {v!r}")
        out.append(round(f, 6))
    return sorted(set(out), reverse=True)


def variants(cal: Calibration, shapes, v_dd: float, floors: list[float]) -> dict[str, object]:
    """Name → neuron model (``SimConfig.neuron`` form) of every variant of the pass."""
    import cosim

    out: dict[str, object] = {
        "ideal NMP": cosim.IFNeuron(), "ideal ZMP": cosim.IFNeuron(lower_bound=0.0),
        "calibrated NMP": tuple(neuron_for(cal, shapes, v_dd_volts=v_dd, v_neg_volts=None)),
        "calibrated ZMP": tuple(neuron_for(cal, shapes, v_dd_volts=v_dd, v_neg_volts=0.0))}
    out |= {f"ideal {f:g}": cosim.IFNeuron(lower_bound=f) for f in floors}
    return out


def describe(neuron) -> dict:
    n = neuron[0] if isinstance(neuron, tuple) else neuron
    return {"lower_bound": n.lower_bound, "refractory_steps": n.refractory_steps,
            "transfer": n.transfer is not None,
            "threshold": float(torch.as_tensor(n.threshold).double().mean()),
            "gain": float(torch.as_tensor(n.gain).double().mean())}


def _rel(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def steps_of(T: int) -> list[int]:
    return sorted({t for t in (50, 100, 200) if t < T} | {T})


def run_pass(clf, models: dict, T: int, steps: list[int], args, key: str) -> dict:
    """Per variant: (len(steps), N) bool correctness and the mean rate of every spiking layer."""
    import cosim

    names, neurons = list(models), list(models.values())
    parts = Path(args.run_dir) / key
    parts.mkdir(parents=True, exist_ok=True)
    correct = {k: [] for k in names}
    rates = {k: None for k in names}
    reused = 0
    n = len(clf.x)
    for sl in batch_slices(n, args.batch_size):
        part = parts / f"chunk_{sl.start:06d}_{sl.stop - sl.start}.npz"
        rec = None
        if part.is_file():
            try:
                rec = dict(np.load(part))
            except (OSError, ValueError):
                rec = None
        reused += rec is not None
        if rec is None:
            res = cosim.simulate_variants(clf.net, clf.x[sl], neurons=neurons, timesteps=T,
                                          memory_budget_bytes=int(args.memory_gb * 2**30))
            rec = {}
            for k, r in zip(names, res, strict=True):
                rec[f"c_{k}"] = correct_at(r.output_spikes, clf.y[sl], steps)
                rec[f"r_{k}"] = np.array([float(torch.as_tensor(v).double().mean())
                                          for v in r.layer_rates])
            atomic_write_npz(part, rec)
        m = sl.stop - sl.start
        for k in names:
            correct[k].append(rec[f"c_{k}"])
            r = rec[f"r_{k}"] * m
            rates[k] = r if rates[k] is None else rates[k] + r
    return {k: (np.concatenate(correct[k], axis=1), (rates[k] / n).tolist()) for k in names} | {
        "_chunks": (reused, len(list(batch_slices(n, args.batch_size))))}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from calibrated_vs_ideal_report import write_report

    if args.report_only:
        write_report(Path(args.out))
        return 0
    torch.set_num_threads(args.threads)
    cal = Calibration.load(args.calibration)
    clf = load_classifier(network=args.network, weights=WEIGHTS[args.network],
                          dataset=args.network, data_root=DATA[args.network], limit=args.limit)
    shapes = [ly.shape for ly in clf.net.layers]
    models = variants(cal, shapes, args.v_dd, args.floor_list)
    T, steps = args.timesteps, steps_of(args.timesteps)
    # chunks depend on their own images only: a run on fewer or more test images reuses them
    same = {k: v for k, v in clf.info.items() if k != "test_samples"}
    # the calibration by its content address, not its path: a refitted file at the same path
    # must not reuse the previous file's chunks
    key = content_hash({"info": same, "T": T, "b": args.batch_size,
                        "cal": calibration_hash(cal.to_dict()),
                        "v_dd": args.v_dd, "variants": list(models)})[:12]
    t0 = time.perf_counter()
    got = run_pass(clf, models, T, steps, args, f"{args.network}_T{T}-{key}")
    reused, chunks = got.pop("_chunks")
    wall = time.perf_counter() - t0
    print(f"{args.network}: {len(clf.x)} images, T={T}, {len(models)} variants, {wall:.1f} s")
    summary = {
        "network": args.network, "info": clf.info, "timesteps": T, "steps": steps,
        "images": len(clf.x), "ann_accuracy": clf.ann_accuracy,
        "calibration": _rel(args.calibration), "v_dd_volts": args.v_dd,
        "calibrated_zmp_floor_theta": cal.at(args.v_dd).floor_theta(0.0),
        "calibrated_zmp_lower_bound": models["calibrated ZMP"][0].lower_bound,
        "calibrated_start_theta": models["calibrated ZMP"][0].v_init,
        "variants": {k: {"neuron": describe(models[k]), "layer_rates": got[k][1],
                         "correct": {str(t): pack(got[k][0][i]) for i, t in enumerate(steps)}}
                     for k in models},
        "wall_seconds": round(wall, 1), "chunks": chunks, "chunks_reused": reused,
        "command": "python results/calibrated_vs_ideal.py " + shlex.join(args.argv),
        "provenance": provenance(command="results/calibrated_vs_ideal.py", argv=args.argv)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / f"{args.network}_n{len(clf.x)}_T{T}.json", summary)
    write_report(out)
    print(f"wrote {out / f'{args.network}_n{len(clf.x)}_T{T}.json'} and the page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
