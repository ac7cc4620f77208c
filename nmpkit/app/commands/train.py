"""`nmpkit train`: train a zoo network with its recipe and save its weights with provenance
(arguments → `nmpkit.studies.train_zoo.train_zoo` → one line)."""

from __future__ import annotations

import argparse

NAME = "train"
HELP = "train a zoo network (mnist, allconv28, svhn, cifar10, autoencoder) on a dataset folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    a = p.add_argument
    a("network", help="mnist | allconv28 | svhn | cifar10 | autoencoder")
    a("--data-root", required=True, help="dataset folder (idx files, cifar-10-batches-py, SVHN "
      ".mat, torchvision layout) or an .npz file")
    a("--dataset", default=None,
      help="dataset name (default: the network's own; mnist also takes fashion-mnist)")
    a("--out", required=True, help="weights file to write (.pt; a .json sidecar beside it)")
    a("--epochs", type=int, default=None, help="epochs (default: the recipe's)")
    a("--seed", type=int, default=0, help="seed for init, order, augmentation, dropout")
    a("--train-limit", type=int, default=None, help="use only the first N training samples")
    a("--eval-limit", type=int, default=None, help="evaluate on the first N test samples")
    a("--half", action="store_true", help="store float16 weights (half the file size)")
    a("--threads", type=int, default=None, help="torch CPU threads")
    a("--resume", action="store_true", help="continue from OUT.ckpt if it is there")
    a("--max-batches", type=int, default=None, help="stop after N batches in all and write the "
      "weights (the schedule still spans --epochs; --resume continues later)")
    a("--device", default="cpu", help="cpu (default), cuda or cuda:N (data kept on the device)")
    a("--amp", action="store_true",
      help="bfloat16 autocast for forward/loss (GPU training; weights stay float32)")
    a("--checkpoint-seconds", type=float, default=300.0,
      help="mid-epoch checkpoint interval (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import json

    import torch

    from nmpkit.app.errors import UsageError
    from nmpkit.studies.train_zoo import train_zoo

    if args.threads is not None:
        if args.threads < 1:
            raise UsageError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    meta = train_zoo(args.network, data_root=args.data_root, dataset=args.dataset, out=args.out,
                     quiet=args.quiet, epochs=args.epochs, seed=args.seed,
                     train_limit=args.train_limit, eval_limit=args.eval_limit, half=args.half,
                     checkpoint_seconds=args.checkpoint_seconds, resume=args.resume,
                     max_batches=args.max_batches, device=args.device, amp=args.amp)
    last = meta["history"][-1] if meta["history"] else {}
    if args.json:
        print(json.dumps({"out": str(args.out), **last}))
    elif not args.quiet:
        print(f"wrote {args.out} after {meta['epochs_done']} epochs: {last}")
    return 0
