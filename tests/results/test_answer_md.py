"""results/answer_md.py: the trade-off page's command is rebuilt from the run's recorded config,
and it parses back, through `nmpkit tradeoff`'s own parser, to that config."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import shlex
from pathlib import Path

import pytest

from nmpkit.app.commands import tradeoff as cmd
from nmpkit.studies.tradeoff import TradeoffConfig

_SPEC = importlib.util.spec_from_file_location(
    "answer_md", Path(__file__).parents[2] / "results" / "answer_md.py")
answer_md = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(answer_md)


@pytest.mark.parametrize("extra", [{}, {"array_size": 64, "ideal": True, "batch": 100}])
def test_tradeoff_command_parses_back_to_the_recorded_config(extra):
    cfg = TradeoffConfig(calibration="cal dir/c.json", weights="w.pt", data_root="/d",
                         network="mnist", dataset="mnist", limit=1000, timesteps=(100, 200),
                         v_neg_volts=(0.0, -0.5), v_dd_volts=(0.8,), energy_samples=300,
                         eta=0.25, tolerance=0.01, **extra)
    words = shlex.split(answer_md.tradeoff_command(dataclasses.asdict(cfg)))
    assert words[:4] == ["python", "-m", "nmpkit", "tradeoff"]
    p = argparse.ArgumentParser()
    cmd.add_arguments(p)
    a = p.parse_args(words[4:])
    got = {"calibration": a.calibration, "weights": a.weights, "data_root": a.data_root,
           "network": a.network, "dataset": a.dataset, "limit": a.limit,
           "timesteps": tuple(a.timesteps), "v_neg_volts": tuple(a.v_neg),
           "v_dd_volts": tuple(a.v_dd), "energy_samples": a.energy_samples, "eta": a.eta,
           "tolerance": a.tolerance, "batch": a.batch, "array_size": a.array_size,
           "ideal": a.ideal}
    assert got == {k: getattr(cfg, k) for k in got}
    assert a.out == "OUT"


@pytest.mark.parametrize("name", ["../x", ".hidden", "a/b", ""])
def test_a_page_name_with_a_path_in_it_is_refused(name, tmp_path):
    with pytest.raises(SystemExit, match="--name must be a plain file name"):
        answer_md.main(["tradeoff", str(tmp_path), "--name", name])


def test_the_tradeoff_page_from_a_runs_files(tmp_path, monkeypatch):
    """The ``tradeoff`` kind (results/answer_tradeoff.py) through answer_md's CLI, on the files
    of the committed 500-image run: one table row per point and T, values from the CSV."""
    import json
    import shutil
    import sys

    import pandas as pd

    src = Path(__file__).parents[2] / "results" / "tradeoff_mnist"
    out = tmp_path / "out"
    shutil.copytree(src, out)
    page_mod = sys.modules[answer_md.tradeoff_page.__module__]
    assert Path(page_mod.__file__).name == "answer_tradeoff.py"
    for mod in (answer_md, page_mod):
        monkeypatch.setattr(mod, "HERE", tmp_path / "results")
    (tmp_path / "results").mkdir()
    assert answer_md.main(["tradeoff", str(out), "--name", "t", "--command", "CMD"]) == 0
    page = (tmp_path / "results" / "t.md").read_text()
    assert sorted(p.name for p in (tmp_path / "results" / "t").iterdir()) == [
        "recommendation.json", "tradeoff.csv"]
    df = pd.read_csv(src / "tradeoff.csv")
    rec = json.loads((src / "recommendation.json").read_text())
    assert f"**{rec['text']}**" in page and "CMD\npython results/answer_md.py tradeoff OUT" in page
    rows = [ln for ln in page.splitlines() if ln.startswith("| ") and "|---" not in ln
            and not ln.startswith("| point ")]
    assert len(rows) == len(df)
    for t in sorted(df["timesteps"].unique()):
        assert f"## T = {t}" in page
    first = df[df["condition"] == "nmp"].iloc[0]
    assert f"| NMP | {100 * first.accuracy:.2f}% ({100 * first.accuracy_ci_low:.2f}–" in page


def test_spread_line_counts_images_apart_and_says_when_accuracy_does_not_bind():
    import pandas as pd

    nan = float("nan")
    df = pd.DataFrame({"accuracy": [0.992, 0.991, nan, 0.992],
                       "floor_theta": [-1.5, -14.0, nan, -0.5]})
    (line,) = answer_md.spread_lines(df, 1000)
    assert "3 evaluated designs score 99.10–99.20%" in line and "1 image(s) apart" in line
    assert "floors -14.00 to -0.50 θ" in line and "does not bind" in line
    df.loc[1, "accuracy"] = 0.95  # 42 images apart: the constraint can bind, no such claim
    (line,) = answer_md.spread_lines(df, 1000)
    assert "42 image(s) apart" in line and "does not bind" not in line
    assert answer_md.spread_lines(df.iloc[2:3], 1000) == []


def test_a_run_folder_that_is_the_pages_folder_is_read_in_place(tmp_path):
    """results/layers/<net> given as an OUT (to rebuild the page with one more network) must not
    fail on copying a file onto itself, and a real copy still copies."""
    f = tmp_path / "layers.json"
    f.write_text('{"a": 1}')
    answer_md._copy(f, f)
    assert f.read_text() == '{"a": 1}'
    (tmp_path / "d").mkdir()
    answer_md._copy(f, tmp_path / "d" / "layers.json")
    assert (tmp_path / "d" / "layers.json").read_text() == '{"a": 1}'


def test_the_optimize_page_name_is_an_option():
    args = answer_md.parse(["optimize", "OUT", "--name", "optimize_cifar10"])
    assert args.name == "optimize_cifar10"
    assert answer_md.parse(["optimize", "OUT"]).name == "optimize"
