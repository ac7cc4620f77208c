"""Loaders on small files the tests write in each dataset's on-disk format."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmpkit.errors import ConfigError
from nmpkit.ml.data import (
    DatasetError,
    image_to_patches,
    load_dataset,
    load_test_image,
    patches_to_image,
    read_idx,
    to_tensor,
)

RNG = np.random.default_rng(0)


def _idx_bytes(arr: np.ndarray) -> bytes:
    # written by hand from the format's definition: 0, 0, type 0x08, rank, big-endian dims
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def _write_idx_set(d, *, gz: bool, n_train=7, n_test=5):
    d.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": RNG.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": RNG.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, arr in arrays.items():
        raw = _idx_bytes(arr)
        if gz:
            (d / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (d / name).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", ["", "MNIST/raw"])
def test_mnist_idx_layouts(tmp_path, gz, layout):
    arrays = _write_idx_set(tmp_path / layout if layout else tmp_path, gz=gz)
    ds = load_dataset("mnist", tmp_path)
    assert ds.x_train.shape == (7, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(ds.x_train[:, 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"].astype(np.int64))
    assert ds.y_train.dtype == np.int64


def test_fashion_mnist_torchvision_and_debian_layout(tmp_path):
    _write_idx_set(tmp_path / "tv" / "FashionMNIST" / "raw", gz=False)
    assert load_dataset("fashion-mnist", tmp_path / "tv").x_train.shape == (7, 1, 28, 28)
    # Debian's /usr/share/datasets/fashion-mnist: the gz files directly in the folder
    _write_idx_set(tmp_path / "debian", gz=True, n_train=3)
    assert load_dataset("fashion-mnist", tmp_path / "debian").x_train.shape == (3, 1, 28, 28)


def test_idx_corrupt_and_missing_files_name_the_file(tmp_path):
    _write_idx_set(tmp_path, gz=False)
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.*magic"):
        load_dataset("mnist", tmp_path)
    bad.write_bytes(_idx_bytes(np.zeros(5, np.uint8))[:-2])  # truncated
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.*promises"):
        load_dataset("mnist", tmp_path)
    bad.unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte"):
        load_dataset("mnist", tmp_path)
    (tmp_path / "x.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DatasetError, match="x.gz.*gzip"):
        read_idx(tmp_path / "x.gz")


def test_dataset_error_is_a_usage_error_and_names_the_root(tmp_path):
    with pytest.raises(ConfigError, match="no cifar10 data under"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("mnist", tmp_path / "nope")
    with pytest.raises(DatasetError, match="must be one of"):
        load_dataset("imagenet", tmp_path)


def _write_cifar(d, n=4):
    d.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in RNG.integers(0, 10, n)]
        with open(d / name, "wb") as f:
            pickle.dump({b"batch_label": b"x", b"data": data, b"labels": labels}, f, protocol=2)
        batches[name] = (data, labels)
    return batches


def test_cifar10_python_batches(tmp_path):
    batches = _write_cifar(tmp_path / "cifar-10-batches-py")
    ds = load_dataset("cifar10", tmp_path)
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    # row layout of the original: 1024 red, then 1024 green, then 1024 blue bytes, row-major
    np.testing.assert_array_equal(ds.x_train[4, 1, 0, :], data[0, 1024:1056])
    np.testing.assert_array_equal(ds.y_train[4:8], labels)


def test_cifar10_refuses_foreign_pickles_and_garbage(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    _write_cifar(d)
    with open(d / "test_batch", "wb") as f:
        pickle.dump({b"data": os.getcwd, b"labels": []}, f)  # a callable: must not be loaded
    with pytest.raises(DatasetError, match="test_batch.*refusing"):
        load_dataset("cifar10", tmp_path)
    (d / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="test_batch"):
        load_dataset("cifar10", tmp_path)


def test_svhn_mat(tmp_path):
    from scipy.io import savemat

    xs = {}
    for split, n in (("train", 6), ("test", 3)):
        x = RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = np.array([[10], [1], [9], [10], [2], [3]][:n], dtype=np.uint8)
        savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": y})
        xs[split] = (x, y)
    ds = load_dataset("svhn", tmp_path)
    assert ds.x_train.shape == (6, 3, 32, 32)
    np.testing.assert_array_equal(ds.y_train, [0, 1, 9, 0, 2, 3])  # 10 means digit 0
    np.testing.assert_array_equal(ds.x_test[2, 1], xs["test"][0][:, :, 1, 2])
    savemat(tmp_path / "test_32x32.mat", {"images": np.zeros(3)})
    with pytest.raises(DatasetError, match="test_32x32.mat.*expected variables X"):
        load_dataset("svhn", tmp_path)


def test_npz_layouts_and_errors(tmp_path):
    x = RNG.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    np.savez(
        tmp_path / "cifar10.npz", x_train=x, y_train=np.arange(5), x_test=x[:2], y_test=np.arange(2)
    )
    for root in (tmp_path, tmp_path / "cifar10.npz"):
        ds = load_dataset("cifar10", root)
        assert ds.x_train.shape == (5, 3, 32, 32)
        np.testing.assert_array_equal(ds.x_train[1, 2], x[1, :, :, 2])
    np.savez(
        tmp_path / "m.npz",
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=[0, 1],
        x_test=np.zeros((1, 28, 28), np.uint8),
    )
    with pytest.raises(DatasetError, match="m.npz.*missing \\['y_test'\\]"):
        load_dataset("mnist", tmp_path / "m.npz")
    np.savez(
        tmp_path / "m.npz",
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=[0, 1],
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=[11],
    )
    with pytest.raises(DatasetError, match="labels must be in 0..9"):
        load_dataset("mnist", tmp_path / "m.npz")
    with pytest.raises(DatasetError, match="images must be"):
        load_dataset("mnist", tmp_path / "cifar10.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DatasetError, match="broken.npz"):
        load_dataset("mnist", tmp_path / "broken.npz")


def test_to_tensor_scales_and_standardizes():
    x = np.array([[[[0, 255]], [[51, 102]]]], dtype=np.uint8)  # (1, 2, 1, 2)
    t = to_tensor(x, (0.0, 0.2), (1.0, 0.5))
    np.testing.assert_allclose(t.numpy(), [[[[0.0, 1.0]], [[0.0, 0.4]]]], atol=1e-6)


def test_test_image_default_and_from_path(tmp_path):
    from skimage import io as skio

    img = load_test_image()
    assert img.shape == (3, 512, 512) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.std() > 0.1
    rect = RNG.integers(0, 256, (300, 700, 3), dtype=np.uint8)
    skio.imsave(tmp_path / "r.png", rect, check_contrast=False)
    assert load_test_image(tmp_path / "r.png").shape == (3, 512, 512)
    skio.imsave(tmp_path / "g.png", rect[..., 0], check_contrast=False)
    g = load_test_image(tmp_path / "g.png")
    np.testing.assert_array_equal(g[0], g[2])
    with pytest.raises(DatasetError, match="nope.png"):
        load_test_image(tmp_path / "nope.png")


def test_patches_order_and_count():
    img = np.arange(3 * 512 * 512, dtype=np.float32).reshape(3, 512, 512)
    p = image_to_patches(img)
    assert p.shape == (256, 3, 32, 32)
    np.testing.assert_array_equal(p[0], img[:, :32, :32])
    np.testing.assert_array_equal(p[1], img[:, :32, 32:64])  # row-major: next column first
    np.testing.assert_array_equal(p[16], img[:, 32:64, :32])
    np.testing.assert_array_equal(patches_to_image(p), img)


@settings(max_examples=25, deadline=None)
@given(c=st.integers(1, 3), rows=st.integers(1, 4), cols=st.integers(1, 4), patch=st.integers(1, 6))
def test_patches_roundtrip(c, rows, cols, patch):
    img = np.random.default_rng(rows * 7 + cols).random((c, rows * patch, cols * patch))
    p = image_to_patches(img, patch)
    assert p.shape == (rows * cols, c, patch, patch)
    np.testing.assert_array_equal(patches_to_image(p, rows * patch, cols * patch), img)


def test_patches_reject_bad_sizes():
    with pytest.raises(DatasetError, match="multiple of the patch size"):
        image_to_patches(np.zeros((3, 50, 64)), 32)
    with pytest.raises(DatasetError, match="cannot tile"):
        patches_to_image(np.zeros((3, 3, 32, 32)))


def test_data_dir_from_argument_or_environment(tmp_path, monkeypatch):
    from nmpkit.ml.data import DATA_ENV, DatasetError, data_dir

    monkeypatch.delenv(DATA_ENV, raising=False)
    with pytest.raises(DatasetError, match="NMPKIT_DATA"):
        data_dir()
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_dir() == tmp_path
    assert data_dir(tmp_path / ".") == tmp_path / "."  # the argument wins
    with pytest.raises(DatasetError, match="--data-dir .*nope.* not a folder"):
        data_dir(tmp_path / "nope")
