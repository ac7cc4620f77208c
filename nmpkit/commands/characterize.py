"""`nmpkit characterize`: sweep the neuron circuit in ngspice into lookup tables."""

from __future__ import annotations

import argparse

NAME = "characterize"
HELP = "characterize the I&F neuron in ngspice into lookup tables"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="design TOML (default: the built-in default design)")
    p.add_argument("--out", default="tables", help="output directory for the tables (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a coarse grid that finishes in about a minute")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address; run the sweep on that cluster")


def run(args: argparse.Namespace) -> int:
    from nmpkit.errors import UsageError

    raise UsageError("characterize is not implemented yet (issue 2 in progress)")
