"""Train a zoo network with its recipe (`nmpkit.ml.train.train`), with a progress bar per epoch:
what ``nmpkit train`` and ``nmpkit run``'s train stage both call."""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from nmpkit.errors import ConfigError


def train_zoo(network: str, *, data_root: str | os.PathLike[str], dataset: str | None,
              out: str | os.PathLike[str], quiet: bool = False, epochs: int | None = None,
              **options: Any) -> dict[str, Any]:
    """Train zoo ``network`` on ``dataset`` (default: its own) and write ``out`` (+ sidecar).

    ``options`` are `nmpkit.ml.train.TrainConfig` fields; ``epochs`` None is the recipe's.
    Returns the sidecar's metadata.

    Raises:
        ConfigError: a dataset the network does not take (or TrainConfig's own checks).
    """
    from tqdm import tqdm

    from nmpkit.ml.data import load_dataset
    from nmpkit.ml.train import TrainConfig, train
    from nmpkit.ml.zoo import get_network

    spec = get_network(network)
    dataset = dataset or spec.datasets[0]
    if dataset not in spec.datasets:
        raise ConfigError(
            f"--dataset for {spec.name} must be one of {', '.join(spec.datasets)}, got {dataset!r}"
        )
    cfg = TrainConfig(epochs=spec.recipe.epochs if epochs is None else epochs,
                      command_line=command_line(),
                      **options)
    data = load_dataset(dataset, data_root)
    bar = None

    def on_epoch_start(epoch: int, n_batches: int) -> None:
        nonlocal bar
        if bar is not None:
            bar.close()
        bar = tqdm(total=n_batches, desc=f"{spec.name} epoch {epoch + 1}/{cfg.epochs}",
                   disable=quiet, unit="batch", dynamic_ncols=True)

    def on_batch(epoch: int, batch: int, loss: float) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    meta = train(spec, data, out, cfg, on_batch=on_batch, on_epoch_start=on_epoch_start)
    if bar is not None:
        bar.close()
    return meta


def command_line() -> str:
    """This process's command line as ``nmpkit ARGS`` (recorded in the weights' sidecar)."""
    return "nmpkit " + " ".join(shlex.quote(a) for a in sys.argv[1:])


__all__ = ["command_line", "train_zoo"]
