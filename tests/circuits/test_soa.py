import dataclasses
import warnings

import pytest

from circuits.design import default_design, preset
from circuits.errors import DesignError
from circuits.soa import RATED_GATE_VOLTS, SOAWarning, check, enforce


def test_within_the_rating_is_clean():
    d = dataclasses.replace(default_design(), v_dd_volts=0.8, v_neg_volts=-0.5, v_rst_volts=-1.0)
    assert check(d) == []  # 0.8 - (-1.0) = 1.8 V: at the rating, not above
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert enforce(d)["violations"] == []


def test_the_default_design_exceeds_thin_oxide_and_names_devices_and_volts():
    d = default_design()  # V_DD 1 V, reset rail -1.2 V: 2.2 V across the level shifter
    v = check(d)
    assert v and v[0].volts == pytest.approx(2.2) and "MR1" in v[0].devices
    assert v[0].rated_volts == RATED_GATE_VOLTS["generic_bsim3"] == 1.8
    with pytest.raises(DesignError, match=r"MR1.*2\.2 V.*1\.8 V rating"):
        enforce(d, strict=True)
    with pytest.warns(SOAWarning, match="2.2 V"):
        rec = enforce(d)
    assert rec["worst_volts"] == pytest.approx(2.2)
    deep = check(d, v_dd_volts=1.2, v_neg_volts=-1.0)
    assert sorted(x.volts for x in deep) == [pytest.approx(2.2), pytest.approx(2.4)]
    assert any("MP3" in x.devices for x in deep)  # the sense inverter sees the floor


def test_raised_rest_sees_v_dd_minus_v_neg():
    d = preset("raised_rest", v_neg_volts=-1.0)
    v = check(d)
    assert [x.volts for x in v] == [pytest.approx(2.0), pytest.approx(2.0)]
    assert check(preset("raised_rest", v_neg_volts=-0.5)) == []
