"""`nmpkit modulate`: accuracy under device variation, before and after the weight-modulation
loop (which observes only firing counts), for σ in ``--sigma``.

Writes ``modulate.json`` (accuracy per σ before/after, iterations, pulses, residual weight error,
non-converged synapses per layer, provenance), ``modulation.csv`` (one row per σ) and
``modulation_layers.csv`` (one row per σ and layer).
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands.args import add_classifier_arguments, add_threads_out

NAME = "modulate"
HELP = "device variation and the count-based weight-modulation loop: accuracy vs σ before/after"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_classifier_arguments(p, limit=200, timesteps=200)
    p.add_argument("--sigma", type=float, nargs="+", default=[0.05, 0.1, 0.2],
                   help="device-to-device log-normal σ values (default: 0.05 0.1 0.2)")
    p.add_argument("--v-neg", type=float, default=None,
                   help="V_NEG of the neurons' floor (default: the calibration's)")
    p.add_argument("--levels", type=int, default=64, help="conductance levels (default: 64)")
    p.add_argument("--sigma-pulse", type=float, default=0.1,
                   help="programming noise per pulse, in level steps (default: 0.1)")
    p.add_argument("--window", type=int, default=None,
                   help="steps per measurement (default: per layer, so that 2 counts resolve "
                   "one pulse's weight step)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="weight tolerance in θ (default: max(one pulse, 2 counts' worth))")
    p.add_argument("--max-iterations", type=int, default=8, help="rounds (default: 8)")
    p.add_argument("--max-pulses", type=int, default=40, help="pulse budget per synapse")
    p.add_argument("--seed", type=int, default=0, help="variation seed (default: 0)")
    add_threads_out(p, "modulate")


def run(args: argparse.Namespace) -> int:
    import json

    from nmpkit.app.commands.args import progress_of, set_threads
    from nmpkit.app.errors import UsageError
    from nmpkit.studies.modulation import ModulateConfig
    from nmpkit.studies.modulation import run as run_study

    if any(not 0 <= s < 1 for s in args.sigma):
        raise UsageError(f"--sigma values must be in [0, 1), got {args.sigma}")
    cfg = ModulateConfig(
        calibration=args.calibration, weights=args.weights, data_root=args.data_root,
        network=args.network, dataset=args.dataset, limit=args.limit, timesteps=args.timesteps,
        sigmas=tuple(args.sigma), v_neg_volts=args.v_neg, levels=args.levels,
        sigma_pulse=args.sigma_pulse, window=args.window, tolerance=args.tolerance,
        max_iterations=args.max_iterations, max_pulses=args.max_pulses, seed=args.seed)
    set_threads(args.threads)
    res = run_study(cfg, progress=progress_of(args))
    paths = res.save(args.out)
    if args.json:
        print(json.dumps({"ideal_accuracy": res.ideal_accuracy,
                          "rows": [{k: r[k] for k in ("sigma", "accuracy_before",
                                                      "accuracy_after")} for r in res.rows]}))
    elif not args.quiet:
        print(f"ideal {res.ideal_accuracy:.4f}")
        for (sig, line), r in zip(res.summary().items(), res.per_sigma(), strict=True):
            print(f"{sig}: before -> after {line} ({r['pulses']} pulses, "
                  f"{r['not_converged']} synapses not converged)")
        print(f"wrote {paths[0]}")
    return 0
