"""`nmpkit evaluate`: run a trained network as a converted SNN; accuracy/MSE per step as CSV.

Arguments → `nmpkit.studies.evaluate.EvaluateConfig` → ``run`` → ``EvaluateResult.save`` (OUT's
folder, OUT's name: OUT, OUT.json, OUT_correct.npz, OUT_corr.csv, OUT_recon.npz) → one line.
``--nir FILE`` evaluates a NIR file instead (`nmpkit.app.commands.evaluate_nir.run_evaluate`).
"""

from __future__ import annotations

import argparse

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
    a("--percentile", type=float, default=99.99,
      help="normalization percentile of each layer's activations (default: %(default)s)")
    a("--calibration-samples", type=int, default=1000,
      help="training samples in the normalization batch (default: %(default)s)")
    a("--correlation-at", type=int, default=300, help="step t of the correlation data")
    a("--correlation-samples", type=int, default=16,
      help="test samples in the correlation data (0 = none)")
    a("--snapshots", default="50,100,150,200,750",
      help="autoencoder: steps at which reconstructions are saved (comma list)")
    a("--crop", type=int, default=None,
      help="autoencoder: use the central CROP×CROP part of the image (a multiple of 32)")
    a("--threads", type=int, default=None, help="torch CPU threads")
    a("--scheduler", default=None, help="Dask scheduler address: simulate the chunks on that "
      "cluster (nmpkit.studies.distributed; the same chunks and results)")
    a("--device", default="cpu", help="where to simulate: cpu (default), cuda, cuda:N")
    a("--memory-gb", type=float, default=1.0, help="working-memory bound of each simulate call "
      "in GiB (default: %(default)s; on a GPU, most of its memory)")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from tqdm import tqdm

    from nmpkit.app.commands.args import check_scheduler, set_threads
    from nmpkit.app.errors import UsageError
    from nmpkit.studies import evaluate as ev

    if args.nir is not None:
        from nmpkit.app.commands.evaluate_nir import run_evaluate

        return run_evaluate(args)
    for flag, value in (("NETWORK", args.network), ("--weights", args.weights),
                        ("--lower-bound", args.lower_bound)):
        if value is None:
            raise UsageError(f"{flag} is required (unless --nir FILE is given)")
    sim = ev.EvalConfig(
        timesteps=args.timesteps, lower_bound=ev.parse_lower_bound(args.lower_bound),
        batch_size=args.batch_size, percentile=args.percentile,
        calibration_samples=args.calibration_samples, correlation_at=args.correlation_at,
        correlation_samples=args.correlation_samples, device=args.device,
        memory_budget_gb=args.memory_gb)
    cfg = ev.EvaluateConfig(
        network=args.network, weights=args.weights, sim=sim, data_root=args.data_root,
        dataset=args.dataset, limit=args.limit, image=args.image, crop=args.crop,
        snapshots=ev.parse_snapshots(args.snapshots))
    set_threads(args.threads)
    check_scheduler(args.scheduler)
    label = ev.bound_label(sim.lower_bound)
    out = Path(args.out or f"eval_{cfg.network}_{label}_T{sim.timesteps}.csv")
    with tqdm(desc=f"{cfg.network} {label} T={sim.timesteps}", unit="sample",
              disable=args.quiet, dynamic_ncols=True) as bar:
        res = ev.run(cfg, parts_prefix=out.with_name(f"{out.name}.parts"), progress=bar.update,
                     record={"argv": {k: v for k, v in vars(args).items() if k != "_run"}},
                     scheduler=args.scheduler or None)
    res.save(out.parent, out.name.removesuffix(".csv"))
    s, col = res.summary, res.metric_name
    if args.json:
        print(json.dumps({k: v for k, v in s.items() if k not in ("config", "provenance")},
                         default=str))
    elif not args.quiet:
        print(f"wrote {out}: ANN {col} {s[f'ann_{col}']:.6g}, SNN final {res.final:.6g}, "
              f"best {s[f'best_{col}']:.6g} at t={s['best_t']}")
    return 0
