"""`nmpkit cosim-check`: the same small network at transistor level (ngspice) and in cosim.

Trains input(7×7 pooled images) → ``--hidden`` → 10 here (seeded), converts it, and for every
``--v-neg`` runs ``--samples`` test images through the ngspice network and through cosim with the
calibrated neuron (on the step grid, and with every step in ``--substeps`` sub-steps: the gated
model) and with the ideal, uncalibrated IF. Writes ``cosim_check.json`` (summary, gate and
provenance) and ``counts.csv`` (per neuron: ngspice and every cosim model). Exit status 1 when
the gate (sub-stepped model's per-neuron spike-count error <= 2% at every V_NEG) fails.
"""

from __future__ import annotations

import argparse
import sys

from nmpkit.studies.cosim_check_result import SUBSTEPS

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
    p.add_argument("--substeps", type=int, default=SUBSTEPS,
                   help="sub-steps per step of the gated calibrated model (1 = the step model; "
                        "default: %(default)s)")
    p.add_argument("--out", default="cosim-check", help="output folder (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import json
    import math

    import torch

    from nmpkit.app.errors import UsageError
    from nmpkit.app.out_paths import check_out_dir
    from nmpkit.studies.cosim_check import CosimCheckConfig
    from nmpkit.studies.cosim_check import run as run_check

    if args.timesteps < 1 or args.hidden < 1 or args.samples < 1:
        raise UsageError("--timesteps, --hidden and --samples must be >= 1, got "
                         f"{args.timesteps}, {args.hidden}, {args.samples}")
    if any(not math.isfinite(v) or v > 0 for v in args.v_neg):
        raise UsageError(f"--v-neg values must be finite and <= 0, got {args.v_neg}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.substeps < 1:
        raise UsageError(f"--substeps must be >= 1, got {args.substeps}")
    check_out_dir(args.out)
    cfg = CosimCheckConfig(calibration=args.calibration, data_root=args.data_root,
                           dataset=args.dataset, hidden=args.hidden, timesteps=args.timesteps,
                           v_neg_volts=tuple(args.v_neg), samples=args.samples, seed=args.seed,
                           substeps=args.substeps)
    torch.set_num_threads(1)
    quiet = bool(args.quiet)

    def progress(p):
        if not quiet and not args.json:
            print(f"V_NEG {p.v_neg_volts:g} V sample {p.sample}: ngspice {p.ngspice_seconds:.1f} s")

    res = run_check(cfg, progress=progress)
    paths = res.save(args.out)
    g = res.summary["gate"]
    if args.json:
        print(json.dumps({"summary": res.rows, "gate": g, "out": str(args.out)}))
    elif not quiet:
        print(f"{'V_NEG':>6} {'model':>18} {'substeps':>8} {'MAE':>7} {'mean':>7} {'MAE/mean':>9}")
        for r in res.rows:
            print(f"{r['v_neg_volts']:>6g} {r['model']:>18} {r['substeps']:>8} {r['mae']:>7.3f} "
                  f"{r['mean_count']:>7.2f} {100 * r['rel_mae']:>8.2f}%")
        print(gate_line(g))
        print(f"wrote {paths[-1]}")
    if not g["passed"]:
        if quiet or args.json:
            print(gate_line(g), file=sys.stderr)
        return 1
    return 0


def gate_line(g: dict) -> str:
    """One line: the gate's verdict with the gated and the step model's error per V_NEG."""
    per = "; ".join(f"V_NEG {p['v_neg_volts']:g} V: {100 * p['rel_mae']:.2f}% at "
                    f"{p['substeps']} sub-steps (step model {100 * p['step_model_rel_mae']:.2f}%)"
                    for p in g["per_v_neg"])
    verdict = "passed" if g["passed"] else "FAILED"
    return f"gate (<= {100 * g['limit_rel_mae']:g}%, {g['model']}) {verdict}: {per}"
