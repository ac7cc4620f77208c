"""The calibrated neuron's firing rates against the ideal IF's on CIFAR-10, part by part (issue 11).

Written to explain why the calibrated neuron fired less than the ideal IF; since ``calib.fit``
takes θ from the f–I curve's charge per spike (23edca4) that deficit is gone, and the script now
measures that each part of the transfer curve keeps the rates at the ideal IF's.

    flock /work/heavy.lock python results/calibrated_vs_ideal_rates.py --network cifar10 \
        --limit 100 --timesteps 300 [--diag-images 20] [--threads 2]
    python results/calibrated_vs_ideal_rates.py --report-only

The calibrated neuron (`nmpkit.studies.tradeoff_sim.neuron_for`, calibration-default.json at
V_DD 1 V, nominal) differs from the ideal IF only by its transfer curve T (threshold 1, gain 1,
reset subtract, 0 refractory steps): T(x) = rate(x·I_unit)·dt for x ≥ 0 (the measured f–I, flat
above its last current), slope r (inhibitory / excitatory mirror gain) below 0. One
``cosim.simulate_variants`` pass per chunk runs the ideal and calibrated neurons and neurons that
keep one of T's parts at a time, so that each part's share of the rate deficit is measured:

- ``uniform gain s``: gain s = T(1) on every input, either sign (inhibition r·s);
- ``linear s, inh r``: T linearized (slope s above 0, r below): the gain plus the asymmetry
  between excitation (×s) and inhibition (×r ≈ 1) — no nonlinearity, no saturation;
- ``calibrated NMP`` itself: adds T's curvature and saturation to the line;
- the conversion fix ``÷ s`` (IFNeuron gain 1/s in front of T: the input that fires once per
  step maps to 1), for NMP and ZMP, and ``÷ s, inh r·s`` (the fix with inhibition weighed like
  excitation) — analysis variants only, no default changes.

On the first ``--diag-images`` images (``record_ann``) it also bins each layer's neurons by their
normalized ANN activation a (deciles of a > 0) and gives the calibrated/ideal spike-count ratio
per bin next to the constant-current prediction min(T(a), 1) / min(a, 1). Accuracy at t = T
with Wilson intervals; pairs with Newcombe's interval and McNemar's exact p. Writes
results/calibrated_vs_ideal_rates/<network>_n<N>_T<T>.json (provenance, per-image correctness)
and rebuilds results/calibrated_vs_ideal.md (its last section is this study).
"""

from __future__ import annotations

import argparse
import dataclasses
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
from calib.io import atomic_write_json, provenance  # noqa: E402
from nmpkit.studies.batched import batch_slices  # noqa: E402
from nmpkit.studies.tradeoff import load_classifier  # noqa: E402
from nmpkit.studies.tradeoff_sim import correct_at, neuron_for, pack  # noqa: E402

OUT = ROOT / "results" / "calibrated_vs_ideal_rates"
CAL = ROOT / "results" / "calibration" / "calibration-default.json"
DATA = {"mnist": "/work/shared/datasets/mnist.npz", "cifar10": "/work/shared/datasets/cifar10.npz"}
WEIGHTS = {"mnist": "nmpkit/weights/mnist.pt", "cifar10": "nmpkit/weights/cifar10.pt"}
BASE = "ideal NMP"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a = p.add_argument
    a("--network", choices=sorted(WEIGHTS), default="cifar10")
    a("--limit", type=int, default=100, help="first N test images")
    a("--timesteps", type=int, default=300)
    a("--diag-images", type=int, default=20, help="images of the per-decile rate analysis")
    a("--batch-size", type=int, default=20)
    a("--calibration", default=str(CAL))
    a("--v-dd", type=float, default=1.0)
    a("--threads", type=int, default=2)
    a("--memory-gb", type=float, default=2.0)
    a("--out", default=str(OUT))
    a("--report-only", action="store_true")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for name, lo, hi in (("limit", 1, 10_000), ("timesteps", 1, 100_000),
                         ("diag_images", 1, 1_000), ("batch_size", 1, 10_000)):
        v = getattr(args, name)
        if not lo <= v <= hi:
            raise SystemExit(f"--{name.replace('_', '-')}: expected {lo}..{hi}, got {v}")
    return args


