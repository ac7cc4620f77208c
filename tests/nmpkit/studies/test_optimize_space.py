"""The optimizer's search space, constraint and bad input (no ngspice)."""

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.design import preset
from nmpkit.app.cli import main
from nmpkit.studies.optimize import OptimizeConfig, constraint_value
from nmpkit.studies.optimize_output import pack, pareto, unpack
from nmpkit.studies.optimize_space import (
    DEFAULT_SPACE,
    OptimizeError,
    parse_param,
    parse_space,
    sample_design,
    soa_ok,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_parse_param_forms():
    p = parse_param("c_mem_farads=x0.5:x2:log")
    assert (p.low, p.high, p.log, p.relative) == (0.5, 2.0, True, True)
    assert parse_param("preset=raised_rest,default").choices == ("raised_rest", "default")
    assert parse_param(p.spec()) == p
    assert len(parse_space(DEFAULT_SPACE)) == len(DEFAULT_SPACE)


@pytest.mark.parametrize("spec, words", [
    ("c_membrane=1:2", "unknown parameter 'c_membrane'"),
    ("v_dd_volts=1.2:0.8", "empty range"),
    ("v_dd_volts=1:1", "empty range"),
    ("v_dd_volts=a:1", "not a number"),
    ("c_mem_farads=0:1e-12:log", "LO > 0"),
    ("c_mem_farads=x1:2", "both bounds relative"),
    ("preset=study_neuron", "preset"),
    ("v_dd_volts", "NAME="),
])
def test_bad_space_names_the_entry(spec, words):
    with pytest.raises(OptimizeError, match=words):
        parse_param(spec)


def test_duplicate_and_empty_space():
    with pytest.raises(OptimizeError, match="more than once"):
        parse_space(["v_dd_volts=0.8:1", "v_dd_volts=0.9:1"])
    with pytest.raises(OptimizeError, match="no parameters"):
        parse_space([])


@pytest.mark.parametrize("field, value", [("n_trials", 0), ("timesteps", 0),
                                          ("tolerance", 1.5), ("max_gate_volts", -1.0),
                                          ("target_accuracy", 0.0), ("grid_currents", 2)])
def test_bad_config_field(field, value):
    with pytest.raises(OptimizeError, match=field):
        OptimizeConfig(**{field: value})


def test_cli_bad_input_is_one_line(capsys):
    rc = main(["optimize", "--weights", "none.pt", "--data-root", "none", "--n-trials", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "n_trials" in err[0] and "got 0" in err[0]
    rc = main(["optimize", "--weights", "none.pt", "--data-root", "none", "--space", "foo=1:2"])
    assert rc == 2 and "unknown parameter 'foo'" in capsys.readouterr().err


@settings(max_examples=25, deadline=None)
@given(v_dd=st.floats(0.8, 1.2), gate=st.floats(1.35, 2.2), seed=st.integers(0, 10))
def test_sampled_designs_stay_in_the_soa(v_dd, gate, seed):
    space = parse_space([f"v_dd_volts={v_dd:.3f}:1.3", "v_neg_volts=-1.0:0.0",
                         "preset=default,raised_rest"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    d = sample_design(trial, space, max_gate_volts=gate)
    assert soa_ok(d, gate)
    assert d.v_dd_volts - d.v_neg_volts <= gate + 1e-9
    assert abs(d.v_neg_volts * 100 - round(d.v_neg_volts * 100)) < 1e-6  # 10 mV grid
    if d.topology == "study":
        assert d.v_rst_volts <= d.v_neg_volts


def test_soa_with_no_room_raises_and_relative_ranges_scale_the_preset():
    space = parse_space(["v_dd_volts=1.5:1.6", "v_neg_volts=-1.0:-0.5"])
    with pytest.raises(OptimizeError, match="V_DD − V_NEG"):
        sample_design(optuna.trial.FixedTrial({"v_dd_volts": 1.5}), space, max_gate_volts=1.8)
    space = parse_space(["preset=raised_rest", "c_mem_farads=x0.5:x2:log"])
    d = sample_design(optuna.trial.FixedTrial({"preset": "raised_rest", "c_mem_farads": 2.0}),
                      space, max_gate_volts=1.8)
    assert d.c_mem_farads == pytest.approx(2 * preset("raised_rest").c_mem_farads)


def test_constraint_tolerance_and_target():
    ref = np.ones(1000, bool)
    ref[:10] = False
    same = ref.copy()
    worse = ref.copy()
    worse[10:60] = False  # a 5 %p drop
    cfg = OptimizeConfig(tolerance=0.005)
    assert constraint_value(cfg, ref, same)[0] <= 0  # no flips, n = 1000: shown within 0.5 %p
    val, info = constraint_value(cfg, ref, worse)
    assert val > 0 and info["vs_nmp"]["a_only"] == 50 and info["images_needed"] is None
    small = OptimizeConfig(tolerance=0.005)
    assert constraint_value(small, ref[:200], same[:200])[0] > 0  # 200 images cannot show it
    tgt = OptimizeConfig(target_accuracy=0.95)
    assert constraint_value(tgt, ref, worse)[0] > 0  # 94% < 95%
    assert constraint_value(tgt, ref, same)[0] <= 0  # 99%, Wilson low ~98.2%


@settings(max_examples=40, deadline=None)
@given(n=st.integers(50, 1500), a_only=st.integers(0, 12), b_only=st.integers(0, 12),
       tol=st.sampled_from([0.0, 0.005, 0.01, 0.05]))
def test_constraint_agrees_with_non_inferior(n, a_only, b_only, tol):
    from nmpkit.studies.stats import compare, non_inferior

    ref = np.ones(n, bool)
    new = ref.copy()
    new[:a_only] = False
    ref[a_only:a_only + b_only] = False
    val, _ = constraint_value(OptimizeConfig(tolerance=tol), ref, new)
    assert (val <= 0) == non_inferior(compare(ref, new), tol)


def test_pareto_and_bits():
    recs = [{"number": i, "state": "COMPLETE", "feasible": f, "energy_joules": e,
             "accuracy": {"estimate": a}} for i, (e, a, f) in enumerate(
        [(1.0, 0.90, True), (2.0, 0.95, True), (2.0, 0.93, True), (0.5, 0.99, False),
         (3.0, 0.95, True)])]
    assert [r["number"] for r in pareto(recs)] == [0, 1]
    x = np.random.default_rng(0).random(37) > 0.5
    assert (unpack(pack(x), 37) == x).all()


def test_study_packet_follows_c_total_and_is_capped():
    """The study neuron's reset sink tracks C_total (one spike keeps removing C_total·θ) and a
    relative packet multiplier above STUDY_PACKET_MAX is cut to it; raised_rest is untouched."""
    from nmpkit.studies.optimize_space import STUDY_PACKET_MAX

    space = parse_space(["preset=default,raised_rest", "c_mem_farads=x0.5:x2:log",
                         "i_reset_amps=x0.5:x1.3:log"])
    base = preset("default")
    d = sample_design(optuna.trial.FixedTrial({"preset": "default", "c_mem_farads": 2.0,
                                               "i_reset_amps": 0.8}), space, max_gate_volts=1.8)
    ratio = (2 * base.c_mem_farads + base.c_fb_farads) / (base.c_mem_farads + base.c_fb_farads)
    assert d.i_reset_amps == pytest.approx(0.8 * ratio * base.i_reset_amps, rel=1e-12)
    rr = preset("raised_rest")
    d = sample_design(optuna.trial.FixedTrial({"preset": "raised_rest", "c_mem_farads": 2.0,
                                               "i_reset_amps": 1.2}), space, max_gate_volts=1.8)
    assert d.i_reset_amps == pytest.approx(1.2 * rr.i_reset_amps)
    for seed in range(20):  # random trials of the study preset never exceed the matched packet
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        d = sample_design(study.ask(), space, max_gate_volts=1.8)
        if d.topology == "study":
            c_ratio = (d.c_mem_farads + d.c_fb_farads) / (base.c_mem_farads + base.c_fb_farads)
            assert d.i_reset_amps <= STUDY_PACKET_MAX * c_ratio * base.i_reset_amps * (1 + 1e-12)
    with pytest.raises(OptimizeError, match="packet multiplier"):
        sample_design(optuna.trial.FixedTrial({"preset": "default"}),
                      parse_space(["preset=default", "i_reset_amps=x1.1:x1.3"]),
                      max_gate_volts=1.8)
    absolute = parse_space(["preset=default", "c_mem_farads=x0.5:x2",
                            "i_reset_amps=1e-7:1e-6"])
    d = sample_design(optuna.trial.FixedTrial({"preset": "default", "c_mem_farads": 2.0,
                                               "i_reset_amps": 5e-7}), absolute,
                      max_gate_volts=1.8)
    assert d.i_reset_amps == 5e-7
