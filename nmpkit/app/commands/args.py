"""What several `nmpkit` commands share: option groups declared once (flags, defaults and help
texts are the CLI's; each command still chooses where they go in its ``--help``), and the steps
their ``run`` functions take with those options' values."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


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


def add_normalization(p: argparse.ArgumentParser) -> None:
    """``--percentile --calibration-samples``: the ANN→SNN conversion's per-layer normalization
    (the activation percentile, over that many training samples)."""
    p.add_argument("--percentile", type=float, default=99.99,
                   help="normalization percentile of each layer's activations (default: "
                   "%(default)s)")
    p.add_argument("--calibration-samples", type=int, default=1000,
                   help="training samples in the normalization batch (default: %(default)s)")


def require(unless: str, **values: Any) -> None:
    """Each named option was given (not None), or a `UsageError` naming the first one missing;
    keyword ``NETWORK`` names a positional, ``weights`` the flag ``--weights``."""
    from nmpkit.app.errors import UsageError

    for name, value in values.items():
        if value is None:
            flag = name if name.isupper() else "--" + name.replace("_", "-")
            raise UsageError(f"{flag} is required (unless {unless})")


def add_tolerance(p: argparse.ArgumentParser) -> None:
    """``--tolerance``: the accuracy drop vs NMP accepted at 95% confidence (a fraction)."""
    p.add_argument("--tolerance", type=float, default=0.005, help="largest accuracy drop vs NMP "
                   "accepted at 95%% confidence, as a fraction (default: 0.005 = 0.5 %%p)")


def add_energy_model(p: argparse.ArgumentParser, *, array_default: str) -> None:
    """``--eta`` (the negative supply's charge-pump efficiency) and ``--array-size`` (neurons
    sharing one bias) of the circuit energy model; ``array_default`` says what None means."""
    p.add_argument("--eta", type=float, default=0.5, help="charge-pump efficiency of each "
                   "negative supply in the circuit energy model (default 0.5)")
    p.add_argument("--array-size", type=int, default=None,
                   help=f"neurons sharing one bias (default: {array_default})")


def add_scheduler(p: argparse.ArgumentParser, what: str) -> None:
    """``--scheduler ADDRESS``: run ``what`` on that Dask cluster (same results as locally)."""
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help=f"Dask scheduler address (tcp://host:8786): {what} on that cluster "
                   "(same results as a local run)")


FLAGS = {"v_neg_volts": "--v-neg", "v_dd_volts": "--v-dd"}
"""Config fields whose flag is not ``--`` + the field's name with dashes."""


def add_simulation_resources(p: argparse.ArgumentParser, scheduler_what: str) -> None:
    """Where and with what a simulation runs: ``--threads`` (torch's default when absent),
    ``--scheduler`` (`add_scheduler`), ``--device`` and ``--memory-gb`` (each simulate call's
    working-memory bound)."""
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    add_scheduler(p, scheduler_what)
    p.add_argument("--device", default="cpu", help="where to simulate: cpu (default), cuda, "
                   "cuda:N")
    p.add_argument("--memory-gb", type=float, default=1.0, help="working-memory bound of each "
                   "simulate call in GiB (default: %(default)s; on a GPU, most of its memory)")


def build_config(build: Callable[[], T], flags: Mapping[str, str] | None = None) -> T:
    """``build()`` (a study's config from the parsed options) with its `ConfigError` re-raised
    as the CLI's `UsageError` naming the flag: the error's first word is the field, its flag is
    ``flags[field]``, `FLAGS`' or ``--`` + the field with dashes. Where the flag only spells the
    field with dashes, it replaces the field ("--timesteps must be ..."); otherwise it leads
    ("--v-neg: v_neg_volts must ...")."""
    from nmpkit.app.errors import UsageError
    from nmpkit.errors import ConfigError

    try:
        return build()
    except ConfigError as exc:
        field = str(exc).split(" ", 1)[0]
        if field.startswith("--"):  # the config already speaks in flags
            raise UsageError(str(exc)) from exc
        dashed = "--" + field.replace("_", "-")
        flag = {**FLAGS, **(flags or {})}.get(field, dashed)
        if flag == dashed:
            raise UsageError(flag + str(exc)[len(field):]) from exc
        raise UsageError(f"{flag}: {exc}") from exc


def print_json(mapping: Mapping[str, Any], keys: Iterable[str]) -> None:
    """``--json``: the named entries of a study's summary as one JSON line."""
    print(json.dumps({k: mapping.get(k) for k in keys}, default=str))


def sample_bar(args: argparse.Namespace, desc: str) -> Any:
    """A tqdm bar counting samples (off under ``--quiet``); its ``update`` is a study's
    ``progress``."""
    from tqdm import tqdm

    return tqdm(desc=desc, unit="sample", disable=args.quiet, dynamic_ncols=True)


def argv_record(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options as a result's provenance ``record`` (``{"argv": {...}}``)."""
    return {"argv": {k: v for k, v in vars(args).items() if k != "_run"}}


def set_threads(threads: int | None) -> None:
    """``--threads``: torch's CPU threads (None: torch's own default; `cli.check_common` has
    refused values < 1 already)."""
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))


def apply_resources(args: argparse.Namespace) -> None:
    """`set_threads` of ``--threads`` and `check_scheduler` of ``--scheduler`` (where the
    command has them), before any work starts."""
    set_threads(getattr(args, "threads", None))
    check_scheduler(getattr(args, "scheduler", None))


def check_scheduler(address: str | None) -> None:
    """``--scheduler``, when given: Dask's distributed is installed and the address parses."""
    if address:
        from nmpkit.app.config import check_dask

        check_dask("--scheduler", address)


def progress_of(args: argparse.Namespace) -> Callable[..., None] | None:
    """A study's ``progress`` callback: ``print``, or None under ``--quiet`` or ``--json``."""
    return None if args.quiet or args.json else print
