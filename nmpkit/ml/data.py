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

import gzip
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmpkit.errors import ConfigError

DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10", "svhn")

DATA_ENV = "NMPKIT_DATA"
"""Environment variable naming the folder that holds the datasets (bench/ and results/ read it)."""

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
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


def data_dir(given: str | os.PathLike[str] | None = None) -> Path:
    """The datasets' folder: ``given`` (a ``--data-dir`` argument), else ``$NMPKIT_DATA``.

    Raises:
        DatasetError: neither is set, or the folder does not exist.
    """
    where = "--data-dir" if given is not None else f"${DATA_ENV}"
    value = given if given is not None else os.environ.get(DATA_ENV)
    if value is None or str(value) == "":
        raise DatasetError(f"no data folder: pass --data-dir or set {DATA_ENV} to the folder "
                           "holding mnist.npz, cifar10.npz, ...")
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
        ds = _load_npz(name, root)
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
        if name in ("mnist", "fashion-mnist") and _find(d, _IDX_FILES["x_train"]):
            return _load_idx_dir(name, d)
        if name == "cifar10" and (d / "data_batch_1").is_file():
            return _load_cifar_dir(d)
        if name == "svhn" and (d / "train_32x32.mat").is_file():
            return _load_svhn_dir(d)
    for npz in _NPZ_NAMES[name]:
        for sub in ("",) + _SUBDIRS[name]:
            if (root / sub / npz).is_file():
                return _load_npz(name, root / sub / npz)
    expected = {
        "mnist": "train-images-idx3-ubyte[.gz] and friends (or MNIST/raw/…, or mnist.npz)",
        "fashion-mnist": "train-images-idx3-ubyte[.gz] and friends (or FashionMNIST/raw/…, "
        "or fashion-mnist.npz)",
        "cifar10": "cifar-10-batches-py/data_batch_1..5 and test_batch (or cifar10.npz)",
        "svhn": "train_32x32.mat and test_32x32.mat (or svhn.npz)",
    }[name]
    raise DatasetError(f"no {name} data under {str(root)!r}: expected {expected}")


