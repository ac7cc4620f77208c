import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib import Calibration, CalibrationError
from calib.fit import fit
from tests.calib import synth_tables as syn


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


def test_round_trip(cal, tmp_path):
    p = cal.save(tmp_path / "sub" / "calibration.json")
    back = Calibration.load(p)
    assert back == cal
    data = json.loads(p.read_text())
    assert data["format"] == "nmpkit-calibration" and data["version"] == 1
    assert data["sources"]["fi"]["provenance"]["grid"] == {"kind": "fi"}


def test_frozen(cal):
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.dt_seconds = 1.0


@pytest.mark.parametrize("field", ["dt_seconds", "transfer_rate_hertz", "floor_v_neg_volts",
                                   "energy_regime", "q_spike_coulombs"])
def test_missing_field_is_named(cal, tmp_path, field):
    data = cal.to_dict()
    del data[field]
    p = tmp_path / "c.json"
    p.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=f"missing field '{field}'"):
        Calibration.load(p)


@pytest.mark.parametrize("field,value,match", [
    ("dt_seconds", -1.0, "dt_seconds"),
    ("dt_seconds", "1e-6", "dt_seconds"),
    ("transfer_rate_hertz", [1.0, 0.5] + [2.0] * 7, "transfer_rate_hertz"),
    ("floor_v_neg_volts", [0.0, -1.0, -0.5, -0.25, -1.5], "floor_v_neg_volts"),
    ("energy_regime", ["quadratic", "x", "quadratic", "crowbar"], "energy_regime"),
    ("gain_threshold_corr", 2.0, "gain_threshold_corr"),
    ("version", 2, "version"),
    ("format", "other", "format"),
    ("v_neg_volts", 0.3, "v_neg_volts"),
    ("bogus", 1, "bogus"),
])
def test_bad_field_is_named(cal, tmp_path, field, value, match):
    data = cal.to_dict()
    data[field] = value
    p = tmp_path / "c.json"
    p.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=match):
        Calibration.load(p)


def test_unreadable_files(tmp_path):
    with pytest.raises(CalibrationError, match="not found"):
        Calibration.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CalibrationError, match="bad.json"):
        Calibration.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(CalibrationError, match="JSON object"):
        Calibration.load(tmp_path / "list.json")


def test_ideal_calibration_is_linear():
    c = Calibration.ideal(dt_seconds=2e-6)
    xs, ys = c.transfer_theta(20)
    assert ys[1:-1] == pytest.approx(xs[1:-1])
    assert c.floor_theta(-0.5) == pytest.approx(-1.0)


finite = st.floats(1e-15, 1e3, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(dt=finite, g=st.floats(0.5, 2.0), gs=st.floats(0, 0.5), corr=st.floats(-1, 1),
       rates=st.lists(st.floats(0, 1e9), min_size=2, max_size=6))
def test_round_trip_property(cal, tmp_path_factory, dt, g, gs, corr, rates):
    rates = sorted(rates)
    c = dataclasses.replace(cal, dt_seconds=dt,
                            spike_width_seconds=min(cal.spike_width_seconds, dt),
                            gain_mean=g, gain_std=gs, gain_threshold_corr=corr,
                            transfer_i_amps=tuple(float(i) for i in range(len(rates))),
                            transfer_rate_hertz=tuple(rates), notes=("a", "b"),
                            transfer_v_neg_volts=(-0.5, 0.0),
                            transfer_rate_by_v_neg_hertz=(tuple(rates), tuple(rates)),
                            theta_by_v_neg_volts=(0.5, 0.4))
    p = c.save(tmp_path_factory.mktemp("rt") / "c.json")
    assert Calibration.load(p) == c
