"""How a zoo network is trained: its `Recipe`, and what the recipe means step by step for
`nmpkit.ml.train.train` (the optimizer it names, the learning rate at each step, each batch's
random seed).

``batch_seed(seed, epoch, batch)`` derives every batch's randomness (shuffle order with
``batch = -1``, augmentation, dropout) from the run's seed, so a resumed run takes exactly the
steps an uninterrupted one takes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """How a network is trained. Learning rates follow ``schedule`` over all steps of all epochs."""

    optimizer: Literal["adam", "sgd"]
    lr: float
    weight_decay: float  # L2 penalty, added to the gradient (torch's ``weight_decay``)
    batch_size: int
    epochs: int
    schedule: Literal["constant", "cosine"] = "constant"
    momentum: float = 0.9
    augment: Literal["none", "crop_flip"] = "none"
    loss: Literal["cross_entropy", "mse"] = "cross_entropy"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if self.augment not in ("none", "crop_flip"):
            raise ValueError(f"augment must be 'none' or 'crop_flip', got {self.augment!r}")
        if self.loss not in ("cross_entropy", "mse"):
            raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {self.loss!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError(
                f"batch_size and epochs must be >= 1, got {self.batch_size!r}, {self.epochs!r}"
            )


def make_optimizer(recipe: Recipe, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The recipe's optimizer over ``params`` (Adam, or SGD with Nesterov momentum)."""
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(
        params,
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        nesterov=True,
    )


def learning_rate(recipe: Recipe, step: int, total: int) -> float:
    """The learning rate at ``step`` of ``total`` (all steps of all epochs)."""
    if recipe.schedule == "cosine":
        return recipe.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    return recipe.lr


def batch_seed(seed: int, epoch: int, batch: int) -> int:
    """The seed of one batch's draws (``batch = -1``: the epoch's shuffle)."""
    return (seed * 1_000_003 + epoch * 10_007 + batch) % (2**63)


__all__ = ["Recipe", "batch_seed", "learning_rate", "make_optimizer"]
