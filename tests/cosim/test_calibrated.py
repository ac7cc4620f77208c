import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from calib import Calibration, fit
from cosim import IFNeuron, convert, simulate
from cosim.calibrated import calibrated_neuron, calibrated_neurons, sample_mismatch
from tests.calib import synth_tables as syn

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


def small_net(seed):
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.rand(4, 6, generator=g)
    return convert(model), x


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), v_neg=st.sampled_from([None, 0.0, -0.25, -1.0]))
def test_ideal_calibration_is_the_plain_if(seed, v_neg):
    ideal = Calibration.ideal(v_th_volts=0.5)
    neuron = calibrated_neuron(ideal, v_neg_volts=v_neg)
    assert neuron.transfer is None and neuron.gain == 1.0 and neuron.threshold == 1.0
    assert neuron.refractory_steps == 0
    net, x = small_net(seed)
    lb = None if v_neg is None else v_neg / 0.5
    a = simulate(net, x, timesteps=40, neuron=neuron)
    b = simulate(net, x, timesteps=40, lower_bound=lb)
    for ca, cb in zip(a.spike_counts, b.spike_counts):
        assert torch.equal(ca, cb)


def test_floor_transfer_and_saturation(cal):
    n = calibrated_neuron(cal, v_neg_volts=-0.5)
    assert n.lower_bound == pytest.approx(cal.floor_theta(-0.5))
    xs, ys = n.transfer
    assert torch.all(ys[1:] >= ys[:-1])
    # one layer of identity synapses: constant input x per step -> the circuit's measured rate
    lin = nn.Linear(5, 5, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(5))
    net = convert(nn.Sequential(lin, nn.ReLU()))
    x = torch.tensor([[0.05, 0.2, 0.5, 0.9, 50.0]])
    T = 400
    res = simulate(net, x, timesteps=T, neuron=n)
    rate = cal.rate_hertz(x[0].double().numpy() * cal.i_unit_amps) * cal.dt_seconds
    expect = np.minimum(rate, 1.0) * T
    np.testing.assert_allclose(res.spike_counts[0][0].numpy(), expect, atol=T * 0.01 + 1)
    # the ideal IF would fire 0.9*T for x = 0.9; the circuit is slower (refractory reset pulse)
    assert res.spike_counts[0][0, 3] < 0.9 * T - 5


def test_zmp_circuit_floors_below_rest(cal):
    n = calibrated_neuron(cal, v_neg_volts=0.0)
    rest = cal.rest_at(0.0)
    assert rest > 0  # the synthetic waveform resets to 0.1 V
    assert n.lower_bound == pytest.approx(-rest / cal.theta_at(0.0))


def test_a_floor_above_the_post_reset_level_and_the_controller_start(cal):
    """The study neuron's case: a reset leaves the membrane 12 mV below ground, the V_NEG = 0
    floor is ground, and the membrane controller starts every input at ground. The neuron model
    gets that floor (positive, only inhibition meets it) and that start; the design's floor label
    stays 0 (ZMP)."""
    theta = cal.theta_at(0.0)
    top = max(cal.floor_v_neg_volts)
    floors = tuple(m if v != top else 0.0
                   for v, m in zip(cal.floor_v_neg_volts, cal.floor_v_mem_min_volts))
    c = dataclasses.replace(cal, v_sense_volts=theta - 0.012, floor_v_mem_min_volts=floors,
                            v_start_volts=0.0, by_v_dd=())
    assert c.rest_at(0.0) == pytest.approx(-0.012)
    n = calibrated_neuron(c, v_neg_volts=0.0)
    assert n.lower_bound == pytest.approx(0.012 / theta) and n.lower_bound > 0
    assert n.v_init == pytest.approx(0.012 / theta)
    assert c.floor_theta(0.0) == 0.0  # the design's ZMP label
    assert calibrated_neuron(c, v_neg_volts=None).v_init == pytest.approx(
        0.012 / c.theta_at(None), rel=0.05)
    assert calibrated_neuron(cal, v_neg_volts=0.0).v_init == 0.0  # no controller: at rest


def test_mismatch_is_seeded_and_follows_the_calibration(cal):
    g1 = torch.Generator().manual_seed(1)
    gain, thr = sample_mismatch(cal, (200, 100), generator=g1)
    rate_gain = gain / thr
    assert float(rate_gain.mean()) == pytest.approx(cal.gain_mean, abs=0.01)
    assert float(rate_gain.std()) == pytest.approx(cal.gain_std, rel=0.05)
    assert float(thr.std()) == pytest.approx(cal.threshold_std, rel=0.05)
    again = sample_mismatch(cal, (200, 100), generator=torch.Generator().manual_seed(1))
    assert torch.equal(again[0], gain) and torch.equal(again[1], thr)
    ns = calibrated_neurons(cal, [(3, 4, 4), (7,)], v_neg_volts=-0.5,
                            generator=torch.Generator().manual_seed(2))
    assert ns[0].gain.shape == (3, 4, 4) and ns[1].threshold.shape == (7,)
    with pytest.raises(ValueError, match="shape"):
        calibrated_neuron(cal, v_neg_volts=0.0, generator=torch.Generator())


