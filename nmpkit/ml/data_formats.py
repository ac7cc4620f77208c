"""Readers of the datasets' on-disk formats: idx (MNIST, Fashion-MNIST; gzip or not), the CIFAR-10
python batches (unpickled with numpy types only), SVHN's .mat files and a plain .npz."""

from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path

import numpy as np

from nmpkit.ml.data_types import Dataset, DatasetError

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def find_idx(d: Path, stem: str) -> Path | None:
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


def load_idx_dir(name: str, d: Path) -> Dataset:
    arrays = {}
    for key, stem in IDX_FILES.items():
        path = find_idx(d, stem)
        if path is None:
            raise DatasetError(
                f"{d / stem}[.gz]: file not found (expected the {key} idx file "
                f"next to {IDX_FILES['x_train']})"
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


def load_cifar_dir(d: Path) -> Dataset:
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


def load_svhn_dir(d: Path) -> Dataset:
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


def load_npz(name: str, path: Path) -> Dataset:
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


__all__ = [
    "IDX_FILES",
    "find_idx",
    "load_cifar_dir",
    "load_idx_dir",
    "load_npz",
    "load_svhn_dir",
    "read_idx",
]
