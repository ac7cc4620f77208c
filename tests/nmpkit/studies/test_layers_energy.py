"""Per-layer energy through the circuit model: against `cosim.energy` (one supply), a hand count."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cosim
from calib import fit
from cosim.energy import energy
from nmpkit.errors import ConfigError
from nmpkit.studies.layers import floor_levels, make_groups
from nmpkit.studies.layers_energy import circuit_layer_energy, layer_energy
from nmpkit.studies.layers_eval import Evaluator
from tests.calib import synth_tables as syn
from tests.nmpkit.studies.layers_fixtures import known_network, three_level_calibration

torch.set_num_threads(1)
T = 32
V_LEVELS = (-1.0, -0.5, 0.0)  # inside the synthetic energy table


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


@pytest.fixture(scope="module")
def sim():
    """3 inputs -> 2 hidden -> 2 outputs with mixed-sign weights (inhibitory events both ways)."""
    l1, l2 = nn.Linear(3, 2), nn.Linear(2, 2)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor([[0.25, 0.5, 0.0], [0.125, -0.25, 0.5]]))
        l1.bias.copy_(torch.tensor([0.0, 0.125]))
        l2.weight.copy_(torch.tensor([[1.0, -0.5], [0.5, 0.5]]))
        l2.bias.zero_()
    net = cosim.convert(nn.Sequential(l1, nn.ReLU(), l2))
    x = torch.tensor([[1.0, 0.5, 0.75], [0.5, 0.0, 1.0], [0.25, 0.75, 0.5]])
    return net, x, cosim.simulate(net, x, timesteps=T)


@pytest.mark.parametrize("array_size", [None, 1, 3])
@pytest.mark.parametrize("v", V_LEVELS)
def test_one_group_at_one_v_neg_is_cosim_energy(cal, sim, v, array_size):
    """A uniform allocation with every layer in one group is `cosim.energy(..., eta=...)`."""
    net, x, res = sim
    for eta in (0.5, 1.0):
        total, per = circuit_layer_energy(res, cal, v_dd_volts=1.0, v_neg_by_layer=(v, v),
                                          members=((0, 1),), net=net, inputs=x, eta=eta,
                                          array_size=array_size)
        rep = energy(res, cal, v_dd_volts=1.0, v_neg_volts=v, net=net, inputs=x, eta=eta,
                     array_size=array_size)
        assert total == pytest.approx(rep.total_joules, rel=1e-12)
        for d, ly in zip(per, rep.layers, strict=True):
            assert d["total_joules"] - d["bias_joules"] == pytest.approx(ly.total_joules,
                                                                         rel=1e-12)


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(V_LEVELS), st.sampled_from(V_LEVELS), st.sampled_from([0.3, 0.5, 1.0]))
def test_mixed_allocation_composes_cosim_reports(cal, sim, v0, v1, eta):
    """Two supplies: each layer's own terms at its V, its inhibitory events at the target layer's
    V, the input's at layer 0's, one bias per group (an independent composition of cosim's
    one-supply reports)."""
    net, x, res = sim
    total, per = circuit_layer_energy(res, cal, v_dd_volts=1.0, v_neg_by_layer=(v0, v1),
                                      members=((0,), (1,)), net=net, inputs=x, eta=eta,
                                      array_size=None)
    r0, r1 = (energy(res, cal, v_dd_volts=1.0, v_neg_volts=v, net=net, inputs=x, eta=eta)
              for v in (v0, v1))
    t_s = T * cal.dt_seconds
    a, b = r0.layers[0], r1.layers[1]
    want0 = a.e_spike_joules + a.e_static_joules + r1.layers[0].e_syn_joules
    want1 = b.e_spike_joules + b.e_static_joules + b.e_syn_joules
    bias = r0.terms["bias"]["value"] * t_s
    assert per[0]["total_joules"] == pytest.approx(want0 + bias, rel=1e-12)
    assert per[1]["total_joules"] == pytest.approx(want1 + bias, rel=1e-12)
    assert total == pytest.approx(want0 + want1 + 2 * bias + r0.e_input_joules, rel=1e-12)


def test_vneg_share_against_a_hand_count(cal, sim):
    """spikes × 1e-14|V|/η + n × 1e-9 V²/η × T·dt + landing inhibitory charge 2q|V|/η."""
    from cosim.energy_common import weighted_fan_out

    net, x, res = sim
    v0, v1, eta = -1.0, -0.5, 0.5
    _, per = circuit_layer_energy(res, cal, v_dd_volts=1.0, v_neg_by_layer=(v0, v1),
                                  members=((0,), (1,)), net=net, inputs=x, eta=eta,
                                  array_size=None)
    b, t_s, q = x.shape[0], T * cal.dt_seconds, syn.C_MEM * syn.V_TH
    inh_in = float((x.abs() @ weighted_fan_out(net, -1, -1).reshape(-1).float()).sum()) * T / b
    c0 = res.spike_counts[0].reshape(b, -1).double()
    inh_01 = float((c0 @ weighted_fan_out(net, 0, -1).reshape(-1).double()).sum()) / b
    for i, (v, landing) in enumerate(((v0, inh_in), (v1, inh_01))):
        spikes = float(res.spike_counts[i].double().sum()) / b
        want = (spikes * 1e-14 * abs(v) + 2 * 1e-9 * v * v * t_s + landing * 2 * q * abs(v)) / eta
        assert per[i]["vneg_joules"] == pytest.approx(want, rel=1e-6)
    assert inh_in > 0 and inh_01 > 0


def test_zmp_costs_no_vneg_energy_and_deeper_costs_more(cal, sim):
    net, x, res = sim
    shares = [circuit_layer_energy(res, cal, v_dd_volts=1.0, v_neg_by_layer=(v, v),
                                   members=((0,), (1,)), net=net, inputs=x, eta=0.5,
                                   array_size=None)[1] for v in V_LEVELS]
    assert all(d["vneg_joules"] == 0 for d in shares[-1])
    assert sum(d["vneg_joules"] for d in shares[0]) > sum(d["vneg_joules"] for d in shares[1]) > 0


def test_calibration_without_energy_fit_falls_back_and_says_so(sim):
    net, x, res = sim
    ideal = three_level_calibration()
    total, per, note = layer_energy(res, ideal, v_dd_volts=ideal.v_dd_volts,
                                    v_neg_by_layer=(-0.5, None), members=((0,), (1,)), net=net,
                                    inputs=x, eta=0.5, array_size=None)
    assert "per-event pricing" in note and math.isfinite(total) and len(per) == 2
    _, _, note_none = layer_energy(res, ideal, v_dd_volts=ideal.v_dd_volts,
                                   v_neg_by_layer=(0.0, 0.0), members=((0, 1),), net=net,
                                   inputs=x, eta=None, array_size=None)
    assert "eta = 1" in note_none


def test_evaluator_uses_the_circuit_model_and_names_it(cal):
    net, x, y = known_network(n=16)
    kw = dict(groups=make_groups([ly.name for ly in net.layers]),
              levels=floor_levels(cal, V_LEVELS), timesteps=8)
    ev = Evaluator(cal, net, x, y, eta=0.5, **kw)
    e = ev((0, 2))
    assert "circuit energy model" in ev.energy_note and e.extra["energy_note"] == ev.energy_note
    assert e.layer_energy[1]["vneg_joules"] == 0.0 and e.layer_energy[0]["vneg_joules"] > 0
    assert ev((2, 2)).energy_joules < e.energy_joules


@pytest.mark.parametrize("kw,word", [({"eta": 0.0}, "eta"), ({"eta": 1.5}, "eta"),
                                     ({"array_size": 0}, "array_size")])
def test_evaluator_bad_eta_or_array_size(cal, kw, word):
    net, x, y = known_network(n=4)
    with pytest.raises(ConfigError, match=word):
        Evaluator(cal, net, x, y, groups=make_groups([ly.name for ly in net.layers]),
                  levels=floor_levels(cal, V_LEVELS), timesteps=4, **kw)
