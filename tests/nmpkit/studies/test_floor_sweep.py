"""The evaluate stage's floor sweep: gathered from evaluations, saved, loaded back equal."""

import json

import numpy as np
import pandas as pd
import pytest

from nmpkit.errors import ConfigError
from nmpkit.studies.evaluate_io import EvaluateResult
from nmpkit.studies.floor_sweep import FloorSweepResult, try_load


def _eval(final, best, corr=()):
    metric = (0.5, best, final)
    return EvaluateResult(summary={"metric": "accuracy", "final_accuracy": final,
                                   "best_accuracy": best, "best_t": 2, "samples": 10,
                                   "ann_accuracy": 0.95, "network": "mnist"},
                          metric=metric, correlation=tuple(corr))


def _sweep():
    corr = [{"layer": 1, "neuron": 0, "ann_activation": 0.2, "snn_rate": 0.25}]
    evs = [("nmp", None, _eval(0.9, 0.92, corr)), ("zmp", 0.0, _eval(0.7, 0.8, corr)),
           ("floor-1", -1.0, _eval(0.85, 0.85, corr))]
    cmp = [{"condition": "zmp", "timesteps": 3, "samples": 10, "nmp_minus": 0.2}]
    return FloorSweepResult.gather(evs, cmp)


def test_gather_builds_the_stage_tables_by_hand():
    sw = _sweep()
    assert list(sw.curves.columns) == ["t", "accuracy", "condition", "lower_bound"]
    assert sw.curves["t"].tolist() == [1, 2, 3] * 3
    assert sw.curves[sw.curves["condition"] == "zmp"]["accuracy"].tolist() == [0.5, 0.8, 0.7]
    assert sw.finals.to_dict("records")[2] == {
        "condition": "floor-1", "lower_bound": -1.0, "final_accuracy": 0.85,
        "best_accuracy": 0.85, "best_t": 2, "samples": 10, "ann_accuracy": 0.95}
    assert sw.finals_by_condition() == {"nmp": 0.9, "zmp": 0.7, "floor-1": 0.85}
    # correlation only for NMP and ZMP (the figure's two panels)
    assert sw.correlation["condition"].tolist() == ["nmp", "zmp"]
    assert sw.network() == "mnist"


def test_save_then_load_is_equal(tmp_path):
    sw = _sweep()
    paths = sw.save(tmp_path)
    assert [p.name for p in paths] == ["accuracy_per_step.csv", "floors.csv", "correlation.csv",
                                       "comparisons.csv", "nmp.json", "zmp.json",
                                       "floor-1.json"]
    back = FloorSweepResult.load(tmp_path)
    pd.testing.assert_frame_equal(back.finals, sw.finals.reset_index(drop=True),
                                  check_dtype=False)
    np.testing.assert_allclose(back.curves["accuracy"], sw.curves["accuracy"])
    assert back.comparisons.to_dict("records") == sw.comparisons.to_dict("records")
    assert back.summaries == json.loads(json.dumps(sw.summaries))
    # the CSVs only: the summaries stay whatever was there
    (tmp_path / "nmp.json").write_text('{"network": "other"}')
    sw.save(tmp_path, summaries=False)
    assert FloorSweepResult.load(tmp_path).network() == "other"


def test_load_without_a_sweep_or_with_bad_json(tmp_path):
    with pytest.raises(ConfigError, match="no floor sweep here"):
        FloorSweepResult.load(tmp_path)
    assert try_load(tmp_path) is None
    _sweep().save(tmp_path)
    (tmp_path / "zmp.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"zmp.json: not JSON"):
        FloorSweepResult.load(tmp_path)
    (tmp_path / "zmp.json").write_text('"a string"')
    with pytest.raises(ConfigError, match=r"zmp.json: expected a JSON object, got str"):
        FloorSweepResult.load(tmp_path)
