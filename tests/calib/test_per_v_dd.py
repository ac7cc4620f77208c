"""Calibrations at every V_DD of the grid: each V_DD's θ, rest and transfer curve come from that
V_DD's rows (checked against the analytic neuron's tables, where θ and rest scale with V_DD)."""

import numpy as np
import pytest

from calib import Calibration, CalibrationError, fit
from tests.calib import synth_tables as syn


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


def _theta(vdd: float) -> float:
    """The analytic neuron's θ at ``vdd``: charge per spike over C, refractory time excluded."""
    return syn.v_th_at(vdd)


def test_every_v_dd_is_calibrated_from_its_own_rows(cal):
    assert cal.v_dd_grid == (0.8, 1.0, 1.2)
    assert cal.at(None) is cal and cal.at(1.0) is cal
    for vdd in (0.8, 1.2):
        c = cal.at(vdd)
        assert c.v_dd_volts == vdd and c.v_neg_volts == cal.v_neg_volts
        assert c.dt_seconds == cal.dt_seconds  # one network timestep for every V_DD
        assert c.v_th_volts == pytest.approx(syn.V_TH * vdd)
        assert c.v_theta_volts == pytest.approx(_theta(vdd))
        assert c.v_sense_volts == pytest.approx((syn.V_REST + syn.V_TH) * vdd, abs=2e-3)
        fi = syn.frames()[0]["fi"]
        rows = fi[(fi.v_dd_volts == vdd) & (fi.v_neg_volts == 0.0)].sort_values("i_exc_amps")
        np.testing.assert_allclose(c.transfer_rate_hertz, rows.rate_hertz.to_numpy())
        i = 3e-7
        assert c.rate_hertz(i) == pytest.approx(float(syn.rate(i, vdd)), rel=0.02)
        assert c.q_spike_coulombs == pytest.approx(syn.C_MEM * syn.V_TH * vdd)
    # a higher V_DD: larger θ, so the same current fires slower
    assert cal.at(1.2).rate_hertz(1e-7) < cal.rate_hertz(1e-7) < cal.at(0.8).rate_hertz(1e-7)
    assert any("no Monte Carlo at V_DD 0.8" in n for n in cal.at(0.8).notes)


def test_unknown_v_dd_names_the_grid(cal):
    with pytest.raises(CalibrationError, match=r"0\.9.*\[0\.8, 1\.0, 1\.2\]"):
        cal.at(0.9)


def test_round_trip_keeps_every_v_dd(cal, tmp_path):
    back = Calibration.load(cal.save(tmp_path / "c.json"))
    assert back == cal and back.at(1.2) == cal.at(1.2)


def test_single_v_dd_and_old_waveform(tmp_path):
    d = syn.write_tables(tmp_path / "a")
    assert fit(d, every_v_dd=False).by_v_dd == ()
    dfs, _ = syn.frames(waveform_v_dd=False)  # a waveform recorded at the design's V_DD only
    from calib.tables import write_table

    write_table(dfs["waveform"], d / "waveform.csv", kind="waveform",
                provenance=syn.provenance("waveform"))
    c = fit(d)
    assert c.v_sense_volts == pytest.approx(syn.V_REST + syn.V_TH, abs=2e-3)
    assert c.at(0.8).v_sense_volts is None
    assert any("none at V_DD 0.8" in n for n in c.at(0.8).notes)


def test_nested_calibrations_are_refused(cal):
    import dataclasses

    with pytest.raises(CalibrationError, match="by_v_dd"):
        dataclasses.replace(cal.at(0.8), by_v_dd=(cal,))
    with pytest.raises(CalibrationError, match="by_v_dd"):
        dataclasses.replace(cal, by_v_dd=(cal.at(0.8), cal.at(0.8)))
