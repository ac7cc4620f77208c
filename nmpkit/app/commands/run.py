"""`nmpkit run [CONFIG.toml]`: the whole study into one run directory, resumable."""

from __future__ import annotations

import argparse

NAME = "run"
HELP = ("characterize → calibrate → train → evaluate → trade-off → modulation → co-simulation "
        "check → report, into one run directory; unchanged stages are skipped")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", default=None,
                   help="run config TOML (default: the embedded default, Fashion-MNIST)")
    p.add_argument("--out", default="runs/default", help="run directory (default: %(default)s)")
    p.add_argument("--force", nargs="*", default=[], metavar="STAGE",
                   help="rerun these stages even if unchanged")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: all cores)")


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    from nmpkit.app.config import check_paths, load_config
    from nmpkit.app.errors import UsageError
    from nmpkit.app.out_paths import check_out_dir
    from nmpkit.app.pipeline import run_stages
    from nmpkit.app.stages import default_stages

    cfg = load_config(args.config)
    check_paths(cfg)
    check_out_dir(args.out)
    stages = default_stages(cfg)
    unknown = [s for s in args.force if s not in {st.name for st in stages}]
    if unknown:
        raise UsageError(f"--force: unknown stage(s) {unknown}; stages are "
                         f"{[st.name for st in stages]}")
    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
    log = None if (args.quiet or args.json) else (lambda m: print(m, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    outcomes = run_stages(stages, cfg, args.out, quiet=args.quiet or args.json,
                          force=args.force, log=log)
    wall = time.perf_counter() - t0
    summary = {"run_dir": args.out, "seconds": round(wall, 1),
               "stages": [{"name": o.name, "status": o.status, "seconds": round(o.seconds, 1),
                           "summary": dict(o.summary)} for o in outcomes]}
    if args.json:
        print(json.dumps(summary, default=str))
    elif not args.quiet:
        for o in outcomes:
            print(f"{o.name:>13}: {o.status:<7} {o.seconds:7.1f} s  "
                  + ", ".join(f"{k}={v}" for k, v in o.summary.items()
                              if not isinstance(v, list | dict))[:200])
        print(f"report: {args.out}/report/report.html  ({wall:.0f} s)")
    return 0
