"""`nmpkit evaluate --nir FILE` (`nmpkit.studies.evaluate_nir`): a NIR file — written by
`nmpkit export-nir` or by another tool — simulated on a test set; accuracy after every step as
CSV plus a JSON sidecar. Not a subcommand of its own: `nmpkit evaluate` calls it for ``--nir``.
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands import args as common


def run_evaluate(args: argparse.Namespace) -> int:
    """`nmpkit evaluate --nir FILE`: `nmpkit.studies.evaluate_nir` on a classifier's test set."""
    from pathlib import Path

    from nmpkit.studies.evaluate_nir import NirEvaluateConfig
    from nmpkit.studies.evaluate_nir import run as run_nir

    cfg = common.build_config(lambda: NirEvaluateConfig(
        nir=args.nir, data_root=args.data_root, timesteps=args.timesteps, network=args.network,
        dataset=args.dataset, lower_bound=args.lower_bound, limit=args.limit,
        batch_size=args.batch_size, device=args.device, memory_budget_gb=args.memory_gb),
        {"memory_budget_gb": "--memory-gb"})
    out = Path(args.out or f"eval_nir_{Path(cfg.nir).stem}_T{cfg.timesteps}.csv")
    with common.sample_bar(args, f"{Path(cfg.nir).name} T={cfg.timesteps}") as bar:
        res = run_nir(cfg, parts_prefix=out.with_name(f"{out.name}.parts"), progress=bar.update,
                      record=common.argv_record(args))
    res.save(out.parent, out.name.removesuffix(".csv"))
    s = res.summary
    if args.json:
        common.print_json(s, [k for k in s if k != "provenance"])
    elif not args.quiet:
        for note in s["notes"]:
            print(f"note: {note}")
        lo, hi = s["final_accuracy_95ci"]
        print(f"wrote {out}: SNN accuracy {res.final:.4f} at t={cfg.timesteps} on "
              f"{s['samples']} samples (95% CI {lo:.4f}-{hi:.4f}), floor {s['floor']}")
    return 0
