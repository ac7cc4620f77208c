"""`nmpkit tradeoff`: accuracy and energy per inference over V_NEG (the floor), V_DD and the
latency budget T, with the decision made at 95% confidence.

Writes ``tradeoff.csv`` (one row per operating point and T: accuracy with its Wilson interval,
McNemar p and flips against NMP, the paired drop with its interval, energy), ``recommendation.json``
(the least-energy point whose drop against NMP is at 95% confidence within the tolerance, or
"unresolved" with the images needed; the −2 θ rule and ZMP beside it; provenance),
``tradeoff.json`` and ``tradeoff.png``. Finished simulations are kept in ``OUT/.parts`` keyed by
the inputs, so an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands import args as common

NAME = "tradeoff"
HELP = "sweep V_NEG (floor), V_DD and T: accuracy with CIs, energy, the answer at 95%% confidence"


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_classifier_arguments(p, limit=500, timesteps=(25, 50, 100, 200, 500, 1000))
    a = p.add_argument
    a("--v-neg", type=float, nargs="+", default=[0.0, -0.1, -0.25, -0.5, -1.0],
      help="V_NEG grid (the V_NEG of floors 0/-0.5/-1/-2 θ are added)")
    a("--v-dd", type=float, nargs="+", default=[0.8, 1.0, 1.2], help="V_DD grid")
    common.add_tolerance(p)
    a("--energy-samples", type=int, default=1000,
      help="test images energy is priced on at every T (0 = all; default 1000)")
    a("--batch", type=int, default=250, help="images per simulation (default 250)")
    common.add_energy_model(p, array_default="the whole network")
    a("--ideal", action="store_true",
      help="also run the plain IF at exactly 0/-0.5/-1/-2 θ (reference)")
    common.add_scheduler(p, "simulate the image chunks × neuron models")
    common.add_threads_out(p, "tradeoff")


def config_of(args: argparse.Namespace):
    """The `TradeoffConfig` of the parsed options (its checks name the bad value)."""
    from nmpkit.studies.tradeoff import TradeoffConfig

    return TradeoffConfig(
        calibration=str(args.calibration), weights=str(args.weights),
        data_root=str(args.data_root), network=args.network, dataset=args.dataset,
        limit=args.limit, timesteps=tuple(args.timesteps), v_neg_volts=tuple(args.v_neg),
        v_dd_volts=tuple(args.v_dd), tolerance=args.tolerance,
        energy_samples=args.energy_samples, batch=args.batch, ideal=bool(args.ideal),
        eta=args.eta, array_size=args.array_size, scheduler=args.scheduler or None)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nmpkit.studies.tradeoff import run as run_study

    cfg = common.build_config(lambda: config_of(args))
    common.apply_resources(args)
    out = Path(args.out)
    res = run_study(cfg, parts_dir=out / ".parts", progress=common.progress_of(args))
    res.save(out)
    rec = res.recommendation()
    if args.json:
        common.print_json(rec, ("text", "rule_text", "resolved", "chosen", "rule", "zmp",
                                "images_needed", "per_budget"))
    elif not args.quiet:
        print(f"ANN {res.record['ann_accuracy']:.4f} on the same {cfg.limit or 'all'} images")
        for b in rec["per_budget"]:
            print(f"T={b['timesteps']}: {b['text']}")
        print(rec["text"])
        print(rec["rule_text"])
        print(f"wrote {out / 'tradeoff.csv'}, {out / 'recommendation.json'}")
    return 0
