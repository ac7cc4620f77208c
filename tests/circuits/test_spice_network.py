"""circuits.spice_network in real ngspice: charge bookkeeping of spike-gated synapses."""

import shutil

import numpy as np
import pytest

from circuits.spice_network import measure_gate_seconds, simulate_network, subckt_param_names

pytestmark = pytest.mark.skipif(shutil.which("ngspice") is None, reason="needs ngspice")

# the raised_rest preset (its netlist, parameters as in the earlier test)
DESIGN = {"c_mem_farads": 5e-13, "c_fb_farads": 5e-13, "i_reset_amps": 3e-6,
          "t_pulse_seconds": 1e-7, "topology": "raised_rest"}
DT = 1e-6


@pytest.fixture(scope="module")
def unit():
    """Measure one neuron: the charge per spike (I/f) and the gate integral per spike."""
    i = 2e-7
    run = simulate_network(DESIGN, v_dd_volts=1.0, v_neg_volts=-0.5,
                           first_currents=np.array([1.0]), weights=[], biases=[],
                           i_unit_amps=i, dt_seconds=DT, timesteps=30, gate_seconds=1e-7)
    st = run.spike_times[0][0]
    q = i * (st[-1] - st[1]) / (len(st) - 2)
    gate = measure_gate_seconds(DESIGN, v_dd_volts=1.0, v_neg_volts=-0.5, i_amps=i,
                                q_guess_coulombs=q)
    return q, gate


def test_param_names_come_from_the_subcircuit():
    names = subckt_param_names()
    assert "c_mem_farads" in names and "i_reset_amps" in names
    assert "c_delay_farads" in subckt_param_names(topology="raised_rest")


def test_default_neurons_start_at_rest_with_the_membrane_controller():
    from circuits.design import default_design

    d = {**default_design().subckt_params(), "topology": "study", "v_rst_volts": -1.2}
    q = 0.49e-12 * 0.53  # C_eff * theta of the default at V_DD 1 V
    run = simulate_network(d, v_dd_volts=1.0, v_neg_volts=-0.5, first_currents=np.array([0.3]),
                           weights=[], biases=[], i_unit_amps=q / (4 * DT),
                           dt_seconds=4 * DT, timesteps=40, gate_seconds=1e-7, v_init_volts=0.4)
    assert "Vctl ctl 0 PWL(" in run.netlist and " vrst ctl if_neuron " in run.netlist
    # from rest (not from the 0.4 V .ic): 0.3 theta per step -> floor(0.3 * 40) = 12 spikes
    assert abs(int(run.counts[0][0]) - 12) <= 1


def test_constant_current_counts_follow_charge(unit):
    q, gate = unit
    assert 1e-13 < q < 1e-12 and 5e-8 < gate < 2e-7
    x = np.array([0.2, 0.45, 0.7])
    run = simulate_network(DESIGN, v_dd_volts=1.0, v_neg_volts=-0.5, first_currents=x,
                           weights=[], biases=[], i_unit_amps=q / DT, dt_seconds=DT,
                           timesteps=60, gate_seconds=gate)
    # an integrator from rest below threshold: count = floor(x·T) give or take one spike
    assert np.all(np.abs(run.counts[0] - x * 60) <= 1.5)


def test_spike_gated_synapses_deliver_weight_times_charge(unit):
    q, gate = unit
    x = np.array([0.5, 0.8])
    w = np.array([[0.5, 0.0], [0.5, 0.5], [0.5, -0.25]])
    b = np.array([0.0, 0.0, 0.1])
    T = 60
    run = simulate_network(DESIGN, v_dd_volts=1.0, v_neg_volts=-0.5, first_currents=x,
                           weights=[w], biases=[b], i_unit_amps=q / DT, dt_seconds=DT,
                           timesteps=T, gate_seconds=gate)
    n1 = run.counts[0].astype(float)
    expect = w @ n1 + b * T  # charge delivered, in spikes' worth
    got = run.counts[1]
    # excitatory charge arriving during the post neuron's own pulse is lost (its membrane is
    # kicked towards V_DD, the mirror has no headroom), so busy neurons fall a little short
    assert np.all(got <= expect + 1.0), (got, expect)
    assert np.all(np.abs(got - expect) <= np.maximum(1.5, 0.1 * expect)), (got, expect)
    assert "Gs1_2_1 0 h1_2" in run.netlist  # the negative weight goes to the inhibitory port