def curve(neuron) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = neuron.transfer
    return xs.double().numpy(), ys.double().numpy()


def curve_facts(cal: Calibration, v_dd: float, neuron) -> dict:
    """T's parts: s = T(1), small-signal slope, slope range on (0, 1.05], inhibitory slope,
    saturation, threshold, refractory steps, floor at V_NEG 0."""
    xs, ys = curve(neuron)
    pos = (xs > 0) & (xs <= 1.06)
    sl = ys[pos] / xs[pos]
    c = cal.at(v_dd)
    return {"s": float(np.interp(1.0, xs, ys)), "slope_small": float(sl[0]),
            "slope_min_used": float(sl.min()), "slope_max_used": float(sl.max()),
            "x_for_one_spike_per_step": float(np.interp(1.0, ys, xs)),
            "inh_slope": float(-ys[0] / -xs[0]) if xs[0] < 0 else None,
            "x_saturation": float(xs[-2]), "y_saturation": float(ys[-2]),
            "threshold": float(torch.as_tensor(neuron.threshold).double().mean()),
            "gain": float(torch.as_tensor(neuron.gain).double().mean()),
            "refractory_steps": neuron.refractory_steps,
            "spike_width_steps": c.spike_width_seconds / c.dt_seconds,
            "inh_gain_ratio_nmp": c.inh_gain_ratio(None),
            "inh_gain_ratio_v_neg0": c.inh_gain_ratio(0.0),
            "floor_theta_v_neg0": c.floor_theta(0.0),
            "membrane_floor_theta_v_neg0": c.membrane_floor_theta(0.0),
            "start_theta": float(neuron.v_init)}


def variants(cal: Calibration, shapes, v_dd: float) -> tuple[dict, dict]:
    import cosim

    cn = neuron_for(cal, shapes, v_dd_volts=v_dd, v_neg_volts=None)
    cz = neuron_for(cal, shapes, v_dd_volts=v_dd, v_neg_volts=0.0)
    facts = curve_facts(cal, v_dd, cn[0])
    s, r = facts["s"], facts["inh_slope"]
    one = torch.tensor([-1.0, 0.0, 1.0])

    def fix(ns, **kw):
        return tuple(dataclasses.replace(n, gain=1.0 / s, **kw) for n in ns)

    xs, ys = cn[0].transfer
    inh_like_exc = (xs, torch.where(xs < 0, xs * (r * s), ys))
    return {
        "ideal NMP": cosim.IFNeuron(),
        "uniform gain s": cosim.IFNeuron(gain=s, transfer=(one, torch.tensor([-r, 0.0, 1.0]))),
        "linear s, inh r": cosim.IFNeuron(transfer=(one, torch.tensor([-r, 0.0, s]))),
        "calibrated NMP": tuple(cn),
        "calibrated NMP ÷ s": fix(cn),
        "calibrated NMP ÷ s, inh r·s": fix(cn, transfer=inh_like_exc),
        "ideal ZMP": cosim.IFNeuron(lower_bound=0.0),
        "calibrated ZMP": tuple(cz),
        "calibrated ZMP ÷ s": fix(cz),
    }, facts


