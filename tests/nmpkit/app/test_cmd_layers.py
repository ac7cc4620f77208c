"""`nmpkit layers`: end to end on the shipped MNIST weights (a few images), and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nmpkit.app.cli import main
from nmpkit.app.commands.layers import parse_groups
from nmpkit.app.errors import UsageError
from tests.nmpkit.studies.layers_fixtures import three_level_calibration

WEIGHTS = Path(__file__).resolve().parents[3] / "nmpkit" / "weights" / "mnist.pt"


@pytest.fixture()
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "mnist.npz", x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 40), x_test=rng.integers(0, 256, (12, 28, 28),
                                                                   dtype=np.uint8),
             y_test=rng.integers(0, 10, 12))
    cal = three_level_calibration().save(tmp_path / "cal.json")
    return tmp_path, cal


def test_layers_end_to_end(inputs, capsys):
    d, cal = inputs
    out = d / "out"
    rc = main(["layers", "--calibration", str(cal), "--weights", str(WEIGHTS), "--data-root",
               str(d / "mnist.npz"), "--limit", "12", "--timesteps", "12", "--tolerance", "0.5",
               "--group", "convs=1,3", "--out", str(out), "--json", "--threads", "1"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    d_json = json.loads((out / "layers.json").read_text())
    assert [g["name"] for g in d_json["groups"]] == ["convs", "6", "8"]
    assert d_json["groups"][0]["layers"] == ["1", "3"]
    assert d_json["samples"] == 12 and d_json["provenance"]["command"] == "nmpkit layers"
    assert summary["simulations"] == d_json["simulations"] >= 4  # NMP + 3 uniform at least
    assert (out / "layers.csv").is_file()


@pytest.mark.parametrize("extra, word", [
    (["--tolerance", "0"], "tolerance"),
    (["--group", "g=nope"], "unknown layer 'nope'"),
    (["--group", "g="], "layer group 'g' is empty"),
    (["--timesteps", "0"], "--timesteps"),
    (["--eta", "0"], "eta"),
])
def test_layers_bad_input_one_line(inputs, capsys, extra, word):
    d, cal = inputs
    argv = ["layers", "--calibration", str(cal), "--weights", str(WEIGHTS), "--data-root",
            str(d / "mnist.npz"), "--limit", "4", "--timesteps", "4", "--out", str(d / "o"),
            *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err, err


def test_parse_groups():
    assert parse_groups(["a=1, 3", "b=6"]) == {"a": ["1", "3"], "b": ["6"]}
    with pytest.raises(UsageError, match="expected NAME=LAYER"):
        parse_groups(["nogroup"])
    with pytest.raises(UsageError, match="given twice"):
        parse_groups(["a=1", "a=3"])
