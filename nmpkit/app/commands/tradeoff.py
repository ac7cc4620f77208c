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

from nmpkit.app.commands.args import add_classifier_arguments, add_threads_out

NAME = "tradeoff"
HELP = "sweep V_NEG (floor), V_DD and T: accuracy with CIs, energy, the answer at 95%% confidence"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_classifier_arguments(p, limit=500, timesteps=(25, 50, 100, 200, 500, 1000))
    a = p.add_argument
    a("--v-neg", type=float, nargs="+", default=[0.0, -0.1, -0.25, -0.5, -1.0],
      help="V_NEG grid (the V_NEG of floors 0/-0.5/-1/-2 θ are added)")
    a("--v-dd", type=float, nargs="+", default=[0.8, 1.0, 1.2], help="V_DD grid")
    a("--tolerance", type=float, default=0.005, help="largest accuracy drop vs NMP accepted at "
      "95%% confidence, as a fraction (default: 0.005 = 0.5 %%p)")
    a("--energy-samples", type=int, default=1000,
      help="test images energy is priced on at every T (0 = all; default 1000)")
    a("--batch", type=int, default=250, help="images per simulation (default 250)")
    a("--eta", type=float, default=0.5, help="the negative supply's charge-pump efficiency in the "
      "circuit energy model (default 0.5)")
    a("--array-size", type=int, default=None,
      help="neurons sharing one bias (default: the whole network)")
    a("--ideal", action="store_true",
      help="also run the plain IF at exactly 0/-0.5/-1/-2 θ (reference)")
    a("--scheduler", default=None, help="Dask scheduler address (tcp://host:8786): simulate the "
      "image chunks × neuron models on that cluster (same results as a local run)")
    add_threads_out(p, "tradeoff")


FLAGS = {"v_neg_volts": "--v-neg", "v_dd_volts": "--v-dd"}
"""The flags of the config fields whose flag is not ``--`` + the field's name with dashes."""


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
    import json
    from pathlib import Path

    from nmpkit.app.commands.args import check_scheduler, progress_of, set_threads
    from nmpkit.app.errors import UsageError
    from nmpkit.errors import ConfigError
    from nmpkit.studies.tradeoff import run as run_study

    try:
        cfg = config_of(args)
    except ConfigError as exc:
        field = str(exc).split(" ", 1)[0]
        raise UsageError(f"{FLAGS.get(field, '--' + field.replace('_', '-'))}: {exc}") from exc
    check_scheduler(cfg.scheduler)
    set_threads(args.threads)
    out = Path(args.out)
    res = run_study(cfg, parts_dir=out / ".parts", progress=progress_of(args))
    res.save(out)
    rec = res.recommendation()
    if args.json:
        print(json.dumps({k: rec[k] for k in ("text", "rule_text", "resolved", "chosen", "rule",
                                              "zmp", "images_needed", "per_budget")}))
        return 0
    if not args.quiet:
        print(f"ANN {res.record['ann_accuracy']:.4f} on the same {cfg.limit or 'all'} images")
        for b in rec["per_budget"]:
            print(f"T={b['timesteps']}: {b['text']}")
        print(rec["text"])
        print(rec["rule_text"])
        print(f"wrote {out / 'tradeoff.csv'}, {out / 'recommendation.json'}")
    return 0
