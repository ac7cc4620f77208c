"""The study's neuron (the default design), ngspice really running: the numbers of issue 9.

rest 0 V (a membrane controller initializes it), theta = the threshold above rest (~V_DD/2)
and independent of V_NEG, floor = V_NEG (0 V: the ZMP neuron; -V_DD: about -2 theta), mirrors
that weigh excitation and inhibition alike, f-I = I / (C theta) in the linear region -- at V_DD
0.8, 1.0, 1.2 V.
"""

import dataclasses

import numpy as np
import pytest

from circuits.design import default_design, preset
from circuits.mirror import mirror_gains
from circuits.ngspice import run_deck
from circuits.point import Point, simulate_point
from circuits.render import T_INIT_SECONDS, Stimulus, render_deck
from tests.circuits.conftest import needs_ngspice

pytestmark = needs_ngspice
V_DDS = (0.8, 1.0, 1.2)


def _fi(v_dd: float, v_neg: float, i: float = 3e-8, design=None) -> dict:
    d = design or default_design()
    return simulate_point(d, Point(kind="fi", v_dd_volts=v_dd, v_neg_volts=v_neg, i_exc_amps=i))


def _floor(v_dd: float, v_neg: float, i: float = 1e-7) -> float:
    r = simulate_point(default_design(), Point(kind="floor", v_dd_volts=v_dd, v_neg_volts=v_neg,
                                               i_inh_amps=i))
    return r["v_mem_min_volts"]


@pytest.fixture(scope="module")
def rows():
    return {(v_dd, v_neg): _fi(v_dd, v_neg) for v_dd in V_DDS for v_neg in (0.0, -1.0)}


@pytest.mark.parametrize("v_dd", V_DDS)
def test_rest_is_ground_and_theta_is_the_threshold(rows, v_dd):
    for v_neg in (0.0, -1.0):
        r = rows[(v_dd, v_neg)]
        theta = r["v_th_volts"]
        assert abs(r["v_rest_volts"]) <= 0.05 * theta, r   # rest = ground
        assert theta == pytest.approx(0.5 * v_dd, rel=0.25)  # about V_DD/2
    t0, t1 = rows[(v_dd, 0.0)]["v_th_volts"], rows[(v_dd, -1.0)]["v_th_volts"]
    assert abs(t1 / t0 - 1) < 0.05  # theta does not move with V_NEG


@pytest.mark.parametrize("v_dd", V_DDS)
def test_floors_track_v_neg_and_span_two_theta(rows, v_dd):
    theta = rows[(v_dd, 0.0)]["v_th_volts"]
    rest = rows[(v_dd, 0.0)]["v_rest_volts"]
    zmp = _floor(v_dd, 0.0)
    assert abs(zmp - rest) <= 0.05 * theta  # V_NEG = 0: the ZMP neuron
    for v_neg in (-0.5, -v_dd):
        assert _floor(v_dd, v_neg) == pytest.approx(v_neg, abs=0.05)  # within 50 mV of V_NEG
    deep = (_floor(v_dd, -v_dd) - rest) / theta
    assert deep == pytest.approx(-2.0, abs=0.2), deep  # the study's margin at every V_DD


def test_membrane_controller_initializes_the_membrane_to_rest():
    d = default_design()
    stim = Stimulus(i_exc_amps=1e-7, t_stop_seconds=3e-7, t_max_step_seconds=2e-9,
                    v_mem_init_volts=0.3)
    w = run_deck(render_deck(d, stim), vectors={"mem": "v_mem"})
    assert w["v_mem"][0] == pytest.approx(0.3, abs=0.01)  # starts off rest ...
    at = np.interp(T_INIT_SECONDS, w["time"], w["v_mem"])
    assert abs(at) < 5e-3  # ... and the controller has tied it to rest before the input comes


def test_reset_path_does_not_conduct_backwards_at_the_deepest_floor():
    # a reset rail at the floor: the reset switch's gate low level and bulk are the rail
    d = dataclasses.replace(default_design(), v_neg_volts=-1.2, v_rst_volts=-1.2)
    r = simulate_point(d, Point(kind="floor", v_dd_volts=1.2, v_neg_volts=-1.2, i_inh_amps=1e-8))
    assert r["v_mem_min_volts"] == pytest.approx(-1.2, abs=0.02)


