"""Dataset loaders for the study's networks, from any directory, in the datasets' usual layouts.

Supported (each as the original distribution lays it out, or as torchvision downloads it):

- MNIST / Fashion-MNIST: idx files ``train-images-idx3-ubyte[.gz]`` etc. in the root, in
  ``MNIST/raw`` / ``FashionMNIST/raw`` (torchvision) or Debian's
  ``/usr/share/datasets/fashion-mnist``;
- CIFAR-10: the python batches in ``cifar-10-batches-py/`` (``data_batch_1..5``, ``test_batch``);
- SVHN: ``train_32x32.mat`` / ``test_32x32.mat`` (label 10 means digit 0);
- any of them as ``.npz`` with ``x_train, y_train, x_test, y_test`` (``NAME.npz`` in the root, or
  the root itself is the ``.npz`` file).

Images are kept as ``uint8`` arrays of shape (N, C, H, W); `to_tensor` scales them to [0, 1] and
standardizes with a network's mean/std. Corrupt or missing files raise `DatasetError` naming the
file and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nmpkit.ml.data_formats import (
    IDX_FILES,
    find_idx,
    load_cifar_dir,
    load_idx_dir,
    load_npz,
    load_svhn_dir,
    read_idx,
)
from nmpkit.ml.data_image import (
    IMAGE_SIZE,
    PATCH,
    image_to_patches,
    load_test_image,
    patches_to_image,
)
from nmpkit.ml.data_types import Dataset, DatasetError

DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10", "svhn")

DATA_ENV = "NMPKIT_DATA"
"""Environment variable naming the folder that holds the datasets (bench/ and results/ read it)."""

# Subfolders searched under the root, in order (torchvision's names, then common spellings).
_SUBDIRS = {
    "mnist": ("", "MNIST/raw", "MNIST", "mnist", "mnist/raw"),
    "fashion-mnist": (
        "",
        "FashionMNIST/raw",
        "FashionMNIST",
        "fashion-mnist",
        "fashion_mnist",
        "fashion-mnist/raw",
    ),
    "cifar10": (
        "cifar-10-batches-py",
        "",
        "cifar10/cifar-10-batches-py",
        "CIFAR10/cifar-10-batches-py",
    ),
    "svhn": ("", "SVHN", "svhn"),
}
_NPZ_NAMES = {
    "mnist": ("mnist.npz",),
    "fashion-mnist": ("fashion-mnist.npz", "fashion_mnist.npz", "fmnist.npz"),
    "cifar10": ("cifar10.npz", "cifar-10.npz"),
    "svhn": ("svhn.npz",),
}
_SHAPES = {
    "mnist": (1, 28, 28),
    "fashion-mnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
    "svhn": (3, 32, 32),
}


def data_dir(given: str | os.PathLike[str] | None = None) -> Path:
    """The datasets' folder: ``given`` (a ``--data-dir`` argument), else ``$NMPKIT_DATA``.

    Raises:
        DatasetError: neither is set, or the folder does not exist.
    """
    where = "--data-dir" if given is not None else f"${DATA_ENV}"
    value = given if given is not None else os.environ.get(DATA_ENV)
    if value is None or str(value) == "":
        raise DatasetError(
            f"no data folder: pass --data-dir or set {DATA_ENV} to the folder "
            "holding mnist.npz, cifar10.npz, ..."
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DatasetError(f"{where} {str(path)!r} is not a folder (expected the datasets' folder)")
    return path


def load_dataset(name: str, root: str | Path) -> Dataset:
    """Load dataset ``name`` from ``root`` (a folder in any supported layout, or an ``.npz`` file).

    Raises:
        DatasetError: unknown name, nothing found under ``root``, or a corrupt file.
    """
    if name not in DATASETS:
        raise DatasetError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    root = Path(root).expanduser()
    if root.is_file():
        ds = load_npz(name, root)
    elif not root.is_dir():
        what = "is a FIFO or device, never read" if root.exists() else "does not exist"
        raise DatasetError(f"data root {str(root)!r} {what} (expected a folder or an .npz file)")
    else:
        ds = _load_from_dir(name, root)
    if ds.x_train.shape[1:] != _SHAPES[name]:
        raise DatasetError(
            f"{ds.source}: {name} images must be {_SHAPES[name]} (C, H, W), "
            f"got {ds.x_train.shape[1:]}"
        )
    return ds


def _load_from_dir(name: str, root: Path) -> Dataset:
    for sub in _SUBDIRS[name]:
        d = root / sub
        if not d.is_dir():
            continue
        if name in ("mnist", "fashion-mnist") and find_idx(d, IDX_FILES["x_train"]):
            return load_idx_dir(name, d)
        if name == "cifar10" and (d / "data_batch_1").is_file():
            return load_cifar_dir(d)
        if name == "svhn" and (d / "train_32x32.mat").is_file():
            return load_svhn_dir(d)
    for npz in _NPZ_NAMES[name]:
        for sub in ("",) + _SUBDIRS[name]:
            if (root / sub / npz).is_file():
                return load_npz(name, root / sub / npz)
    expected = {
        "mnist": "train-images-idx3-ubyte[.gz] and friends (or MNIST/raw/…, or mnist.npz)",
        "fashion-mnist": "train-images-idx3-ubyte[.gz] and friends (or FashionMNIST/raw/…, "
        "or fashion-mnist.npz)",
        "cifar10": "cifar-10-batches-py/data_batch_1..5 and test_batch (or cifar10.npz)",
        "svhn": "train_32x32.mat and test_32x32.mat (or svhn.npz)",
    }[name]
    raise DatasetError(f"no {name} data under {str(root)!r}: expected {expected}")


def to_tensor(x: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]):
    """uint8 (N, C, H, W) → float32 tensor, scaled to [0, 1] then standardized per channel."""
    import torch

    t = torch.from_numpy(np.require(x, requirements=("C", "W"))).float().div_(255.0)
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (t - m) / s


__all__ = [
    "DATASETS",
    "IMAGE_SIZE",
    "PATCH",
    "DATA_ENV",
    "data_dir",
    "Dataset",
    "DatasetError",
    "image_to_patches",
    "load_dataset",
    "load_test_image",
    "patches_to_image",
    "read_idx",
    "to_tensor",
]
