"""`nmpkit train` through main([...]): files written, errors as one line with exit code 2."""

import json

import numpy as np
import torch

from nmpkit.app.cli import main
from nmpkit.ml.train import load_weights


def _npz(path, n=24):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, n),
        x_test=rng.integers(0, 256, (8, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 8),
    )
    return path


def test_train_mnist_one_epoch_writes_loadable_weights(tmp_path, capsys):
    data = _npz(tmp_path / "mnist.npz")
    out = tmp_path / "w" / "mnist.pt"
    rc = main(
        [
            "--quiet",
            "train",
            "mnist",
            "--data-root",
            str(tmp_path),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--seed",
            "7",
            "--half",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["network"] == "mnist" and side["dataset"] == "mnist" and side["seed"] == 7
    assert side["data_source"] == str(data) and side["dtype"] == "float16"
    assert side["epochs_done"] == 1 and len(side["history"]) == 1
    assert side["provenance"]["command"] == "nmpkit train"
    sd = torch.load(out, weights_only=True)
    assert sd["0.weight"].dtype == torch.float16
    model = load_weights("mnist", out)
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_train_json_summary_and_fashion_dataset(tmp_path, capsys):
    _npz(tmp_path / "fashion-mnist.npz", n=8)
    rc = main(
        [
            "--json",
            "train",
            "mnist",
            "--dataset",
            "fashion-mnist",
            "--data-root",
            str(tmp_path),
            "--out",
            str(tmp_path / "f.pt"),
            "--epochs",
            "1",
            "--train-limit",
            "8",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epoch"] == 1 and 0.0 <= summary["test_accuracy"] <= 1.0


def test_train_errors_are_one_line_exit_2(tmp_path, capsys):
    rc = main(
        [
            "train",
            "mnist",
            "--data-root",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path / "x.pt"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing" in err[0] and "does not exist" in err[0]
    rc = main(["train", "resnet", "--data-root", str(tmp_path), "--out", str(tmp_path / "x.pt")])
    assert rc == 2 and "'resnet'" in capsys.readouterr().err
    rc = main(
        [
            "train",
            "cifar10",
            "--dataset",
            "mnist",
            "--data-root",
            str(tmp_path),
            "--out",
            str(tmp_path / "x.pt"),
        ]
    )
    assert rc == 2 and "--dataset for cifar10" in capsys.readouterr().err
    rc = main(["train", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "x.pt")])
    assert rc == 2 and "no mnist data under" in capsys.readouterr().err
