"""`nmpkit evaluate`: run a trained network as a converted SNN; accuracy/MSE per step as CSV.

Arguments → `nmpkit.studies.evaluate.EvaluateConfig` → ``run`` → ``EvaluateResult.save`` (OUT's
folder, OUT's name: OUT, OUT.json, OUT_correct.npz, OUT_corr.csv, OUT_recon.npz) → one line.
``--nir FILE`` evaluates a NIR file instead (`nmpkit.app.commands.evaluate_nir.run_evaluate`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nmpkit.app.commands import args as common

NAME = "evaluate"
HELP = (
    "convert a trained network to an SNN and write its accuracy (or MSE) after every timestep, "
    "with ANN-vs-SNN correlation data"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    a = p.add_argument
    a("network", nargs="?", default=None,
      help="mnist | allconv28 | svhn | cifar10 | autoencoder (with --nir: optional)")
    a("--weights", default=None, help="state_dict written by `nmpkit train`")
    a("--lower-bound", default=None, help="nmp (no floor), zmp (floor 0) or a float <= 0 in "
      "threshold units (with --nir: replaces the file's floor; default: the file's)")
    a("--nir", default=None, help="evaluate this NIR file (nmpkit export-nir, or another tool's) "
      "instead of converting NETWORK; its floor, reset and neurons come from the file")
    a("--timesteps", type=int, required=True, help="simulation steps T")
    a("--data-root", default=None, help="dataset folder or .npz (classifiers: required; "
      "autoencoder: optional, CIFAR-10 training patches for the normalization batch)")
    a("--dataset", default=None, help="dataset name (default: the network's own)")
    a("--limit", type=int, default=None, help="first N test samples only")
    a("--image", default=None, help="autoencoder test image (default: astronaut)")
    a("--out", default=None, help="CSV to write (default: eval_NETWORK_BOUND_TT.csv); sidecar "
      ".json, correlation data in *_corr.csv")
    a("--batch-size", type=int, default=500, help="samples per simulated chunk")
    common.add_normalization(p)
    a("--correlation-at", type=int, default=300, help="step t of the correlation data")
    a("--correlation-samples", type=int, default=16,
      help="test samples in the correlation data (0 = none)")
    a("--snapshots", default="50,100,150,200,750",
      help="autoencoder: steps at which reconstructions are saved (comma list)")
    a("--crop", type=int, default=None,
      help="autoencoder: use the central CROP×CROP part of the image (a multiple of 32)")
    common.add_simulation_resources(p, "simulate the chunks (nmpkit.studies.distributed)")


def run(args: argparse.Namespace) -> int:
    from nmpkit.studies import evaluate as ev

    if args.nir is not None:
        from nmpkit.app.commands import evaluate_nir
        return evaluate_nir.run_evaluate(args)
    common.require("--nir FILE is given", NETWORK=args.network, weights=args.weights,
                   lower_bound=args.lower_bound)
    sim = common.build_config(lambda: ev.EvalConfig(
        timesteps=args.timesteps, lower_bound=ev.parse_lower_bound(args.lower_bound),
        batch_size=args.batch_size, percentile=args.percentile,
        calibration_samples=args.calibration_samples, correlation_at=args.correlation_at,
        correlation_samples=args.correlation_samples, device=args.device,
        memory_budget_gb=args.memory_gb), {"memory_budget_gb": "--memory-gb"})
    cfg = common.build_config(lambda: ev.EvaluateConfig(
        network=args.network, weights=args.weights, sim=sim, data_root=args.data_root,
        dataset=args.dataset, limit=args.limit, image=args.image, crop=args.crop,
        snapshots=ev.parse_snapshots(args.snapshots)))
    common.apply_resources(args)
    label = ev.bound_label(sim.lower_bound)
    out = Path(args.out or f"eval_{cfg.network}_{label}_T{sim.timesteps}.csv")
    with common.sample_bar(args, f"{cfg.network} {label} T={sim.timesteps}") as bar:
        res = ev.run(cfg, parts_prefix=out.with_name(f"{out.name}.parts"), progress=bar.update,
                     record=common.argv_record(args), scheduler=args.scheduler or None)
    res.save(out.parent, out.name.removesuffix(".csv"))
    s, col = res.summary, res.metric_name
    if args.json:
        common.print_json(s, [k for k in s if k not in ("config", "provenance")])
    elif not args.quiet:
        print(f"wrote {out}: ANN {col} {s[f'ann_{col}']:.6g}, SNN final {res.final:.6g}, "
              f"best {s[f'best_{col}']:.6g} at t={s['best_t']}")
    return 0
