"""`nmpkit train`: train a zoo network with its recipe and save its weights with provenance."""

from __future__ import annotations

import argparse

NAME = "train"
HELP = "train a zoo network (mnist, allconv28, svhn, cifar10, autoencoder) on a dataset folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", help="mnist | allconv28 | svhn | cifar10 | autoencoder")
    p.add_argument(
        "--data-root",
        required=True,
        help="dataset folder (idx files, cifar-10-batches-py, SVHN .mat, torchvision "
        "layout) or an .npz file",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="dataset name (default: the network's own; mnist also takes fashion-mnist)",
    )
    p.add_argument(
        "--out", required=True, help="weights file to write (.pt; a .json sidecar beside it)"
    )
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the recipe's)")
    p.add_argument(
        "--seed", type=int, default=0, help="seed for init, order, augmentation, dropout"
    )
    p.add_argument(
        "--train-limit", type=int, default=None, help="use only the first N training samples"
    )
    p.add_argument(
        "--eval-limit", type=int, default=None, help="evaluate on the first N test samples"
    )
    p.add_argument("--half", action="store_true", help="store float16 weights (half the file size)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--resume", action="store_true", help="continue from OUT.ckpt if it is there")
    p.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="stop after N batches in all and write the weights (the schedule still spans "
        "--epochs; --resume continues later)",
    )
    p.add_argument(
        "--device", default="cpu", help="cpu (default), cuda or cuda:N (data kept on the device)"
    )
    p.add_argument(
        "--amp",
        action="store_true",
        help="bfloat16 autocast for forward/loss (GPU training; weights stay float32)",
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=300.0,
        help="mid-epoch checkpoint interval (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    import json

    import torch

    from nmpkit.app.errors import UsageError

    if args.threads is not None:
        if args.threads < 1:
            raise UsageError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    quiet = getattr(args, "quiet", False)
    meta = train_zoo(args.network, data_root=args.data_root, dataset=args.dataset, out=args.out,
                     quiet=quiet, epochs=args.epochs, seed=args.seed,
                     train_limit=args.train_limit, eval_limit=args.eval_limit, half=args.half,
                     checkpoint_seconds=args.checkpoint_seconds, resume=args.resume,
                     max_batches=args.max_batches, device=args.device, amp=args.amp)
    last = meta["history"][-1] if meta["history"] else {}
    if getattr(args, "json", False):
        print(json.dumps({"out": str(args.out), **last}))
    elif not quiet:
        print(f"wrote {args.out} after {meta['epochs_done']} epochs: {last}")
    return 0


def train_zoo(network: str, *, data_root, dataset: str | None, out, quiet: bool = False,
              epochs: int | None = None, **options) -> dict:
    """Train zoo ``network`` on ``dataset`` (default: its own) with a progress bar per epoch.

    ``options`` are `TrainConfig` fields; ``epochs`` None is the recipe's. Returns the
    sidecar's metadata. `nmpkit run`'s train stage calls it too.
    """
    from tqdm import tqdm

    from nmpkit.app.errors import UsageError
    from nmpkit.ml.data import load_dataset
    from nmpkit.ml.train import TrainConfig, train
    from nmpkit.ml.zoo import get_network

    spec = get_network(network)
    dataset = dataset or spec.datasets[0]
    if dataset not in spec.datasets:
        raise UsageError(
            f"--dataset for {spec.name} must be one of {', '.join(spec.datasets)}, got {dataset!r}"
        )
    cfg = TrainConfig(epochs=spec.recipe.epochs if epochs is None else epochs,
                      command_line=_command_line(),
                      **options)
    data = load_dataset(dataset, data_root)
    bar = None

    def on_epoch_start(epoch: int, n_batches: int) -> None:
        nonlocal bar
        if bar is not None:
            bar.close()
        bar = tqdm(
            total=n_batches,
            desc=f"{spec.name} epoch {epoch + 1}/{cfg.epochs}",
            disable=quiet,
            unit="batch",
            dynamic_ncols=True,
        )

    def on_batch(epoch: int, batch: int, loss: float) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    meta = train(spec, data, out, cfg, on_batch=on_batch, on_epoch_start=on_epoch_start)
    if bar is not None:
        bar.close()
    return meta


def _command_line() -> str:
    import shlex
    import sys

    return "nmpkit " + " ".join(shlex.quote(a) for a in sys.argv[1:])
