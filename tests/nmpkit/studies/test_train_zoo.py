"""train_zoo's checks before any data is read (training itself: tests/nmpkit/ml/test_train.py)."""

import shlex
import sys

import pytest

from nmpkit.errors import ConfigError
from nmpkit.studies.train_zoo import command_line, train_zoo


def test_a_dataset_the_network_does_not_take_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"--dataset for cifar10 must be one of cifar10, "
                                          r"got 'mnist'"):
        train_zoo("cifar10", data_root=tmp_path, dataset="mnist", out=tmp_path / "w.pt")


def test_command_line_quotes_the_arguments(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["nmpkit", "train", "mnist", "--out", "a b.pt"])
    assert shlex.split(command_line()) == ["nmpkit", "train", "mnist", "--out", "a b.pt"]