def test_correlated_mismatch():
    c = dataclasses.replace(Calibration.ideal(), gain_std=0.1, threshold_std=0.1,
                            gain_threshold_corr=0.8)
    gain, thr = sample_mismatch(c, (100_000,), generator=torch.Generator().manual_seed(0))
    r = np.corrcoef((gain / thr).numpy(), thr.numpy())[0, 1]
    assert r == pytest.approx(0.8, abs=0.02)


def test_out_of_range_v_neg_is_refused(cal):
    from calib import CalibrationError

    with pytest.raises(CalibrationError, match="v_neg_volts"):
        calibrated_neuron(cal, v_neg_volts=-5.0)
    assert isinstance(calibrated_neuron(cal, v_neg_volts=None), IFNeuron)


def test_neurons_at_a_chosen_v_dd_use_that_v_dds_calibration(cal):
    from cosim.calibrated import transfer_tensors

    for vdd in (0.8, 1.2):
        c = cal.at(vdd)
        ns = calibrated_neurons(cal, [(3,), (2,)], v_neg_volts=-0.5, v_dd_volts=vdd)
        xs, ys = transfer_tensors(c, v_neg_volts=-0.5)
        for n in ns:
            assert n.lower_bound == pytest.approx(c.floor_theta(-0.5))
            assert torch.equal(n.transfer[0], xs) and torch.equal(n.transfer[1], ys)
        # the transfer's x axis is in θ of that V_DD: its unit current differs from the nominal
        assert c.i_unit_amps == pytest.approx(cal.i_unit_amps * vdd)
    nom = calibrated_neurons(cal, [(3,)], v_neg_volts=-0.5)[0]
    assert nom.lower_bound == pytest.approx(cal.floor_theta(-0.5))
    with pytest.raises(Exception, match=r"V_DD \[0\.8, 1\.0, 1\.2\]"):
        calibrated_neurons(cal, [(3,)], v_neg_volts=-0.5, v_dd_volts=1.1)


@pytest.mark.parametrize("transfer", [True, False])
def test_inhibitory_mirror_gain_weighs_negative_input(transfer):
    """A calibration whose inhibitory mirror is 3 % stronger than the excitatory one at V_NEG
    -1 V (equal at 0 V): a step of input -0.5 lowers the membrane by 0.5 * 1.03 / 1.0 (1.015 at
    -0.5 V, linear between), a positive input is untouched; hand-computed, through if_step and
    simulate."""
    from cosim.neuron import IFState, if_step

    ideal = Calibration.ideal(v_th_volts=0.5)
    cal = dataclasses.replace(ideal, mirror_v_neg_volts=(-1.0, 0.0), mirror_gain_exc=(1.0, 0.98),
                              mirror_gain_inh=(1.03, 0.98))
    v0 = torch.zeros(3)
    for v_neg, ratio in ((-1.0, 1.03), (-0.5, 1.015)):  # floors -2 and -1 θ: not reached
        n = calibrated_neuron(cal, v_neg_volts=v_neg, transfer=transfer)
        _, st_ = if_step(IFState(v0), torch.tensor([-0.5, 0.3, -0.2]), n)
        assert st_.v.tolist() == pytest.approx([-0.5 * ratio, 0.3, -0.2 * ratio], rel=1e-6)
    n = calibrated_neuron(cal, v_neg_volts=None, transfer=transfer)  # NMP: the op. point (0 V)
    _, st_ = if_step(IFState(v0), torch.tensor([-0.5, 0.3, -0.2]), n)
    assert st_.v.tolist() == pytest.approx([-0.5, 0.3, -0.2], rel=1e-6)
    # the plain calibration: no transfer at all; with the gains the neuron is no longer ideal
    assert calibrated_neuron(ideal, v_neg_volts=-1.0, transfer=transfer).transfer is None
    assert calibrated_neuron(cal, v_neg_volts=-1.0, transfer=transfer).transfer is not None
    # through the engine: one inhibitory synapse, one excitatory; the membrane after T steps
    lin = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-0.01, 0.0], [0.0, 0.004]]))
    net = convert(nn.Sequential(lin, nn.ReLU()))
    x = torch.ones(1, 2)
    n = calibrated_neuron(cal, v_neg_volts=-1.0, transfer=transfer)
    a = simulate(net, x, timesteps=100, neuron=n)
    b = simulate(net, x, timesteps=100, neuron=calibrated_neuron(ideal, v_neg_volts=-1.0))
    assert torch.equal(a.spike_counts[0], b.spike_counts[0])  # 0.4 θ: no spike either way