def test_non_numbers_never_reach_the_netlist():
    with pytest.raises(ValueError, match="finite"):
        simulate_network(DESIGN, v_dd_volts=1.0, v_neg_volts=-0.5,
                         first_currents=np.array([float("nan")]), weights=[], biases=[],
                         i_unit_amps=1e-7, dt_seconds=DT, timesteps=5, gate_seconds=1e-7)
    with pytest.raises(ValueError):
        simulate_network(DESIGN | {"c_mem_farads": "1p\n.control\nshell rm -rf /"},
                         v_dd_volts=1.0, v_neg_volts=-0.5, first_currents=np.array([0.5]),
                         weights=[], biases=[], i_unit_amps=1e-7, dt_seconds=DT,
                         timesteps=5, gate_seconds=1e-7)
    with pytest.raises(ValueError, match="layer 1"):
        simulate_network(DESIGN, v_dd_volts=1.0, v_neg_volts=-0.5,
                         first_currents=np.array([0.5]), weights=[np.ones((2, 3))],
                         biases=[np.zeros(2)], i_unit_amps=1e-7, dt_seconds=DT, timesteps=5,
                         gate_seconds=1e-7)


def test_default_max_step_resolves_the_reset_pulse():
    from circuits.design import default_design
    from circuits.spice_network import default_max_step

    # the pulse is the timer's: Cd plus the detector's gate, charged by I_d (hand count:
    # 0.33 * 8.4 mF/m^2 * 72 * 0.22 um * 2 um = 87.8 fF; 32 ns * (1 + 87.8 / 10) = 313 ns)
    study = {"topology": "study", "t_pulse_seconds": 3.2e-8, "c_delay_farads": 1e-14}
    assert default_max_step(study, 9e-6) == pytest.approx(3.13e-7 / 32, rel=1e-3)  # pulse / 32
    assert default_design().pulse_seconds == pytest.approx(3.13e-7, rel=1e-3)
    assert default_max_step(study, 5e-7) == pytest.approx(5e-9)  # dt / 100
    assert default_max_step(DESIGN, 1e-6) == pytest.approx(5e-9)  # raised_rest: as before


def test_the_default_step_is_converged():
    """Default neurons at the default maximum step fire at the rate half that step gives: the
    reset pulse (timed by a capacitor) sets the charge a spike removes, and a step too coarse for
    it moves a period by up to 10.6% (34 ns, the earlier pulse/8; `bench/spice_network_step.py`).
    Two of the inputs that step got worst (0.2 and 0.13 θ per step, V_NEG 0)."""
    from circuits.design import default_design
    from circuits.spice_network import default_max_step

    d = {**default_design().subckt_params(), "topology": "study", "v_rst_volts": -1.2}
    dt, q = 3.42e-6, 2.33e-13  # the default calibration's step and charge per spike at 1 V
    x = np.array([0.2, 0.13])
    h = default_max_step(d, dt)
    assert h < 11e-9

    def periods(step):
        run = simulate_network(d, v_dd_volts=1.0, v_neg_volts=0.0, first_currents=x,
                               weights=[], biases=[], i_unit_amps=q / dt, dt_seconds=dt,
                               timesteps=40, gate_seconds=3.1e-7, t_max_seconds=step)
        assert run.t_max_seconds == step  # the run reports the step it ran with
        return np.array([(t[-1] - t[1]) / (len(t) - 2) for t in run.spike_times[0]])

    coarse, fine = periods(h), periods(h / 2)
    np.testing.assert_allclose(coarse, fine, rtol=3e-3)
    # and both are the physics: a period of 1 / x steps (θ per spike = q), to the transfer
    # curve's few per mille
    np.testing.assert_allclose(fine / dt, 1 / x, rtol=0.03)


