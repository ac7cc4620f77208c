"""The resume checkpoint of `nmpkit.ml.train.train` (``OUT.ckpt``): what a killed run needs to
take exactly the steps an uninterrupted one would have taken.

One ``torch.save`` dict, readable with ``weights_only=True``: the run's identity (``network``,
``seed``, ``n_train``), where it stopped (``epoch``, ``batch``: the next batch to run), the model's
and the optimizer's state, the history so far (JSON text) and the seconds already trained. It is
written atomically (`calib.io.atomic_write`), so a kill while writing leaves the previous one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from calib.io import atomic_write
from nmpkit.errors import ConfigError

KEYS = ("network", "seed", "n_train", "model", "optimizer", "epoch", "batch", "history",
        "elapsed_s")


def torch_save(obj: object, path: Path) -> None:
    """``torch.save`` through `calib.io.atomic_write` (unique temp name, fsync, rename)."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def write_checkpoint(path: Path, **state: Any) -> None:
    """Write the checkpoint (``state``: every entry of `KEYS`)."""
    torch_save({k: state[k] for k in KEYS}, path)


def read_checkpoint(path: Path, *, network: str, seed: int, n_train: int) -> dict[str, Any]:
    """The checkpoint at ``path``, checked to be readable, complete and of this run.

    Raises:
        ConfigError: not a readable checkpoint, or one of another network, seed or data size.
    """
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        _ = [ck[k] for k in KEYS]
    except Exception as exc:  # truncated / not a checkpoint / missing entries
        why = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise ConfigError(f"{path}: not a readable training checkpoint "
                          f"({type(exc).__name__}: {why}); delete it or drop --resume"
                          ) from None
    if ck["network"] != network or ck["seed"] != seed or ck["n_train"] != n_train:
        raise ConfigError(
            f"{path}: checkpoint is for network {ck['network']!r}, seed "
            f"{ck['seed']}, {ck['n_train']} samples; not this run — delete it or "
            f"drop --resume"
        )
    return ck


__all__ = ["KEYS", "read_checkpoint", "torch_save", "write_checkpoint"]
