import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib import CalibrationError
from calib.fit import fit
from calib.tables import Table, reseal
from tests.calib import synth_tables as syn


@pytest.fixture(scope="module")
def tables_dir(tmp_path_factory):
    return syn.write_tables(tmp_path_factory.mktemp("tables"))


def test_unit_mapping_against_the_analytic_neuron(tables_dir):
    cal = fit(tables_dir)
    assert cal.q_spike_coulombs == pytest.approx(syn.C_MEM * syn.V_TH)
    assert cal.max_rate_hertz == pytest.approx(float(syn.rate(2e-6)))
    assert cal.dt_seconds == pytest.approx(1 / (0.25 * cal.max_rate_hertz))
    assert cal.i_unit_amps == pytest.approx(cal.q_spike_coulombs / cal.dt_seconds)
    # transfer curve: y = rate(x * i_unit) * dt, checked against the analytic rate
    xs, ys = cal.transfer_theta(200)
    inside = (xs > 0) & (xs < 5)
    ref = syn.rate(xs[inside] * cal.i_unit_amps) * cal.dt_seconds
    np.testing.assert_allclose(ys[inside], ref, rtol=0.03, atol=1e-3)
    assert np.all(np.diff(ys) >= 0)
    assert ys[-1] == pytest.approx(cal.max_rate_hertz * cal.dt_seconds)  # saturated
    assert ys[0] == xs[0] == -1.0  # inhibition passes linearly
    assert cal.sources["fi"]["provenance"]["design"]["c_mem_farads"] == syn.C_MEM
    assert cal.sources["fi"]["file"].endswith("fi.csv")


@settings(max_examples=20, deadline=None)
@given(short=st.floats(0.0, 0.2))
def test_theta_is_the_f_i_charge_per_spike_not_the_waveform_swing(short):
    """A waveform swing ``short`` below the charge one spike really removes (the default circuit's
    is ~5% short) must not change θ: the unit input still fires one spike per step at low rate
    (gain 1), where a θ taken from the swing fires at 1 − short."""
    fi = _tables()["fi"]
    df = fi.df.assign(v_th_volts=fi.df["v_th_volts"] * (1.0 - short))
    cal = fit(_tables(fi=Table(kind="fi", df=df, provenance=fi.provenance)))
    assert cal.q_spike_coulombs == pytest.approx(syn.C_MEM * syn.V_TH, rel=1e-9)
    assert cal.v_th_volts == pytest.approx(syn.V_TH * (1.0 - short))
    xs, ys = cal.transfer_theta(400)
    small = (xs > 0) & (xs <= 0.05)
    # y/x → 1 as x → 0; the analytic refractory time alone bends it: 1 / (1 + x·T_REF/dt)
    np.testing.assert_allclose(ys[small] / xs[small],
                               1 / (1 + xs[small] * syn.T_REF / cal.dt_seconds), rtol=0.01)


def test_explicit_dt_and_operating_point(tables_dir):
    cal = fit(tables_dir, dt_seconds=1e-5, v_dd_volts=1.19, v_neg_volts=-0.4)
    assert cal.dt_seconds == 1e-5
    assert (cal.v_dd_volts, cal.v_neg_volts) == (1.2, -0.5)  # snapped to the grid


def test_floor_energy_and_mismatch(tables_dir):
    cal = fit(tables_dir)
    th = syn.theta_volts(syn.frames()[0])
    assert cal.v_theta_volts == pytest.approx(th)
    assert cal.v_sense_volts == pytest.approx(syn.V_REST + syn.V_TH, abs=2e-3)
    assert cal.v_rest_volts == pytest.approx(syn.V_REST + syn.V_TH - th, abs=2e-3)
    assert cal.theta_by_v_neg_volts == pytest.approx((th, th, th))
    rest = cal.rest_at(-0.5)
    assert rest == pytest.approx(cal.v_rest_volts)
    assert cal.floor_theta(0.0) == pytest.approx(-rest / th)  # ZMP circuit: just below rest
    assert cal.floor_theta(-0.5) == pytest.approx((-0.5 - rest) / th)
    assert cal.floor_theta(-1.5) == pytest.approx((syn.V_CLAMP - rest) / th)  # clamped
    assert cal.v_neg_for_floor((-1.0 - rest) / th) == pytest.approx(-1.0)
    with pytest.raises(CalibrationError, match="v_neg_volts"):
        cal.floor_theta(-3.0)
    assert cal.energy_exponent == pytest.approx(2.0, abs=1e-6)
    assert cal.energy_regime == ("quadratic", "quadratic", "quadratic", "crowbar")
    assert cal.e_spike_vdd(1.0) == (pytest.approx(syn.K_VDD), "quadratic")
    assert cal.e_spike_vdd(1.1) == (pytest.approx(syn.K_VDD * 1.21), "quadratic")
    e, regime = cal.e_spike_vdd(1.4)
    assert regime == "crowbar"
    assert cal.e_spike_vdd(0.6) == (pytest.approx(syn.K_VDD * 0.36), "quadratic-extrapolated")
    with pytest.raises(CalibrationError, match="crowbar"):
        cal.e_spike_vdd(1.8)
    assert cal.p_static_vneg(-0.5) == pytest.approx(1e-9 * 0.25)
    _, (g, th) = syn.frames()
    assert cal.mismatch_samples == len(g)
    assert cal.gain_mean == pytest.approx(g.mean())
    assert cal.gain_std == pytest.approx(g.std(ddof=1))
    rel = th / np.median(th)
    assert cal.threshold_std == pytest.approx(rel.std(ddof=1))
    assert cal.gain_threshold_corr == pytest.approx(np.corrcoef(g, rel)[0, 1])