def _find(d: Path, stem: str) -> Path | None:
    for cand in (d / stem, d / f"{stem}.gz", d / stem.replace("-idx", ".idx")):
        if cand.is_file():
            return cand
    return None


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{path}: corrupt gzip stream ({exc})") from exc
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read one idx file (uint8 data; gzip-compressed or not) into an array of its stated shape."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found (expected an idx file)")
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(
            f"{path}: not an idx file (expected magic 0x0000 then type and rank, "
            f"got {data[:4].hex() or 'an empty file'})"
        )
    if data[2] != 0x08:
        raise DatasetError(
            f"{path}: idx data type must be 0x08 (unsigned byte), got 0x{data[2]:02x}"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DatasetError(f"{path}: truncated idx header (rank {ndim})")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    n = int(np.prod(shape))
    if len(data) - header != n:
        raise DatasetError(
            f"{path}: idx header promises shape {shape} = {n} bytes, "
            f"file holds {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=header).reshape(shape)


def _load_idx_dir(name: str, d: Path) -> Dataset:
    arrays = {}
    for key, stem in _IDX_FILES.items():
        path = _find(d, stem)
        if path is None:
            raise DatasetError(
                f"{d / stem}[.gz]: file not found (expected the {key} idx file "
                f"next to {_IDX_FILES['x_train']})"
            )
        arr = read_idx(path)
        want = 3 if key.startswith("x") else 1
        if arr.ndim != want:
            raise DatasetError(
                f"{path}: expected a rank-{want} idx array for {key}, got shape {arr.shape}"
            )
        arrays[key] = arr[:, None] if want == 3 else arr.astype(np.int64)
    return Dataset(name=name, source=str(d), **arrays)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR batches are pickles: refuse anything but numpy arrays and builtins in them."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")


def _load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found (expected a CIFAR-10 python batch)")
    try:
        obj = _NumpyOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except Exception as exc:  # pickle raises many types on garbage input
        raise DatasetError(
            f"{path}: not a CIFAR-10 python batch (unpickling failed: {exc})"
        ) from exc
    if not isinstance(obj, dict):
        raise DatasetError(
            f"{path}: expected a dict with b'data' and b'labels', got {type(obj).__name__}"
        )
    obj = {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}
    if "data" not in obj or "labels" not in obj:
        raise DatasetError(
            f"{path}: expected keys 'data' and 'labels', got {sorted(map(str, obj))}"
        )
    x = np.asarray(obj["data"], dtype=np.uint8)
    y = np.asarray(obj["labels"], dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 3072 or len(y) != len(x):
        raise DatasetError(
            f"{path}: expected data (N, 3072) and N labels, got data {x.shape}, {len(y)} labels"
        )
    return x.reshape(-1, 3, 32, 32), y


def _load_cifar_dir(d: Path) -> Dataset:
    parts = [_load_cifar_batch(d / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _load_cifar_batch(d / "test_batch")
    return Dataset(
        name="cifar10",
        x_train=np.concatenate([p[0] for p in parts]),
        y_train=np.concatenate([p[1] for p in parts]),
        x_test=x_test,
        y_test=y_test,
        source=str(d),
    )


def _load_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    if not path.is_file():
        raise DatasetError(f"{path}: file not found (expected an SVHN .mat file with X and y)")
    try:
        mat = loadmat(path)
    except Exception as exc:  # scipy raises ValueError/TypeError/OSError on garbage
        raise DatasetError(f"{path}: not a readable MATLAB file ({exc})") from exc
    if "X" not in mat or "y" not in mat:
        raise DatasetError(
            f"{path}: expected variables X (32, 32, 3, N) and y (N, 1), "
            f"got {sorted(k for k in mat if not k.startswith('__'))}"
        )
    x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DatasetError(
            f"{path}: expected X (32, 32, 3, N) and N labels, got X {x.shape}, {len(y)} labels"
        )
    y = np.where(y == 10, 0, y)  # SVHN stores digit 0 as label 10
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1)).astype(np.uint8), y


def _load_svhn_dir(d: Path) -> Dataset:
    x_train, y_train = _load_svhn_mat(d / "train_32x32.mat")
    x_test, y_test = _load_svhn_mat(d / "test_32x32.mat")
    return Dataset(
        name="svhn", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, source=str(d)
    )


def _to_nchw(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x
    raise DatasetError(
        f"{path}: {key} must be (N, H, W), (N, H, W, C) or (N, C, H, W), got {x.shape}"
    )


def _load_npz(name: str, path: Path) -> Dataset:
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
            if missing:
                raise DatasetError(
                    f"{path}: .npz must hold x_train, y_train, x_test, y_test; missing {missing}"
                )
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except DatasetError:
        raise
    except Exception as exc:  # zipfile/pickle errors on a corrupt archive
        raise DatasetError(f"{path}: not a readable .npz archive ({exc})") from exc
    for key in ("x_train", "x_test"):
        x = arrays[key]
        if x.dtype != np.uint8:  # floats (maybe already scaled to [0, 1]) are refused, not cast
            if x.dtype.kind not in "iu" or (x.size and (x.min() < 0 or x.max() > 255)):
                raise DatasetError(
                    f"{path}: {key} must hold integer pixels 0..255 (uint8), got dtype {x.dtype}"
                    + (f" in [{x.min():g}, {x.max():g}]" if x.size and x.dtype.kind in "iuf"
                       else "")
                )
            x = x.astype(np.uint8)
        arrays[key] = _to_nchw(x, path, key)
    for key in ("y_train", "y_test"):
        if arrays[key].dtype.kind not in "iu":
            raise DatasetError(f"{path}: {key} must hold integer labels 0..9, got dtype "
                               f"{arrays[key].dtype}")
        arrays[key] = np.asarray(arrays[key]).reshape(-1).astype(np.int64)
    return Dataset(name=name, source=str(path), **arrays)


def to_tensor(x: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]):
    """uint8 (N, C, H, W) → float32 tensor, scaled to [0, 1] then standardized per channel."""
    import torch

    t = torch.from_numpy(np.require(x, requirements=("C", "W"))).float().div_(255.0)
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (t - m) / s


# ----- the autoencoder's test image ---------------------------------------------------------------

IMAGE_SIZE = 512
PATCH = 32


def load_test_image(path: str | Path | None = None) -> np.ndarray:
    """The autoencoder's 512×512 RGB test image as float32 (3, 512, 512) in [0, 1].

    Args:
        path: any image file skimage can read; None = ``skimage.data.astronaut()``. Other
            sizes are resized (shorter side to 512) and center-cropped; gray is repeated to RGB.
    """
    from skimage import data as skdata
    from skimage import io as skio
    from skimage.transform import resize

    if path is None:
        img = skdata.astronaut()
    else:
        p = Path(path)
        if not p.is_file():
            raise DatasetError(f"{p}: file not found (expected an image for the autoencoder)")
        try:
            img = skio.imread(p)
        except Exception as exc:  # imageio raises various types
            raise DatasetError(f"{p}: not a readable image ({exc})") from exc
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise DatasetError(
            f"{path or 'astronaut'}: expected an (H, W[, 1|3|4]) image, got {img.shape}"
        )
    img = img[..., :3] if img.shape[2] != 1 else np.repeat(img, 3, axis=2)
    f = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else max(float(img.max()), 1.0))
    h, w = f.shape[:2]
    if (h, w) != (IMAGE_SIZE, IMAGE_SIZE):
        scale = IMAGE_SIZE / min(h, w)
        nh, nw = max(IMAGE_SIZE, round(h * scale)), max(IMAGE_SIZE, round(w * scale))
        f = resize(f, (nh, nw), anti_aliasing=True, preserve_range=True).astype(np.float32)
        top, left = (nh - IMAGE_SIZE) // 2, (nw - IMAGE_SIZE) // 2
        f = f[top : top + IMAGE_SIZE, left : left + IMAGE_SIZE]
    return np.ascontiguousarray(np.clip(f, 0.0, 1.0).transpose(2, 0, 1))


def image_to_patches(img: np.ndarray, patch: int = PATCH) -> np.ndarray:
    """(C, H, W) → (H/p · W/p, C, p, p) patches in row-major order (256 for 512×512 and p = 32)."""
    c, h, w = img.shape
    if h % patch or w % patch:
        raise DatasetError(f"image size {h}×{w} must be a multiple of the patch size {patch}")
    out = img.reshape(c, h // patch, patch, w // patch, patch).transpose(1, 3, 0, 2, 4)
    return np.ascontiguousarray(out.reshape(-1, c, patch, patch))


def patches_to_image(
    patches: np.ndarray, height: int = IMAGE_SIZE, width: int = IMAGE_SIZE
) -> np.ndarray:
    """Inverse of `image_to_patches`: (N, C, p, p) → (C, height, width)."""
    n, c, p, _ = patches.shape
    if n != (height // p) * (width // p):
        raise DatasetError(f"{n} patches of {p}×{p} cannot tile a {height}×{width} image")
    grid = patches.reshape(height // p, width // p, c, p, p).transpose(2, 0, 3, 1, 4)
    return np.ascontiguousarray(grid.reshape(c, height, width))


__all__ = [
    "DATASETS",
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
