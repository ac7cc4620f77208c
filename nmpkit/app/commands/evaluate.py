"""`nmpkit evaluate`: run a trained network as a converted SNN; accuracy/MSE per step as CSV."""

from __future__ import annotations

import argparse

NAME = "evaluate"
HELP = (
    "convert a trained network to an SNN and write its accuracy (or MSE) after every timestep, "
    "with ANN-vs-SNN correlation data"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", nargs="?", default=None,
                   help="mnist | allconv28 | svhn | cifar10 | autoencoder (with --nir: optional)")
    p.add_argument("--weights", default=None, help="state_dict written by `nmpkit train`")
    p.add_argument(
        "--lower-bound",
        default=None,
        help="nmp (no floor), zmp (floor 0) or a float <= 0 in threshold units "
        "(with --nir: replaces the file's floor; default: the file's)",
    )
    p.add_argument("--nir", default=None,
                   help="evaluate this NIR file (nmpkit export-nir, or another tool's) instead "
                   "of converting NETWORK; its floor, reset and neurons come from the file")
    p.add_argument("--timesteps", type=int, required=True, help="simulation steps T")
    p.add_argument(
        "--data-root",
        default=None,
        help="dataset folder or .npz (classifiers: required; autoencoder: optional, "
        "CIFAR-10 training patches for the normalization batch)",
    )
    p.add_argument("--dataset", default=None, help="dataset name (default: the network's own)")
    p.add_argument("--limit", type=int, default=None, help="first N test samples only")
    p.add_argument("--image", default=None, help="autoencoder test image (default: astronaut)")
    p.add_argument(
        "--out",
        default=None,
        help="CSV to write (default: eval_NETWORK_BOUND_TT.csv); sidecar .json, "
        "correlation data in *_corr.csv",
    )
    p.add_argument("--batch-size", type=int, default=500, help="samples per simulated chunk")
    p.add_argument(
        "--percentile",
        type=float,
        default=99.99,
        help="normalization percentile of each layer's activations (default: %(default)s)",
    )
    p.add_argument(
        "--calibration-samples",
        type=int,
        default=1000,
        help="training samples in the normalization batch (default: %(default)s)",
    )
    p.add_argument("--correlation-at", type=int, default=300, help="step t of the correlation data")
    p.add_argument(
        "--correlation-samples",
        type=int,
        default=16,
        help="test samples in the correlation data (0 = none)",
    )
    p.add_argument(
        "--snapshots",
        default="50,100,150,200,750",
        help="autoencoder: steps at which reconstructions are saved (comma list)",
    )
    p.add_argument(
        "--crop",
        type=int,
        default=None,
        help="autoencoder: use the central CROP×CROP part of the image (a multiple of 32)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--device", default="cpu", help="where to simulate: cpu (default), cuda, cuda:N")
    p.add_argument(
        "--memory-gb",
        type=float,
        default=1.0,
        help="working-memory bound of each simulate call in GiB (default: %(default)s; "
        "on a GPU, most of its memory)",
    )