@pytest.mark.parametrize("v_dd", V_DDS)
@pytest.mark.parametrize("i", [1e-8, 1e-7])
def test_mirrors_weigh_excitation_and_inhibition_alike(v_dd, i):
    """The long-L excitatory mirror and the inhibitory self-cascode (1 um / 4 um under 8 um /
    0.5 um): within 1 % over V_NEG 0 -> -1 V with the membrane anywhere in 0.25 V .. V_DD/2
    (measured at V_DD 1 V: ratio 0.996-1.004; a single 2 um / 16 um device gave 1.35 %:
    channel-length modulation of MN2 over its up to 1 V larger V_ds). The reading is checked
    against a hand count: with no input current the copy is 0."""
    d = dataclasses.replace(default_design(), v_dd_volts=v_dd)
    for v_neg in (0.0, -0.5, -1.0):
        for v_mem in (0.25, v_dd / 2):
            g = mirror_gains(dataclasses.replace(d, v_neg_volts=v_neg), i_amps=i,
                             v_mem_volts=v_mem)
            assert g["gain_inh"] / g["gain_exc"] == pytest.approx(1.0, abs=0.01), (v_neg, g)
            assert 0.97 < g["gain_exc"] < 1.03 and 0.97 < g["gain_inh"] < 1.03, g
    # at V_NEG = 0 with the membrane at rest the inhibitory copy has no V_ds: it carries nothing
    g0 = mirror_gains(dataclasses.replace(d, v_neg_volts=0.0), i_amps=i, v_mem_volts=0.0)
    assert abs(g0["gain_inh"]) < 0.01, g0


@pytest.mark.parametrize("v_dd", V_DDS)
def test_fi_linear_region_follows_charge_per_spike(v_dd):
    """f = I / (C theta): C measured independently (a sub-threshold charging run), theta from the
    spike ramps. Linear region: f * t_pulse < 2 % (the ~0.31 us pulse is dead time: at 30 nA,
    ~120 kHz, the rate is ~5 % below I / (C theta))."""
    d = dataclasses.replace(default_design(), v_dd_volts=v_dd)
    stim = Stimulus(i_exc_amps=3e-8, t_stop_seconds=T_INIT_SECONDS + 4e-6,
                    t_max_step_seconds=2e-8)
    w = run_deck(render_deck(d, stim), vectors={"mem": "v_mem"})
    t_a, t_b = T_INIT_SECONDS + 1e-6, T_INIT_SECONDS + 4e-6
    dv = np.interp(t_b, w["time"], w["v_mem"]) - np.interp(t_a, w["time"], w["v_mem"])
    c_eff = 3e-8 * (t_b - t_a) / dv
    assert 1.0 < c_eff / (d.c_mem_farads + d.c_fb_farads) < 1.2  # + junctions and gates
    if True:
        for i in (1e-9, 3e-9, 1e-8):
            r = _fi(v_dd, -0.5, i)
            assert r["rate_hertz"] == pytest.approx(i / (c_eff * r["v_th_volts"]), rel=0.03), \
                (v_dd, i, r)


def test_raised_rest_preset_is_the_earlier_design():
    r = _fi(1.0, 0.0, design=preset("raised_rest"))
    assert r["v_th_volts"] == pytest.approx(0.20, abs=0.02)  # theta set by the packet, not V_DD/2


def test_mirror_point_is_mirror_gains_at_a_third_of_v_dd():
    """The characterization's ``mirror`` point reads the same copies as ``mirror_gains`` with the
    membrane at V_DD/3, and its deck (the cache key) differs per current."""
    from circuits.point import deck_for

    d = dataclasses.replace(default_design(), v_neg_volts=-1.0)
    p = Point(kind="mirror", v_dd_volts=1.0, v_neg_volts=-1.0, i_exc_amps=3e-8)
    r = simulate_point(d, p)
    g = mirror_gains(d, i_amps=3e-8, v_mem_volts=1.0 / 3)
    assert r["gain_exc"] == g["gain_exc"] and r["gain_inh"] == g["gain_inh"]
    assert r["v_mem_volts"] == pytest.approx(1.0 / 3)
    assert r["gain_inh"] / r["gain_exc"] == pytest.approx(1.0, abs=0.01)
    assert deck_for(d, p) != deck_for(d, dataclasses.replace(p, i_exc_amps=3e-7))
