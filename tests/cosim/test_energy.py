import dataclasses

import pytest
import torch
from torch import nn

from calib import CalibrationError, fit
from cosim import convert, simulate
from cosim.energy import energy
from tests.calib import synth_tables as syn

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


def tiny():
    """3 inputs -> 2 hidden -> 2 outputs, weights on a dyadic grid (exact sums)."""
    l1, l2 = nn.Linear(3, 2), nn.Linear(2, 2)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor([[0.25, 0.5, 0.0], [0.125, -0.25, 0.5]]))
        l1.bias.copy_(torch.tensor([0.0, 0.125]))
        l2.weight.copy_(torch.tensor([[1.0, -0.5], [0.5, 0.5]]))
        l2.bias.zero_()
    return convert(nn.Sequential(l1, nn.ReLU(), l2)), l1, l2


def hand_counts(l1, l2, x, T):
    """Plain step loop: IF, threshold 1, subtract, no floor."""
    v1, v2 = [0.0, 0.0], [0.0, 0.0]
    n1, n2 = [0, 0], [0, 0]
    W1, b1 = l1.weight.tolist(), l1.bias.tolist()
    W2 = l2.weight.tolist()
    for _ in range(T):
        s1 = []
        for i in range(2):
            v1[i] += sum(W1[i][j] * x[j] for j in range(3)) + b1[i]
            s = v1[i] >= 1.0
            v1[i] -= float(s)
            n1[i] += s
            s1.append(float(s))
        for i in range(2):
            v2[i] += sum(W2[i][j] * s1[j] for j in range(2))
            s = v2[i] >= 1.0
            v2[i] -= float(s)
            n2[i] += s
    return n1, n2


def test_energy_against_a_hand_count(cal):
    net, l1, l2 = tiny()
    x = torch.tensor([[1.0, 0.5, 0.75], [0.5, 0.0, 1.0]])
    T = 32
    res = simulate(net, x, timesteps=T)
    rep = energy(res, cal, v_dd_volts=1.0, v_neg_volts=-0.5)
    e_spk = syn.K_VDD * 1.0 + 1e-14 * 0.5  # from V_DD and from V_NEG
    e_syn = 2.0 * syn.C_MEM * cal.v_th_volts * 1.0  # mirror_ratio 1: two branches, q × V_DD
    p_st = 1e-9 * 0.25
    tot_spk = [0, 0]
    tot_events = [0, 0]
    n_inputs_nonzero = 0
    for b in range(2):
        n1, n2 = hand_counts(l1, l2, x[b].tolist(), T)
        tot_spk[0] += sum(n1)
        tot_spk[1] += sum(n2)
        tot_events[0] += sum(n1) * 2  # each hidden neuron feeds both outputs
        n_inputs_nonzero += int((x[b] != 0).sum())
    assert rep.layers[0].spikes == pytest.approx(tot_spk[0] / 2)
    assert rep.layers[1].spikes == pytest.approx(tot_spk[1] / 2)
    assert rep.layers[0].synaptic_events == pytest.approx(tot_events[0] / 2)
    assert rep.layers[1].synaptic_events == 0
    static = 2 * p_st * T * cal.dt_seconds
    assert rep.layers[0].total_joules == pytest.approx(
        tot_spk[0] / 2 * e_spk + tot_events[0] / 2 * e_syn + static)
    inp = n_inputs_nonzero * 2 * T / 2  # each input feeds both hidden neurons, every step
    expect = ((tot_spk[0] + tot_spk[1]) / 2 * e_spk + tot_events[0] / 2 * e_syn
              + 2 * static + inp * e_syn)
    assert rep.total_joules == pytest.approx(expect)
    assert rep.regime == "quadratic" and "unit weight" in rep.notes[0]
    assert rep.as_dict()["layers"][0]["total_joules"] == pytest.approx(rep.layers[0].total_joules)
    # with the network, an event carries |w|·q: weight the hand counts by |w|
    rep_w = energy(res, cal, v_dd_volts=1.0, v_neg_volts=-0.5, net=net, inputs=x)
    W1, W2 = l1.weight.detach().abs(), l2.weight.detach().abs()
    wsyn = sum(hand_counts(l1, l2, x[b].tolist(), T)[0][i] * float(W2[:, i].sum())
               for b in range(2) for i in range(2)) / 2
    winp = sum(abs(float(x[b, j])) * float(W1[:, j].sum()) for b in range(2)
               for j in range(3)) * T / 2
    assert rep_w.layers[0].synaptic_events == pytest.approx(wsyn)
    assert rep_w.input_synaptic_events == pytest.approx(winp)
    assert rep_w.total_joules == pytest.approx(
        (tot_spk[0] + tot_spk[1]) / 2 * e_spk + (wsyn + winp) * e_syn + 2 * static)
    assert rep_w.notes == ()