def _tables(**overrides):
    dfs, _ = syn.frames()
    out = {k: Table(kind=k, df=dfs[k], provenance=syn.provenance(k)) for k in dfs}
    out.update(overrides)
    return out


def test_missing_column_is_named(tmp_path):
    d = syn.write_tables(tmp_path)
    df = pd.read_csv(d / "floor.csv").drop(columns=["v_mem_min_volts"])
    df.to_csv(d / "floor.csv", index=False)
    reseal(d / "floor.csv")  # accept the edit, so the column check is what fails
    with pytest.raises(CalibrationError, match="v_mem_min_volts"):
        fit(d)


def test_missing_table_and_design_field(tmp_path):
    t = _tables()
    del t["energy"]
    with pytest.raises(CalibrationError, match="'energy'"):
        fit(t)
    fi = _tables()["fi"]
    prov = syn.provenance("fi")
    del prov["design"]["c_mem_farads"]
    with pytest.raises(CalibrationError, match="design.c_mem_farads"):
        fit(_tables(fi=Table(kind="fi", df=fi.df, provenance=prov)))
    with pytest.raises(CalibrationError, match="table directory"):
        fit(tmp_path / "nope")


def test_too_few_firing_points():
    fi = _tables()["fi"]
    df = fi.df.assign(rate_hertz=0.0)
    with pytest.raises(CalibrationError, match="firing points"):
        fit(_tables(fi=Table(kind="fi", df=df, provenance=fi.provenance)))


def test_sidecar_of_wrong_kind(tmp_path):
    d = syn.write_tables(tmp_path)
    meta = json.loads((d / "fi.json").read_text())
    meta["kind"] = "floor"
    (d / "fi.json").write_text(json.dumps(meta))
    with pytest.raises(CalibrationError, match="fi"):
        fit(d)


@settings(max_examples=25, deadline=None)
# q <= C·V_TH: a charge per spike above that makes one θ larger than the sense level, so the
# rest level would lie below 0 V, under the V_NEG = 0 floor (refused as a positive floor)
@given(q=st.floats(1e-14, syn.C_MEM * syn.V_TH), t_ref=st.floats(1e-9, 1e-6),
       frac=st.floats(0.05, 1.0))
def test_transfer_is_monotone_and_ideal_at_low_rate(q, t_ref, frac):
    fi = _tables()["fi"]
    df = fi.df.copy()
    i = df["i_exc_amps"].to_numpy()
    with np.errstate(divide="ignore"):
        df["rate_hertz"] = np.where(i > 0, 1 / (q / np.maximum(i, 1e-30) + t_ref), 0.0)
    df["v_th_volts"] = q / syn.C_MEM
    # the pulse is part of the refractory time: never wider than t_ref (nor than one dt)
    df["spike_width_seconds"] = np.minimum(df["spike_width_seconds"], t_ref)
    cal = fit(_tables(fi=Table(kind="fi", df=df, provenance=fi.provenance)), rate_fraction=frac)
    xs, ys = cal.transfer_theta(50)
    assert np.all(np.diff(xs) > 0) and np.all(np.diff(ys) >= 0)
    assert ys.max() <= cal.max_rate_hertz * cal.dt_seconds * (1 + 1e-9)
    # an integrator with refractory time: y/x = 1 / (1 + x * t_ref / dt) at the first points
    x0 = xs[2]
    assert ys[2] == pytest.approx(x0 / (1 + x0 * t_ref / cal.dt_seconds), rel=0.05)


