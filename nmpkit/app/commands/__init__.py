"""Subcommands of the `nmpkit` CLI (see nmpkit/app/cli.py for the protocol)."""

from __future__ import annotations

import argparse


def add_classifier_arguments(p: argparse.ArgumentParser, *, limit: int,
                             timesteps: int | tuple[int, ...]) -> None:
    """The options every study of a trained, calibrated classifier takes (``timesteps`` a tuple:
    ``--timesteps`` takes a list of budgets)."""
    p.add_argument("--calibration", required=True, help="calibration JSON (nmpkit calibrate)")
    p.add_argument("--network", default="mnist", help="zoo network (default: mnist)")
    p.add_argument("--weights", required=True, help="trained state_dict (nmpkit train)")
    p.add_argument("--dataset", default="mnist", help="dataset name (default: mnist)")
    p.add_argument("--data-root", required=True, help="dataset folder or .npz")
    p.add_argument("--limit", type=int, default=limit,
                   help=f"test images (0 = all; default {limit})")
    if isinstance(timesteps, tuple):
        p.add_argument("--timesteps", type=int, nargs="+", default=list(timesteps),
                       help=f"latency budgets T, one run to the largest serves all (default: "
                            f"{' '.join(map(str, timesteps))})")
    else:
        p.add_argument("--timesteps", type=int, default=timesteps,
                       help=f"T (default: {timesteps})")
