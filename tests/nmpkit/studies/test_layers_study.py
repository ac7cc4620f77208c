"""The per-layer search as a typed call: its config names bad fields; its result round-trips."""

import json

import pytest

from nmpkit.errors import ConfigError
from nmpkit.studies.layers_study import LayersConfig, LayersResult

PATHS = {"calibration": "cal.json", "weights": "w.pt", "data_root": "d"}


@pytest.mark.parametrize("field, value, word", [
    ("tolerance", 0.0, "tolerance"), ("tolerance", 1.5, "tolerance"), ("eta", 0.0, "eta"),
    ("timesteps", 0, "timesteps"), ("batch", True, "batch"), ("max_passes", 0, "max_passes"),
    ("v_dd_volts", 6.0, "v_dd_volts"), ("v_neg_volts", (-0.5, 0.1), "v_neg_volts"),
])
def test_bad_values_name_the_field(field, value, word):
    with pytest.raises(ConfigError, match=word) as e:
        LayersConfig(**PATHS, **{field: value})
    assert repr(value).split(",")[0].strip("()") in str(e.value)


def test_groups_from_a_mapping_are_frozen_pairs():
    cfg = LayersConfig(**PATHS, groups={"convs": ["1", "3"], "fc": [6]}, v_neg_volts=[-0.5, 0])
    assert cfg.groups == (("convs", ("1", "3")), ("fc", (6,)))
    assert cfg.groups_spec() == {"convs": ["1", "3"], "fc": [6]}
    assert cfg.v_neg_volts == (-0.5, 0.0)
    with pytest.raises(AttributeError):
        cfg.tolerance = 0.1  # frozen


def test_save_then_load_is_equal(tmp_path):
    summary = {"schema": "nmpkit.layers/1", "status": "found", "simulations": 5,
               "text": "layer 6 needs a floor below ZMP", "groups": [{"name": "g"}]}
    rows = ({"config": "zmp", "layer": "1", "group": "6", "hit_fraction": 0.25, "samples": 3},
            {"config": "chosen", "layer": "1", "group": "6", "hit_fraction": 0.5, "samples": 3})
    res = LayersResult(summary, rows)
    paths = res.save(tmp_path / "out")
    assert [p.name for p in paths] == ["layers.json", "layers.csv"]
    back = LayersResult.load(tmp_path / "out")
    assert back == res
    assert back.text() == "layer 6 needs a floor below ZMP"
    assert json.loads(paths[0].read_text())["simulations"] == 5


def test_load_without_a_result_or_with_bad_json(tmp_path):
    with pytest.raises(ConfigError, match="no per-layer floor search here"):
        LayersResult.load(tmp_path)
    (tmp_path / "layers.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        LayersResult.load(tmp_path)
    (tmp_path / "layers.json").write_text("{oops")
    with pytest.raises(ConfigError, match="not JSON"):
        LayersResult.load(tmp_path)