@settings(max_examples=6, deadline=None)
@given(ratio=st.sampled_from([0.5, 0.61, 1.6, 2.0]), measured=st.booleans())
def test_theta_of_membrane_takes_the_mirror_ratio_out(tmp_path_factory, ratio, measured):
    """With a mirror copy ratio r the f–I's I/f is the *input* charge per spike, C·θ/r: the
    rate mapping keeps it (one unit input = one spike per step), but one θ of membrane, the rest
    level and the floors in θ use the membrane's C·θ (the optimizer's small-mirror designs
    were refused as "floor above rest" because θ came out 1/r too large and rest 1/r − 1 θ too
    low). Checked against the analytic neuron with the ratio from the design (no mirror table)
    and from a measured mirror table."""
    from calib.tables import write_table

    d = syn.write_tables(tmp_path_factory.mktemp("r"), mirror_ratio=ratio)
    if measured:
        rows = [dict(i_amps=i, v_dd_volts=vdd, v_neg_volts=vneg, temp_celsius=27.0,
                     v_mem_volts=vdd / 3, gain_exc=ratio, gain_inh=ratio)
                for vdd in (0.8, 1.0, 1.2) for vneg in (0.0, -0.5, -1.0) for i in (3e-8, 3e-7)]
        write_table(pd.DataFrame(rows), d / "mirror.csv", kind="mirror",
                    provenance=syn.provenance("mirror", 1.0))  # a wrong nominal: measured wins
    cal = fit(d)
    assert cal.q_spike_coulombs == pytest.approx(syn.C_MEM * syn.V_TH / ratio, rel=1e-9)
    assert cal.theta_volts == pytest.approx(syn.V_TH, rel=1e-9)
    assert cal.theta_by_v_neg_volts == pytest.approx((syn.V_TH,) * 3, rel=1e-9)
    assert cal.v_rest_volts == pytest.approx(syn.V_REST, abs=2e-3)
    assert cal.floor_theta(-0.5) == pytest.approx((-0.5 - cal.rest_at(-0.5)) / syn.V_TH)
    # the network's unit input still fires one spike per step at low rate
    xs, ys = cal.transfer_theta(400)
    small = (xs > 0) & (xs <= 0.05)
    np.testing.assert_allclose(ys[small] / xs[small],
                               1 / (1 + xs[small] * syn.T_REF / cal.dt_seconds), rtol=0.01)


@settings(max_examples=10, deadline=None)
@given(refire_level=st.floats(0.0, 0.4), every=st.sampled_from([1, 2, 3]))
def test_double_pulses_do_not_move_the_sense_level(refire_level, every):
    """A slow sense inverter can re-fire right after a pulse (the latch sets again with the
    membrane far below the threshold; the optimizer's V_DD 0.85 V small-C designs do at 100 nA).
    Those starts are not threshold crossings: the sense level, hence rest, must stay the
    analytic one whatever level they start at and however often they happen."""
    dfs, _ = syn.frames()
    w = dfs["waveform"]
    parts = []
    for vdd, sub in w.groupby("v_dd_volts", sort=True):
        t = sub["time_seconds"].to_numpy()
        phase = (t % 1e-6) / 1e-6
        k = (t // 1e-6).astype(int)
        refire = (phase > 0.01) & (phase < 0.04) & (k % every == 0) & (k > 0)
        vm = np.where(refire, refire_level * vdd, sub["v_mem_volts"].to_numpy())
        vo = np.where(refire, vdd, sub["v_out_volts"].to_numpy())
        parts.append(sub.assign(v_mem_volts=vm, v_out_volts=vo))
    df = pd.concat(parts, ignore_index=True)
    cal = fit(_tables(waveform=Table(kind="waveform", df=df, provenance=syn.provenance("w"))))
    assert cal.v_sense_volts == pytest.approx(syn.V_REST + syn.V_TH, abs=2e-3)
    assert cal.v_rest_volts == pytest.approx(syn.V_REST, abs=2e-3)
    assert any("re-fired" in n for n in cal.notes)


@pytest.mark.parametrize(("topology", "start"), [(None, None), ("study", 0.0),
                                                 ("raised_rest", None)])
def test_the_membrane_controller_start_follows_the_topology(topology, start):
    """The ``study`` topology's controller ties the membrane to ground before every input, so
    its calibration starts there; without one (``raised_rest``, or no topology) at rest."""
    t = _tables()
    if topology is not None:
        fi = t["fi"]
        prov = dict(fi.provenance, design=dict(fi.provenance["design"], topology=topology))
        t = _tables(fi=Table(kind="fi", df=fi.df, provenance=prov))
    cal = fit(t)
    assert cal.v_start_volts == start
    v = max(cal.floor_v_neg_volts)
    expect = 0.0 if start is None else (start - cal.rest_at(v)) / cal.theta_at(v)
    assert cal.start_theta(v) == pytest.approx(expect, abs=1e-12)


def test_membrane_floor_is_the_unclipped_floor_and_round_trips(tables_dir):
    """``membrane_floor_theta`` is (v_mem_min − rest) / θ unclipped; ``floor_theta`` is its
    design label, min(0, it); ``v_start_volts`` survives to_dict / from_dict, and a bad one is
    refused by name."""
    import dataclasses

    from calib import Calibration

    cal = fit(tables_dir)
    for v, vm in zip(cal.floor_v_neg_volts, cal.floor_v_mem_min_volts, strict=True):
        raw = (vm - cal.rest_at(v)) / cal.theta_at(v)
        assert cal.membrane_floor_theta(v) == pytest.approx(raw)
        assert cal.floor_theta(v) == min(0.0, cal.membrane_floor_theta(v))
    c = dataclasses.replace(cal, v_start_volts=0.0, by_v_dd=())
    assert Calibration.from_dict(c.to_dict()).v_start_volts == 0.0
    with pytest.raises(CalibrationError, match="v_start_volts"):
        dataclasses.replace(cal, v_start_volts=float("nan"), by_v_dd=())
