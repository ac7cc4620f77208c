import json

import pandas as pd
import pytest

from calib import CalibrationError, fit
from calib import energy_terms as et
from calib.profile import COLUMNS, ETAS, energy_profile, write_energy_profile
from tests.calib import synth_tables as syn


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


def test_profile_rows_follow_the_terms(cal, tmp_path):
    df = energy_profile(cal)
    assert list(df.columns) == list(COLUMNS)
    assert sorted(df["v_dd_volts"].unique()) == [0.8, 1.0, 1.2]
    assert sorted(df["eta"].unique()) == sorted(ETAS)
    row = df[(df.v_dd_volts == 1.2) & (df.v_neg_volts == -1.0) & (df.eta == 0.5)
             & (df.rate_hertz == 1e4)].iloc[0]
    q = syn.C_MEM * syn.V_TH * 1.2
    assert row.pj_per_exc_event == pytest.approx(1e12 * 2 * q * 1.2, rel=1e-3)
    assert row.pj_per_inh_event == pytest.approx(1e12 * (q * 1.2 + 2 * q * 1.0 / 0.5), rel=1e-3)
    assert row.pj_per_spike == pytest.approx(1e12 * et.e_spike(
        cal, v_dd_volts=1.2, v_neg_volts=-1.0, rate_hertz=1e4, eta=0.5))
    assert row.nw_bias_per_array == pytest.approx(1e9 * syn.P_BIAS * 1.2)
    p = write_energy_profile(cal, tmp_path / "energy_profile.csv", source={"x": 1})
    back = pd.read_csv(p)
    assert len(back) == len(df)
    side = json.loads(p.with_suffix(".json").read_text())
    assert side["rows"] == len(df) and side["source"] == {"x": 1} and "git_revision" in side


def test_no_energy_fit_is_one_clear_error(cal):
    import dataclasses

    empty = dataclasses.replace(cal, spike_v_dd_volts=(), spike_e0_joules=(), spike_k_watts=(),
                                e_spike_vrst_joules=(), p_bias_watts=(), p_static_vdd_watts=(),
                                p_static_vrst_watts=(), by_v_dd=())
    with pytest.raises(CalibrationError, match="spike_v_dd_volts"):
        energy_profile(empty)
