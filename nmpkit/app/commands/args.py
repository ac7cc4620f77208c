"""What several `nmpkit` commands share: option groups declared once (flags, defaults and help
texts are the CLI's; each command still chooses where they go in its ``--help``), and the steps
their ``run`` functions take with those options' values."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """``--network --weights --dataset --data-root``: a trained zoo classifier and its test set."""
    p.add_argument("--network", default="mnist", help="zoo network (default: mnist)")
    p.add_argument("--weights", required=True, help="trained state_dict (nmpkit train)")
    p.add_argument("--dataset", default="mnist", help="dataset name (default: mnist)")
    p.add_argument("--data-root", required=True, help="dataset folder or .npz")


def add_classifier_arguments(p: argparse.ArgumentParser, *, limit: int,
                             timesteps: int | tuple[int, ...]) -> None:
    """The options every study of a trained, calibrated classifier takes (``timesteps`` a tuple:
    ``--timesteps`` takes a list of budgets)."""
    p.add_argument("--calibration", required=True, help="calibration JSON (nmpkit calibrate)")
    add_model_arguments(p)
    p.add_argument("--limit", type=int, default=limit,
                   help=f"test images (0 = all; default {limit})")
    if isinstance(timesteps, tuple):
        p.add_argument("--timesteps", type=int, nargs="+", default=list(timesteps),
                       help=f"latency budgets T, one run to the largest serves all (default: "
                            f"{' '.join(map(str, timesteps))})")
    else:
        p.add_argument("--timesteps", type=int, default=timesteps,
                       help=f"T (default: {timesteps})")


def add_threads_out(p: argparse.ArgumentParser, out: str, *,
                    threads_help: str = "torch threads (default: 2)") -> None:
    """``--threads`` (default 2) then ``--out``, an output folder named ``out`` by default."""
    p.add_argument("--threads", type=int, default=2, help=threads_help)
    p.add_argument("--out", default=out, help="output folder (default: %(default)s)")


def set_threads(threads: int | None) -> None:
    """``--threads``: torch's CPU threads (None: torch's own default; `cli.check_common` has
    refused values < 1 already)."""
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))


def check_scheduler(address: str | None) -> None:
    """``--scheduler``, when given: Dask's distributed is installed and the address parses."""
    if address:
        from nmpkit.app.config import check_dask

        check_dask("--scheduler", address)


def progress_of(args: argparse.Namespace) -> Callable[..., None] | None:
    """A study's ``progress`` callback: ``print``, or None under ``--quiet`` or ``--json``."""
    return None if args.quiet or args.json else print
