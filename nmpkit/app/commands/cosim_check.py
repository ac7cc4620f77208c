"""`nmpkit cosim-check`: the same small network at transistor level (ngspice) and in cosim.

Trains input(7×7 pooled images) → ``--hidden`` → 10 here (seeded), converts it, and for every
``--v-neg`` runs ``--samples`` test images through the ngspice network and through cosim with the
calibrated neuron and with the ideal, uncalibrated IF. Writes ``cosim_check.json`` (summary with
provenance) and ``counts.csv`` (per neuron: ngspice, calibrated cosim, ideal IF).
"""

from __future__ import annotations

import argparse

NAME = "cosim-check"
HELP = "compare per-neuron spike counts: ngspice transistor-level network vs calibrated cosim"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--calibration", required=True, help="calibration JSON (nmpkit calibrate)")
    p.add_argument("--dataset", default="mnist", help="mnist or fashion-mnist (default: mnist)")
    p.add_argument("--data-root", required=True, help="dataset folder or .npz")
    p.add_argument("--hidden", type=int, default=20, help="hidden neurons (default: 20)")
    p.add_argument("--timesteps", type=int, default=100, help="T, >= 50 (default: 100)")
    p.add_argument("--v-neg", type=float, nargs="+", default=[0.0, -0.5],
                   help="negative supplies to check (default: 0 -0.5)")
    p.add_argument("--samples", type=int, default=1, help="test images per V_NEG (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    p.add_argument("--out", default="cosim-check", help="output folder (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import pandas as pd
    import torch

    from calib import Calibration
    from calib.io import atomic_write_csv, atomic_write_json, provenance
    from nmpkit.app.errors import UsageError
    from nmpkit.ml.data import load_dataset
    from nmpkit.studies.cosim_check import run_check, small_network, summarize

    if args.timesteps < 1 or args.hidden < 1 or args.samples < 1:
        raise UsageError("--timesteps, --hidden and --samples must be >= 1, got "
                         f"{args.timesteps}, {args.hidden}, {args.samples}")
    if any(v > 0 for v in args.v_neg):
        raise UsageError(f"--v-neg values must be <= 0, got {args.v_neg}")
    torch.set_num_threads(1)
    cal = Calibration.load(args.calibration)
    ds = load_dataset(args.dataset, args.data_root)
    net, pool = small_network(ds.x_train, ds.y_train, hidden=args.hidden, seed=args.seed)
    x = pool(ds.x_test[:args.samples])
    with torch.no_grad():
        acc = float((torch.as_tensor(net.ann_forward(pool(ds.x_test[:2000]))[-1]).argmax(1)
                     == torch.as_tensor(ds.y_test[:2000])).double().mean())
    quiet = bool(args.quiet)

    def progress(p):
        if not quiet and not args.json:
            print(f"V_NEG {p.v_neg_volts:g} V sample {p.sample}: ngspice {p.ngspice_seconds:.1f} s")

    points = run_check(cal, net, x, v_neg_volts=args.v_neg, timesteps=args.timesteps,
                       progress=progress)
    rows = summarize(points)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    per = []
    for p in points:
        for li, c in enumerate(p.circuit):
            for i in range(len(c)):
                per.append({"v_neg_volts": p.v_neg_volts, "sample": p.sample, "layer": li,
                            "neuron": i, "count_spice": int(c[i]),
                            "count_calibrated": int(p.cosim["calibrated"][li][i]),
                            "count_ideal": int(p.cosim["ideal_nominal"][li][i]),
                            "count_ideal_unit": int(p.cosim["ideal_unit"][li][i])})
    atomic_write_csv(out / "counts.csv", pd.DataFrame(per))
    summary = {
        "summary": rows,
        "network": {"layers": [list(ly.shape) for ly in net.layers], "inputs": 49,
                    "ann_accuracy_2000_test": acc, "dataset": args.dataset,
                    "data_source": ds.source},
        "timesteps": args.timesteps, "dt_seconds": cal.dt_seconds,
        "i_unit_amps": cal.i_unit_amps,
        "rest_volts": {str(v): cal.rest_at(v) for v in args.v_neg},
        "floor_theta": {str(v): cal.floor_theta(v) for v in args.v_neg},
        "gate_seconds": {str(p.v_neg_volts): p.gate_seconds for p in points},
        "ngspice_seconds": sum(p.ngspice_seconds for p in points),
        "provenance": provenance(command="nmpkit cosim-check", calibration=args.calibration,
                                 calibration_sources=cal.sources, seed=args.seed,
                                 hidden=args.hidden, samples=args.samples, v_neg=args.v_neg),
    }
    atomic_write_json(out / "cosim_check.json", summary)
    if args.json:
        print(json.dumps({"summary": rows, "out": str(out)}))
    elif not quiet:
        print(f"{'V_NEG':>6} {'model':>14} {'MAE':>7} {'mean':>7} {'MAE/mean':>9}")
        for r in rows:
            print(f"{r['v_neg_volts']:>6g} {r['model']:>14} {r['mae']:>7.3f} "
                  f"{r['mean_count']:>7.2f} {100 * r['rel_mae']:>8.2f}%")
        print(f"wrote {out / 'cosim_check.json'}")
    return 0
