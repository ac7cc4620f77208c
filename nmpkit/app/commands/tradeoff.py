"""`nmpkit tradeoff`: accuracy and energy per inference over V_NEG (the floor) and V_DD.

Writes ``tradeoff.csv`` (every point, with its Pareto flag and energy regime), ``tradeoff.json``
(NMP reference, the least-energy point within 0.1 %p of NMP, the −2 θ rule beside it, the floors
0/−0.5/−1/−2 θ, provenance) and ``tradeoff.png``. Finished V_NEG runs are kept in
``OUT/.parts`` keyed by the inputs, so an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands import add_classifier_arguments

NAME = "tradeoff"
HELP = "sweep V_NEG (floor) and V_DD: accuracy, energy per inference, Pareto front"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_classifier_arguments(p, limit=500, timesteps=200)
    p.add_argument("--v-neg", type=float, nargs="+", default=[0.0, -0.1, -0.25, -0.5, -1.0],
                   help="V_NEG grid (the V_NEG of floors 0/-0.5/-1/-2 θ are added)")
    p.add_argument("--v-dd", type=float, nargs="+", default=[0.8, 1.0, 1.2], help="V_DD grid")
    p.add_argument("--tolerance", type=float, default=0.001,
                   help="accuracy tolerance vs NMP, as a fraction (default: 0.001 = 0.1 %%p)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    p.add_argument("--out", default="tradeoff", help="output folder (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from calib import Calibration
    from calib.io import content_hash, provenance
    from nmpkit.app.errors import UsageError
    from nmpkit.studies.tradeoff import fmt_joules, load_classifier, run_tradeoff, write_outputs

    if args.timesteps < 1 or args.threads < 1:
        raise UsageError(f"--timesteps and --threads must be >= 1, got {args.timesteps}, "
                         f"{args.threads}")
    if any(v > 0 for v in args.v_neg) or any(v <= 0 for v in args.v_dd):
        raise UsageError(f"need --v-neg <= 0 and --v-dd > 0, got {args.v_neg}, {args.v_dd}")
    torch.set_num_threads(args.threads)
    cal = Calibration.load(args.calibration)
    clf = load_classifier(network=args.network, weights=args.weights, dataset=args.dataset,
                          data_root=args.data_root, limit=args.limit)
    key = content_hash({"cal": cal.to_dict(), "clf": clf.info, "T": args.timesteps})[:16]
    out = Path(args.out)
    quiet = bool(args.quiet) or bool(args.json)
    res = run_tradeoff(cal, clf, v_neg_volts=args.v_neg, v_dd_volts=args.v_dd,
                       timesteps=args.timesteps, tolerance=args.tolerance,
                       parts_dir=out / ".parts" / key,
                       progress=None if quiet else print)
    meta = {"ann_accuracy": clf.ann_accuracy, "timesteps": args.timesteps,
            "note": "accuracy from the calibrated neuron at each V_NEG; V_DD moves energy only "
                    "(the transfer curve is the calibration's, measured at its own V_DD)",
            "provenance": provenance(command="nmpkit tradeoff", calibration=args.calibration,
                                     calibration_sources=cal.sources, **clf.info,
                                     v_neg=args.v_neg, v_dd=args.v_dd)}
    write_outputs(out, res, meta)
    if args.json:
        print(json.dumps({k: res[k] for k in ("nmp", "chosen", "rule", "by_floor",
                                              "ideal_if_by_floor")}))
        return 0
    if not args.quiet:
        print(f"ANN {clf.ann_accuracy:.4f}; NMP (no floor) {res['nmp']['accuracy']:.4f}")
        print(f"{'floor θ':>8} {'V_NEG':>7} {'accuracy':>9} {'energy/inf':>12}")
        for r in res["by_floor"]:
            print(f"{r['floor_theta']:>8.3f} {r['v_neg_volts']:>7.3f} {r['accuracy']:>9.4f} "
                  f"{fmt_joules(r['energy_joules']):>12}  (target {r['target_floor_theta']:g})")
        print("ideal IF (no circuit) at exactly these floors: " + ", ".join(
            f"{r['floor_theta']:g} θ → {r['accuracy']:.4f}" for r in res["ideal_if_by_floor"]))
        c, rule = res["chosen"], res["rule"]
        if c:
            print(f"least energy within {100 * args.tolerance:g} %p of NMP: "
                  f"V_DD {c['v_dd_volts']:g} V, V_NEG {c['v_neg_volts']:g} V "
                  f"(floor {c['floor_theta']:.3f} θ), "
                  f"accuracy {c['accuracy']:.4f}, {fmt_joules(c['energy_joules'])}")
        if rule and "unavailable" not in rule:
            print(f"−2 θ rule: V_NEG {rule['v_neg_volts']:g} V at V_DD {rule['v_dd_volts']:g} V, "
                  f"accuracy {rule['accuracy']:.4f}, {fmt_joules(rule['energy_joules'])}")
        print(f"wrote {out / 'tradeoff.json'}")
    return 0