def decile_table(ann: list, ideal: list, calib: list, T: int, xs, ys) -> list[dict]:
    """Per layer: deciles of a > 0, ideal and calibrated rate per step, their ratio, and the
    constant-current prediction min(T(a), 1) / min(a, 1) at the bin's mean a."""
    out = []
    for li, (a, ri, rc) in enumerate(zip(ann, ideal, calib, strict=True)):
        a = a.double().flatten().numpy()
        ri = ri.double().flatten().numpy() / T
        rc = rc.double().flatten().numpy() / T
        act = a > 0
        edges = np.quantile(a[act], np.linspace(0, 1, 11)) if act.any() else np.zeros(11)
        rows = []
        for k in range(10):
            m = act & (a >= edges[k]) & ((a <= edges[k + 1]) if k == 9 else (a < edges[k + 1]))
            if not m.any():
                continue
            am = float(a[m].mean())
            pred = min(float(np.interp(am, xs, ys)), 1.0) / min(am, 1.0)
            rows.append({"a_low": float(edges[k]), "a_high": float(edges[k + 1]), "a_mean": am,
                         "ideal_rate": float(ri[m].mean()), "calibrated_rate": float(rc[m].mean()),
                         "ratio": float(rc[m].sum() / ri[m].sum()) if ri[m].sum() else None,
                         "predicted_ratio": pred})
        out.append({"layer": li, "neurons_per_image": int(a.size // ann[0].shape[0]),
                    "frac_active": float(act.mean()), "frac_a_above_1": float((a > 1).mean()),
                    "a_p50": float(np.median(a[act])) if act.any() else 0.0,
                    "a_p99": float(np.quantile(a[act], 0.99)) if act.any() else 0.0,
                    "silent_rate_ideal": float(ri[~act].mean()) if (~act).any() else 0.0,
                    "silent_rate_calibrated": float(rc[~act].mean()) if (~act).any() else 0.0,
                    "spikes_ratio_all": float(rc.sum() / ri.sum()), "bins": rows})
    return out


def run(args) -> dict:
    import cosim

    torch.set_num_threads(args.threads)
    cal = Calibration.load(args.calibration)
    clf = load_classifier(network=args.network, weights=WEIGHTS[args.network],
                          dataset=args.network, data_root=DATA[args.network], limit=args.limit)
    models, facts = variants(cal, [ly.shape for ly in clf.net.layers], args.v_dd)
    names, T = list(models), args.timesteps
    correct = {k: [] for k in names}
    spikes = {k: None for k in names}
    diag, t0 = None, time.perf_counter()
    n_diag = min(args.diag_images, len(clf.x))
    slices = ([slice(0, n_diag)] + [slice(n_diag + s.start, n_diag + s.stop)
                                   for s in batch_slices(len(clf.x) - n_diag, args.batch_size)])
    for sl in slices:
        first = sl.start == 0
        res = cosim.simulate_variants(clf.net, clf.x[sl], neurons=list(models.values()),
                                      timesteps=T, record_ann=first,
                                      memory_budget_bytes=int(args.memory_gb * 2**30))
        for k, r in zip(names, res, strict=True):
            correct[k].append(correct_at(r.output_spikes, clf.y[sl], [T])[0])
            tot = np.array([float(c.double().sum()) for c in r.spike_counts])
            spikes[k] = tot if spikes[k] is None else spikes[k] + tot
        if first:
            xs, ys = curve(models["calibrated NMP"][0])
            diag = decile_table(res[0].ann_activations, res[0].spike_counts,
                                res[names.index("calibrated NMP")].spike_counts, T, xs, ys)
        del res
        print(f"  images {sl.start}..{sl.stop - 1}: {time.perf_counter() - t0:.0f} s", flush=True)
    wall = time.perf_counter() - t0
    return {"network": args.network, "info": clf.info, "timesteps": T, "images": len(clf.x),
            "ann_accuracy": clf.ann_accuracy, "diag_images": n_diag, "curve": facts,
            "calibration": str(Path(args.calibration).resolve().relative_to(ROOT))
            if Path(args.calibration).resolve().is_relative_to(ROOT) else args.calibration,
            "v_dd_volts": args.v_dd,
            "variants": {k: {"correct": pack(np.concatenate(correct[k])),
                             "spikes_per_layer": spikes[k].tolist()} for k in names},
            "deciles": diag, "wall_seconds": round(wall, 1),
            "command": "python results/calibrated_vs_ideal_rates.py " + shlex.join(args.argv),
            "provenance": provenance(command="results/calibrated_vs_ideal_rates.py",
                                     argv=args.argv)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from calibrated_vs_ideal_report import write_report

    if not args.report_only:
        s = run(args)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{s['network']}_n{s['images']}_T{s['timesteps']}.json"
        atomic_write_json(path, s)
        print(f"wrote {path}")
    write_report(ROOT / "results" / "calibrated_vs_ideal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