def test_energy_scales_with_vdd_squared_in_the_quadratic_regime(cal):
    net, _, _ = tiny()
    res = simulate(net, torch.tensor([[1.0, 0.5, 0.75]]), timesteps=16)
    a = energy(res, cal, v_dd_volts=0.8, v_neg_volts=0.0)
    b = energy(res, cal, v_dd_volts=1.2, v_neg_volts=0.0)
    assert b.e_spike_vdd_joules / a.e_spike_vdd_joules == pytest.approx((1.2 / 0.8) ** 2)


def test_crowbar_regime_is_reported_not_extrapolated(cal):
    net, _, _ = tiny()
    res = simulate(net, torch.tensor([[1.0, 0.5, 0.75]]), timesteps=16)
    rep = energy(res, cal, v_dd_volts=1.5, v_neg_volts=0.0)
    assert rep.regime == "crowbar" and any("crowbar" in n for n in rep.notes)
    assert rep.e_spike_vdd_joules == pytest.approx(2 * syn.K_VDD * 1.5**2)  # the measured value
    mid = energy(res, cal, v_dd_volts=1.35, v_neg_volts=0.0)
    assert mid.regime == "crowbar"
    with pytest.raises(CalibrationError, match="crowbar"):
        energy(res, cal, v_dd_volts=1.8, v_neg_volts=0.0)
    low = energy(res, dataclasses.replace(cal), v_dd_volts=0.6, v_neg_volts=0.0)
    assert low.regime == "quadratic-extrapolated" and low.notes
    with pytest.raises(CalibrationError, match="v_neg_volts"):
        energy(res, cal, v_dd_volts=1.0, v_neg_volts=-2.0)


@pytest.mark.parametrize("eta,array_size", [(0.5, None), (0.8, 1), (1.0, 3)])
def test_circuit_energy_model_against_a_hand_count(cal, eta, array_size):
    """eta given: the circuit's model, term by term; excitatory (w > 0) and inhibitory (w < 0)
    events priced apart, one bias per array."""
    import math

    net, l1, l2 = tiny()
    x = torch.tensor([[1.0, 0.5, 0.75], [0.5, 0.0, 1.0]])
    T = 32
    res = simulate(net, x, timesteps=T)
    v_neg = -0.5
    rep = energy(res, cal, v_dd_volts=1.0, v_neg_volts=v_neg, net=net, inputs=x, eta=eta,
                 array_size=array_size)
    q = syn.C_MEM * syn.V_TH
    e_exc, e_inh = 2 * q * 1.0, q * 1.0 + 2 * q * abs(v_neg) / eta
    e_own = syn.K_VDD + syn.E_RST / eta + 1e-14 * abs(v_neg) / eta  # crowbar K = 0 here
    leak = syn.P_VDD + (1e-9 * v_neg**2 + syn.P_VRST) / eta
    t_s = T * cal.dt_seconds
    fan_exc, fan_inh = [1.5, 0.5], [0.0, 0.5]  # outgoing w > 0 / |w < 0| of the hidden neurons
    in_exc, in_inh = [0.375, 0.5, 0.5], [0.0, 0.25, 0.0]
    total = 0.0
    for b in range(2):
        n1, n2 = hand_counts(l1, l2, x[b].tolist(), T)
        total += (sum(n1) + sum(n2)) * e_own
        total += sum(n1[i] * (fan_exc[i] * e_exc + fan_inh[i] * e_inh) for i in range(2))
        total += T * sum(float(x[b, j]) * (in_exc[j] * e_exc + in_inh[j] * e_inh)
                         for j in range(3))
    total /= 2
    total += 4 * leak * t_s + math.ceil(4 / (array_size or 4)) * syn.P_BIAS * t_s
    assert rep.total_joules == pytest.approx(total, rel=1e-9)
    assert rep.eta == eta and rep.terms["syn_inh"]["regime"] == "fixed-charge"
    assert rep.layers[0].inhibitory_events > 0
    with pytest.raises(CalibrationError, match="array_size"):
        energy(res, cal, v_dd_volts=1.0, v_neg_volts=v_neg, net=net, eta=eta, array_size=0)


def test_weighted_fan_out_is_remembered_only_while_the_weights_are_unchanged():
    """The |w| sums by hand for tiny(); an in-place weight change shows at once (not the
    remembered value), and the value handed out cannot be changed through the memory."""
    from cosim.energy_common import weighted_fan_out

    net, _, _ = tiny()
    w = net.layers[1].ops[0].weight  # the converted (normalized) fc2 weight
    first = weighted_fan_out(net, 0)
    assert torch.allclose(first, w.detach().double().abs().sum(0))
    first.zero_()  # a caller's change stays the caller's
    again = weighted_fan_out(net, 0, +1)
    assert torch.allclose(again, w.detach().double().clamp(min=0).sum(0))
    assert torch.allclose(weighted_fan_out(net, 0), w.detach().double().abs().sum(0))
    with torch.no_grad():
        w.mul_(2.0)
    assert torch.allclose(weighted_fan_out(net, 0), w.detach().double().abs().sum(0))
