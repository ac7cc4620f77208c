"""The in-memory `Dataset` and its error, `DatasetError` (a `ConfigError`, so a ValueError)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmpkit.errors import ConfigError


class DatasetError(ConfigError):
    """A dataset file is missing or not what its format promises; names the file and the rule."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A labelled image dataset held in memory.

    Attributes:
        name: one of `DATASETS`.
        x_train, x_test: uint8 images, (N, C, H, W).
        y_train, y_test: int64 labels, (N,), in 0..9.
        source: the file or folder it was read from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 4 or x.dtype != np.uint8:
                raise DatasetError(
                    f"{self.source}: x_{split} must be uint8 (N, C, H, W), got {x.dtype} {x.shape}"
                )
            if y.shape != (x.shape[0],):
                raise DatasetError(
                    f"{self.source}: y_{split} must have shape ({x.shape[0]},) "
                    f"to match x_{split}, got {y.shape}"
                )
            if y.size and (y.min() < 0 or y.max() > 9):
                raise DatasetError(
                    f"{self.source}: y_{split} labels must be in 0..9, "
                    f"got range {int(y.min())}..{int(y.max())}"
                )


__all__ = ["Dataset", "DatasetError"]