def _clamped_post_count(pre_steps, *, bias, w, floor, timesteps, n_sub=400):
    """Independent reference: a continuous-time IF integrator (fine step loop), input ``bias``
    θ per step, ``w`` θ at each presynaptic spike time (in steps), membrane clamped at ``floor``
    θ, reset by subtraction."""
    v, n, k_pre, dt = 0.0, 0, 0, 1.0 / n_sub
    for k in range(timesteps * n_sub):
        v += bias * dt
        while k_pre < len(pre_steps) and pre_steps[k_pre] <= (k + 1) * dt:
            v, k_pre = max(v + w, floor), k_pre + 1
        if v >= 1.0:
            v, n = v - 1.0, n + 1
    return n


@pytest.mark.parametrize("v_neg", [-0.3, 0.0])
def test_spike_gated_inhibition_follows_a_clamped_integrator(v_neg):
    """Default (study) neurons: a post neuron with bias 0.6/step, inhibited by a 0.45/step driver
    through w = −0.8 (units of q), fires what a continuous-time integrator with the membrane
    floor at V_NEG fires when fed the driver's spike times. At V_NEG = 0 (ZMP) an inhibitory
    spike that meets the membrane near rest loses the charge below the floor: the driver locks
    the post neuron to its own rate (one post spike per pre spike), not the 0.6·T − 0.8·n_pre of
    an unbounded integrator.

    The lock gets 0.6/0.45 = 1.33 θ of bias per driver period. With a 0.5/step driver (1.2 θ) it
    was marginal: the inhibitory mirror's slow tail (then MN1/MN2 2 µm / 32 µm, before the self-
    cascode: the gate charge left through MN1 in subthreshold) and the coupling kick at each
    driver spike take ~0.1 θ per period, so whether a post spike that coincides with a driver
    spike is followed by one before the next driver spike depended on the phase (measured, V_NEG
    = 0: 26 of 28 expected with the 0.44 µs-pulse netlist, 24 of 31 with the 0.31 µs one). With
    the self-cascode mirror (i_reset 471.3 nA) V_NEG −0.3 V gives 16 against 14 (15 at 472 nA)."""
    from circuits.design import default_design

    d = {**default_design().subckt_params(), "topology": "study", "v_rst_volts": -1.2}
    dt, q = 8.95e-6, 2.44e-13  # a step and a nominal charge per spike
    gate = measure_gate_seconds(d, v_dd_volts=1.0, v_neg_volts=v_neg, i_amps=0.4 * q / dt,
                                q_guess_coulombs=q)
    T = 60
    run = simulate_network(d, v_dd_volts=1.0, v_neg_volts=v_neg, first_currents=np.array([0.45]),
                           weights=[np.array([[-0.8]])], biases=[np.array([0.6])],
                           i_unit_amps=q / dt, dt_seconds=dt, timesteps=T, gate_seconds=gate)
    pre_t = run.spike_times[0][0]
    pre, post = len(pre_t), int(run.counts[1][0])
    assert abs(pre - 0.45 * T) <= 3
    # the circuit's charge per spike from the driver's period (0.45 q per step of input)
    q_spike = 0.45 * q / dt * float(np.mean(np.diff(pre_t)))
    c_eff = 0.49e-12  # C_mem + C_fb + parasitics of the default (theta 0.48 V <-> 2.35e-13 C)
    expect = _clamped_post_count(pre_t / dt + gate / (2 * dt), bias=0.6 * q / q_spike,
                                 w=-0.8 * q / q_spike, floor=v_neg * c_eff / q_spike,
                                 timesteps=T)
    unbounded = _clamped_post_count(pre_t / dt, bias=0.6 * q / q_spike, w=-0.8 * q / q_spike,
                                    floor=-1e9, timesteps=T)
    # error budget: one spike of phase (a post spike coinciding with a driver spike) plus the
    # inhibitory mirror's measured shortfall: a train of w ~1 events delivers 0.97 of its charge
    # within a step (bench/synapse_step.py), ~0.7 θ over 28 events of w 0.8 -> 2 spikes
    assert abs(post - expect) <= max(2, 0.1 * expect), (pre, post, expect, unbounded)
    if v_neg == 0.0:  # the floor matters here: the reference is not the unbounded count
        assert expect - unbounded >= 8, (expect, unbounded)
