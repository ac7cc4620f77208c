"""The input mirrors' gains in the calibration: read from the ``mirror`` table per V_DD and V_NEG,
validated, saved and loaded, and ``inh_gain_ratio`` = gain_inh / gain_exc interpolated."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from calib import Calibration, CalibrationError
from calib.fit import fit
from calib.tables import write_table
from tests.calib import synth_tables as syn


def _gain_inh(vdd: float, vneg: float, i: float) -> float:
    """A made-up but distinct law: the inhibitory copy grows 2 % per volt below V_NEG = 0, more
    at higher V_DD, and 0.1 % more at the higher current."""
    return 1.0 + 0.02 * (-vneg) * vdd + (0.001 if i > 1e-7 else 0.0)


def _mirror_frame() -> pd.DataFrame:
    rows = [dict(i_amps=i, v_dd_volts=vdd, v_neg_volts=vneg, temp_celsius=27.0,
                 v_mem_volts=vdd / 3, gain_exc=0.995, gain_inh=_gain_inh(vdd, vneg, i))
            for vdd in (0.8, 1.0, 1.2) for vneg in (0.0, -0.5, -1.0) for i in (3e-8, 3e-7)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    d = syn.write_tables(tmp_path_factory.mktemp("t"))
    write_table(_mirror_frame(), d / "mirror.csv", kind="mirror",
                provenance=syn.provenance("mirror"))
    return fit(d)


def test_fit_keeps_the_gains_per_v_dd_and_v_neg(cal):
    for vdd in (0.8, 1.0, 1.2):
        c = cal.at(vdd)
        assert c.mirror_v_neg_volts == (-1.0, -0.5, 0.0)
        assert c.mirror_gain_exc == pytest.approx((0.995,) * 3)
        # hand count: the mean over the two currents
        want = [np.mean([_gain_inh(vdd, v, i) for i in (3e-8, 3e-7)]) for v in (-1.0, -0.5, 0.0)]
        assert c.mirror_gain_inh == pytest.approx(want, rel=1e-12)
        assert c.inh_gain_ratio(-1.0) == pytest.approx(want[0] / 0.995, rel=1e-12)
        # linear between measured V_NEG, clamped outside
        assert c.inh_gain_ratio(-0.75) == pytest.approx((want[0] + want[1]) / 2 / 0.995)
        assert c.inh_gain_ratio(-1.5) == pytest.approx(want[0] / 0.995)
    assert cal.inh_gain_ratio(None) == pytest.approx(cal.inh_gain_ratio(cal.v_neg_volts))
    assert any(n.startswith("mirror: gain_inh / gain_exc") for n in cal.notes)


def test_the_slope_of_the_transfer_below_zero_is_the_ratio(cal):
    xs, ys = cal.transfer_theta(16, -1.0)
    assert xs[0] == -1.0 and ys[0] == pytest.approx(-cal.inh_gain_ratio(-1.0))
    xs, ys = cal.transfer_theta(16, -1.0, inh_gain=1.0)
    assert ys[0] == -1.0


def test_round_trip_and_no_table(cal, tmp_path):
    assert Calibration.load(cal.save(tmp_path / "c.json")) == cal
    plain = fit(syn.write_tables(tmp_path / "plain"))
    assert plain.mirror_v_neg_volts == () and plain.inh_gain_ratio(-1.0) == 1.0
    assert any("no mirror table" in n for n in plain.notes)


@pytest.mark.parametrize(("field", "value", "match"), [
    ("mirror_gain_inh", (1.0, 1.0), "equal lengths"),
    ("mirror_gain_exc", (1.0, 0.0, 1.0), "mirror gains"),
    ("mirror_gain_inh", (1.0, float("nan"), 1.0), "finite"),
    ("mirror_v_neg_volts", (-1.0, -0.5, 0.5), "negative supplies"),
    ("mirror_v_neg_volts", (0.0, -0.5, -1.0), "ascending"),
])
def test_bad_gains_are_refused_naming_the_field(cal, field, value, match):
    base = cal.at(None)
    with pytest.raises(CalibrationError, match=field) as exc:
        dataclasses.replace(base, by_v_dd=(), **{field: value})
    assert match in str(exc.value)
