"""`OptimizeResult`: the files `nmpkit optimize` writes, saved and read back without ngspice."""

import dataclasses
import json

import pandas as pd
import pytest

from nmpkit.errors import ConfigError
from nmpkit.studies.optimize import OptimizeConfig, run
from nmpkit.studies.optimize_output import (
    CSV_COLUMNS,
    SCHEMA,
    OptimizeResult,
    summary_text,
    write_outputs,
)
from nmpkit.studies.optimize_space import OptimizeError


def _trial(number, *, preset="default", v_neg=-0.5, acc=0.9, energy=2e-9, feasible=True):
    design = {"topology": preset, "v_dd_volts": 1.0, "v_neg_volts": v_neg,
              "c_mem_farads": 1e-13, "i_reset_amps": 1e-6, "mirror_ratio": 1.0}
    return {"number": number, "state": "COMPLETE", "status": "evaluated", "design": design,
            "preset": preset, "design_key": f"k{number}", "calibration_digest": f"d{number}",
            "accuracy": {"k": int(acc * 100), "n": 100, "estimate": acc, "ci_low": acc - 0.05,
                         "ci_high": acc + 0.03},
            "energy_joules": energy, "energy_regime": "dynamic", "floor_theta": -1.0,
            "dt_seconds": 1e-8, "latency_seconds": 1e-6, "feasible": feasible,
            "comparison": {"vs_nmp": {"ci_high": 0.01}}, "pareto": feasible,
            "spice": {"designs_new": 1, "points_simulated": 8}}


def _summary():
    trials = [_trial(0), _trial(1, preset="raised_rest", v_neg=-0.25, acc=0.88, energy=1e-9),
              {"number": 2, "state": "PRUNED", "status": "invalid design", "feasible": False}]
    res = {"schema": SCHEMA, "study_name": "optimize-x", "n_trials": 3, "timesteps": 100,
           "samples": 100, "classifier": {"network": "mnist"},
           "rule": {"unavailable": "no -2 θ floor"}, "best": trials[1], "pareto_front": trials[:2],
           "trials": trials, "spice": {"points_total": 16}}
    res["text"] = summary_text(res)
    return res


def test_save_writes_the_files_write_outputs_writes_and_load_reads_them(tmp_path):
    res = OptimizeResult.of(_summary())
    assert len(res.rows) == 3 and res.rows[1]["v_neg_volts"] == -0.25
    paths = res.save(tmp_path / "a")
    assert [p.name for p in paths] == ["optimize.json", "optimize.csv"]
    write_outputs(tmp_path, _summary())  # the writer's own files: the same bytes
    for p in paths:
        assert p.read_bytes() == (tmp_path / p.name).read_bytes()
    back = OptimizeResult.load(tmp_path / "a")
    assert back.summary == json.loads(json.dumps(_summary()))
    assert back.timesteps() == 100 and back.text() == _summary()["text"]
    assert "best feasible: raised_rest" in back.text()
    got, want = back.frame(), pd.read_csv(tmp_path / "optimize.csv")
    assert list(got.columns) == list(CSV_COLUMNS)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got["preset"].tolist()[:2] == ["default", "raised_rest"]


def test_load_without_a_csv_has_no_rows(tmp_path):
    (tmp_path / "optimize.json").write_text(json.dumps({"best": {"v_dd_volts": 0.9}}))
    res = OptimizeResult.load(tmp_path)
    assert res.rows == () and res.frame().empty and res.timesteps() is None


@pytest.mark.parametrize("content, match", [(None, "no optimizer study"),
                                            ("{bad", "not JSON"), ("[1]", "a JSON object")])
def test_load_errors_name_the_file(tmp_path, content, match):
    if content is not None:
        (tmp_path / "optimize.json").write_text(content)
    with pytest.raises(ConfigError, match=match):
        OptimizeResult.load(tmp_path)


def test_where_the_classifier_and_study_live_is_not_the_study_identity():
    plain = OptimizeConfig()
    placed = OptimizeConfig(network="allconv28", weights="w.pt", dataset="fashion-mnist",
                            data_root="d", limit=5, study_dir="out")
    assert placed.identity() == plain.identity()
    assert dataclasses.replace(plain, seed=1).identity() != plain.identity()


def test_config_and_run_reject_what_they_cannot_use():
    with pytest.raises(OptimizeError, match="limit"):
        OptimizeConfig(limit=-1)
    with pytest.raises(OptimizeError, match="study_dir"):
        run(OptimizeConfig())
    with pytest.raises(OptimizeError, match="weights"):
        run(OptimizeConfig(study_dir="out"))