def run(args: argparse.Namespace) -> int:
    import copy
    import json
    from pathlib import Path

    import torch
    from tqdm import tqdm

    from calib.io import atomic_write_csv, atomic_write_json, file_digest, provenance
    from nmpkit.app.errors import UsageError
    from nmpkit.ml.train import load_weights
    from nmpkit.ml.zoo import get_network
    from nmpkit.studies import evaluate as ev

    if args.nir is not None:
        from nmpkit.app.commands.export_nir import run_evaluate

        return run_evaluate(args)
    for flag, value in (("NETWORK", args.network), ("--weights", args.weights),
                        ("--lower-bound", args.lower_bound)):
        if value is None:
            raise UsageError(f"{flag} is required (unless --nir FILE is given)")
    spec = get_network(args.network)
    lb = ev.parse_lower_bound(args.lower_bound)
    cfg = ev.EvalConfig(
        timesteps=args.timesteps,
        lower_bound=lb,
        batch_size=args.batch_size,
        percentile=args.percentile,
        calibration_samples=args.calibration_samples,
        correlation_at=args.correlation_at,
        correlation_samples=args.correlation_samples,
        device=args.device,
        memory_budget_gb=args.memory_gb,
    )
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
    if args.threads is not None:
        torch.set_num_threads(max(1, args.threads))
    dataset = args.dataset or spec.datasets[0]
    if dataset not in spec.datasets:
        raise UsageError(
            f"--dataset for {spec.name} must be one of {', '.join(spec.datasets)}, got {dataset!r}"
        )
    snapshots = _parse_snapshots(args.snapshots, cfg.timesteps)  # checked for every network
    if spec.task != "reconstruct":
        snapshots = ()
    model = load_weights(spec, args.weights)
    x, target, calib_x, source = _inputs(spec, dataset, args, cfg)
    out = Path(args.out or f"eval_{spec.name}_{ev.bound_label(lb)}_T{cfg.timesteps}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)

    from nmpkit.ml.train import evaluate_ann

    on_cpu = torch.device(cfg.device).type == "cpu"
    ann_model = model if on_cpu else copy.deepcopy(model).to(cfg.device)
    ann_metric = evaluate_ann(ann_model, x, None if spec.task == "reconstruct" else target)
    net = ev.convert_normalized(model, calib_x, cfg)
    weights_sha = file_digest(args.weights)
    key = ev.config_key(
        network=spec.name,
        weights=weights_sha,
        lb=lb,
        T=cfg.timesteps,
        batch=cfg.batch_size,
        pct=cfg.percentile,
        calib=cfg.calibration_samples,
        source=source,
        device=torch.device(args.device).type,  # GPU sums differ from CPU ones in float order
        image=args.image,
        crop=args.crop,
        snapshots=snapshots,
    )
    bar = tqdm(
        total=len(x),
        desc=f"{spec.name} {ev.bound_label(lb)} T={cfg.timesteps}",
        unit="sample",
        disable=getattr(args, "quiet", False),
        dynamic_ncols=True,
    )
    res = ev.run_chunks(
        net,
        x,
        target,
        cfg,
        task=spec.task,
        parts_dir=out.with_name(f"{out.name}.parts-{key}"),
        progress=bar.update,
        snapshots=snapshots,
    )
    bar.close()

    import pandas as pd

    col = "accuracy" if spec.task == "classify" else "mse"
    df = pd.DataFrame({"t": range(1, cfg.timesteps + 1), col: res["metric"]})
    atomic_write_csv(out, df)
    if "correct" in res:  # per sample and step, for paired tests (McNemar) between bounds
        _save_correct(res["correct"], out)
    best_i = int(df[col].idxmax() if col == "accuracy" else df[col].idxmin())
    summary = {
        "network": spec.name,
        "dataset": dataset if spec.task == "classify" else "image",
        "data_source": source,
        "weights": str(args.weights),
        "weights_sha256": weights_sha,
        "lower_bound": lb,
        "bound": ev.bound_label(lb),
        "timesteps": cfg.timesteps,
        "samples": len(x),
        "metric": col,
        f"ann_{col}": ann_metric,
        f"final_{col}": float(df[col].iloc[-1]),
        f"best_{col}": float(df[col].iloc[best_i]),
        "best_t": int(df["t"].iloc[best_i]),
        "layer_rates": res["layer_rates"],
        "config": {k: getattr(cfg, k) for k in cfg.__slots__},
    }
    if cfg.correlation_samples > 0:
        rows, corr = ev.correlation_data(model, net, x[: cfg.correlation_samples], calib_x, cfg)
        cpath = out.with_name(out.stem + "_corr.csv")
        atomic_write_csv(cpath, pd.DataFrame(rows))
        summary["correlation"] = {
            "file": cpath.name,
            "t": min(cfg.correlation_at, cfg.timesteps),
            "samples": min(cfg.correlation_samples, len(x)),
            "layers": corr,
        }
    if snapshots:
        summary["reconstructions"] = _save_snapshots(res["snapshots"], x, out)
    atomic_write_json(
        out.with_suffix(".json"),
        {
            **summary,
            "provenance": provenance(
                command="nmpkit evaluate", argv={k: v for k, v in vars(args).items() if k != "_run"}
            ),
        },
    )
    if getattr(args, "json", False):
        print(json.dumps({k: v for k, v in summary.items() if k != "config"}, default=str))
    elif not getattr(args, "quiet", False):
        print(
            f"wrote {out}: ANN {col} {ann_metric:.6g}, SNN final {summary[f'final_{col}']:.6g}, "
            f"best {summary[f'best_{col}']:.6g} at t={summary['best_t']}"
        )
    return 0


def _inputs(spec, dataset: str, args, cfg):
    """(x, target, calibration batch, source description) for the network's task."""
    import torch

    from nmpkit.app.errors import UsageError
    from nmpkit.ml.data import PATCH, image_to_patches, load_dataset, load_test_image, to_tensor

    mean, std = spec.norm_for(dataset)
    if spec.task == "classify":
        if args.data_root is None:
            raise UsageError(f"--data-root is required for network {spec.name!r}")
        data = load_dataset(dataset, args.data_root)
        x = to_tensor(data.x_test[: args.limit], mean, std)
        y = torch.from_numpy(data.y_test[: args.limit])
        calib = to_tensor(data.x_train[: cfg.calibration_samples], mean, std)
        return x, y, calib, data.source
    img = load_test_image(args.image)
    if args.crop is not None:
        c = args.crop
        if c < PATCH or c > img.shape[1] or c % PATCH:
            raise UsageError(f"--crop must be a multiple of {PATCH} in 32..512, got {c}")
        top = (img.shape[1] - c) // 2
        img = img[:, top : top + c, top : top + c]
    if args.limit is not None:
        raise UsageError("--limit does not apply to the autoencoder's image; use --crop")
    patches = torch.from_numpy(image_to_patches(img))
    if args.data_root is not None:
        data = load_dataset(dataset, args.data_root)
        calib = to_tensor(data.x_train[: cfg.calibration_samples], mean, std)
        source = f"{args.image or 'skimage.data.astronaut'}; calibration: {data.source}"
    else:
        calib = patches
        source = f"{args.image or 'skimage.data.astronaut'}; calibration: its own patches"
    return patches, patches, calib, source


def _save_correct(correct, out) -> None:
    """OUT_correct.npz: ``correct`` (T, N) bool, bit-packed along N (`load_correct` reads it)."""
    import numpy as np

    from calib.io import atomic_write

    c = correct.numpy().astype(bool)

    def savez(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, bits=np.packbits(c, axis=1), n=np.int64(c.shape[1]))

    atomic_write(out.with_name(out.stem + "_correct.npz"), savez)


def load_correct(path):
    """(T, N) bool from a file written by `_save_correct`."""
    import numpy as np

    with np.load(path) as z:
        return np.unpackbits(z["bits"], axis=1, count=int(z["n"])).astype(bool)


def _parse_snapshots(text: str, timesteps: int) -> tuple[int, ...]:
    from nmpkit.app.errors import UsageError

    try:
        steps = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise UsageError(f"--snapshots must be a comma list of steps, got {text!r}") from None
    return tuple(t for t in steps if 1 <= t <= timesteps)


def _save_snapshots(snaps: dict, x, out) -> dict:
    """Reconstructed images at the snapshot steps → OUT_recon.npz (each (3, H, W) in [0, 1])."""
    import math

    import numpy as np

    from calib.io import atomic_write
    from nmpkit.ml.data import PATCH, patches_to_image

    side = PATCH * math.isqrt(len(x))
    images = {
        f"t{t}": patches_to_image(v.reshape(x.shape).clamp(0, 1).numpy(), side, side)
        for t, v in snaps.items()
    }
    images["target"] = patches_to_image(x.numpy(), side, side)
    path = out.with_name(out.stem + "_recon.npz")

    def savez(tmp):
        with open(tmp, "wb") as fh:  # np.savez would append ".npz" to a temporary name
            np.savez_compressed(fh, **images)

    atomic_write(path, savez)
    return {"file": path.name, "steps": [int(t) for t in snaps]}
