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
