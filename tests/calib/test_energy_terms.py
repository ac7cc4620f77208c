"""The energy model's terms against a hand count on the analytic neuron's tables."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib import CalibrationError, fit
from calib import energy_terms as et
from tests.calib import synth_tables as syn

K = 2e-8  # crowbar K at 1 V (W); K(V_DD) = K·V_DD³ in the tables


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    d = tmp_path_factory.mktemp("t")
    dfs, _ = syn.frames(crowbar_k=K)
    from calib.tables import write_table

    for kind, df in dfs.items():
        write_table(df, d / f"{kind}.csv", kind=kind, provenance=syn.provenance(kind))
    return fit(d)


def test_e0_plus_k_over_f_is_recovered_per_v_dd(cal):
    assert cal.spike_v_dd_volts == (0.8, 1.0, 1.2, 1.5)
    for v, e0, k in zip(cal.spike_v_dd_volts, cal.spike_e0_joules, cal.spike_k_watts):
        assert e0 == pytest.approx(syn.K_VDD * v**2 * (2.0 if v >= 1.5 else 1.0), rel=1e-6)
        assert k == pytest.approx(K * v**3, rel=1e-6)
    t = et.terms(cal, v_dd_volts=1.0, v_neg_volts=-0.5, rate_hertz=1e5)
    assert t["spike_logic"].value == pytest.approx(syn.K_VDD)
    assert t["spike_crowbar"].value == pytest.approx(K / 1e5)
    assert t["spike_logic"].regime == "quadratic"
    assert t["spike_logic"].v_dd_exponent == pytest.approx(2.0, abs=0.05)
    assert t["spike_crowbar"].regime == "crowbar"
    assert t["spike_crowbar"].v_dd_exponent == pytest.approx(3.0, abs=0.05)


@settings(max_examples=25, deadline=None)
@given(v_neg=st.sampled_from([0.0, -0.5, -1.0]), eta=st.floats(0.2, 1.0),  # measured V_NEG
       v_dd=st.sampled_from([0.8, 1.0, 1.2]), rate=st.floats(1e3, 1e6))
def test_terms_against_a_hand_count(cal, v_neg, eta, v_dd, rate):
    t = et.terms(cal, v_dd_volts=v_dd, v_neg_volts=v_neg, rate_hertz=rate, eta=eta)
    q = syn.C_MEM * syn.V_TH * v_dd  # θ of the analytic neuron scales with V_DD
    assert t["syn_exc"].value == pytest.approx(2 * q * v_dd, rel=1e-3)  # input + output branch
    # inhibitory: the driver's q from V_src = V_DD, both branches' charge into V_NEG via the pump
    assert t["syn_inh"].value == pytest.approx(q * v_dd + 2 * q * abs(v_neg) / eta, rel=1e-3)
    assert t["syn_exc"].regime == t["syn_inh"].regime == "fixed-charge"
    assert t["syn_exc"].v_dd_exponent == pytest.approx(2.0, abs=0.05)  # q ∝ V_DD, × V_DD
    assert t["spike_reset"].value == pytest.approx(syn.E_RST / eta)
    assert t["spike_vneg"].value == pytest.approx(1e-14 * abs(v_neg) / eta)
    assert t["bias"].value == pytest.approx(syn.P_BIAS * v_dd) and t["bias"].per == "array"
    leak = syn.P_VDD * v_dd + (1e-9 * v_neg**2 + syn.P_VRST) / eta
    assert t["leakage"].value == pytest.approx(leak)
    e = et.e_spike(cal, v_dd_volts=v_dd, v_neg_volts=v_neg, rate_hertz=rate, eta=eta)
    e0 = syn.K_VDD * v_dd**2
    assert e == pytest.approx(e0 + K * v_dd**3 / rate + syn.E_RST / eta
                              + 1e-14 * abs(v_neg) / eta, rel=1e-3)
    for n in (1, 7, 64, 1000):
        for size in (1, 16, 256):
            p = et.static_power(cal, v_dd_volts=v_dd, v_neg_volts=v_neg, neurons=n,
                                array_size=size, eta=eta)
            assert p == pytest.approx(math.ceil(n / size) * syn.P_BIAS * v_dd + n * leak)


def test_bad_inputs_are_named(cal):
    with pytest.raises(CalibrationError, match="eta"):
        et.terms(cal, v_dd_volts=1.0, v_neg_volts=-0.5, rate_hertz=1e5, eta=0.0)
    with pytest.raises(CalibrationError, match="rate_hertz"):
        et.terms(cal, v_dd_volts=1.0, v_neg_volts=-0.5, rate_hertz=0.0)
    with pytest.raises(CalibrationError, match="v_dd_volts=2.0"):
        et.terms(cal, v_dd_volts=2.0, v_neg_volts=-0.5, rate_hertz=1e5)
    with pytest.raises(CalibrationError, match="array_size"):
        et.static_power(cal, v_dd_volts=1.0, v_neg_volts=-0.5, neurons=4, array_size=0)
