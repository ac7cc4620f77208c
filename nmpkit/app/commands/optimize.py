"""`nmpkit optimize`: search circuit parameters (SPICE in the loop, Optuna) for the Pareto front of
energy per inference vs accuracy at a latency budget T, under an accuracy target and the safe
operating area; compare it with the study's −2 θ rule (`nmpkit.studies.optimize`: arguments →
``OptimizeConfig`` → ``run`` → ``OptimizeResult.save``).

Writes ``OUT/optimize.json`` (schema in `nmpkit.studies.optimize_output`), ``OUT/optimize.csv``
(one row per trial), keeps the study in ``OUT/optuna.db`` and the ngspice point cache and the
per-design calibrations under ``OUT/cache`` and ``OUT/designs``: rerunning continues the study.

Example::

    nmpkit optimize --weights nmpkit/weights/mnist.pt --data-root mnist.npz --n-trials 12 \\
        --timesteps 100 --limit 1000 --out optimize
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands import args as common

NAME = "optimize"
HELP = "co-design search over the circuit (ngspice in the loop, Optuna): energy vs accuracy"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from nmpkit.studies.optimize_space import DEFAULT_MAX_GATE_VOLTS, DEFAULT_SPACE

    common.add_model_arguments(p)
    p.add_argument("--limit", type=int, default=1000,
                   help="test images, the first LIMIT (0 = all; default 1000)")
    p.add_argument("--timesteps", type=int, default=100, help="latency budget T (default 100)")
    p.add_argument("--n-trials", type=int, default=12,
                   help="trials in the study in total; a rerun adds only the missing ones")
    p.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    p.add_argument("--space", nargs="+", default=list(DEFAULT_SPACE), metavar="NAME=SPEC",
                   help="searched parameters, e.g. v_dd_volts=0.8:1.2 c_mem_farads=x0.5:x2:log "
                   "preset=default,raised_rest (default: %(default)s)")
    common.add_tolerance(p)
    p.add_argument("--target-accuracy", type=float, default=None,
                   help="absolute target instead: the 95%% Wilson lower bound must reach it")
    p.add_argument("--max-gate-volts", type=float, default=DEFAULT_MAX_GATE_VOLTS,
                   help="safe operating area: V_DD − V_NEG <= this (default %(default)s V)")
    p.add_argument("--rule-v-dd", type=float, default=1.0,
                   help="V_DD of the −2 θ rule baseline (default preset; default 1.0 V)")
    p.add_argument("--startup-trials", type=int, default=5,
                   help="random trials before TPE models the front (default 5)")
    p.add_argument("--workers", type=int, default=None, help="ngspice processes (default: all)")
    common.add_scheduler(p, "the ngspice sweeps and the engine's image chunks run")
    common.add_threads_out(p, "optimize")


def run(args: argparse.Namespace) -> int:
    from nmpkit.studies.optimize import OptimizeConfig
    from nmpkit.studies.optimize import run as run_study

    common.apply_resources(args)
    cfg = OptimizeConfig(n_trials=args.n_trials, timesteps=args.timesteps, seed=args.seed,
                         space=tuple(args.space), tolerance=args.tolerance,
                         target_accuracy=args.target_accuracy, max_gate_volts=args.max_gate_volts,
                         rule_v_dd_volts=args.rule_v_dd, startup_trials=args.startup_trials,
                         workers=args.workers, scheduler=args.scheduler, network=args.network,
                         weights=args.weights, dataset=args.dataset, data_root=args.data_root,
                         limit=args.limit, study_dir=args.out)
    res = run_study(cfg, progress=common.progress_of(args))
    res.save(args.out)
    if args.json:
        common.print_json(res.summary, ("study_name", "samples", "timesteps", "nmp", "rule",
                                        "best", "spice"))
    elif not args.quiet:
        print(res.text())
    return 0
