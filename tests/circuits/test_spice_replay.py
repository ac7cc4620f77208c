"""circuits.spice_replay: one neuron fed recorded spike times, against the network it came from."""

import shutil

import numpy as np
import pytest

from circuits.design import default_design
from circuits.spice_network import measure_gate_seconds, simulate_network
from circuits.spice_replay import _tracks, replay_neuron

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None, reason="needs ngspice")

DT, Q = 3.42e-6, 2.34e-13  # the default calibration's step and charge per spike at V_DD 1 V


def _design():
    return {**default_design().subckt_params(), "topology": "study", "v_rst_volts": -1.2}


@needs_ngspice
@pytest.mark.parametrize("v_neg", [0.0, -0.5])
def test_replayed_spikes_give_the_networks_output_neuron(v_neg):
    """Three drivers (two excitatory, one inhibitory) into one neuron: the network's own run and
    the replay of its drivers' spike times into a lone neuron agree to a spike, and away from its
    own spikes the membrane never falls more than 50 mV below the floor V_NEG."""
    d = _design()
    gate = measure_gate_seconds(d, v_dd_volts=1.0, v_neg_volts=v_neg, i_amps=0.4 * Q / DT,
                                q_guess_coulombs=Q)
    x = np.array([0.55, 0.3, 0.7])
    w = np.array([[0.8, 0.6, -0.5]])
    T = 40
    net = simulate_network(d, v_dd_volts=1.0, v_neg_volts=v_neg, first_currents=x,
                           weights=[w], biases=[np.array([0.05])], i_unit_amps=Q / DT,
                           dt_seconds=DT, timesteps=T, gate_seconds=gate)
    rep = replay_neuron(d, v_dd_volts=1.0, v_neg_volts=v_neg, spike_times=net.spike_times[0],
                        weights=w[0], bias=0.05, i_unit_amps=Q / DT, dt_seconds=DT,
                        timesteps=T, gate_seconds=gate)
    want = int(net.counts[1][0])
    assert want >= 5  # the neuron is driven: a count of 0 would agree trivially
    assert abs(rep.count - want) <= 1, (rep.count, want)
    # away from its own spikes (whose feedback kick swings the membrane by ~0.1 V for a moment)
    quiet = np.ones(rep.time.size, bool)
    for t in rep.spike_times:
        quiet &= (rep.time < t - 2e-7) | (rep.time > t + 1e-6)
    assert rep.v_mem[quiet].min() > v_neg - 0.05, rep.v_mem[quiet].min()
    assert rep.netlist.count(" PWL(") == 1 + sum(len(_tracks(np.sort(t), gate + 1e-8))
                                                 for t in net.spike_times[0])


def test_overlapping_pulses_go_on_separate_sources():
    assert _tracks(np.array([0.0, 1.0, 1.5, 3.0]), 1.0) == [[0.0, 1.5, 3.0], [1.0]]
    assert _tracks(np.array([]), 1.0) == []


@pytest.mark.parametrize("bad, match", [
    ({"spike_times": [[1e-6]], "weights": [0.5, 0.5]}, "2"),
    ({"spike_times": [[-1e-6]], "weights": [0.5]}, r"spike_times\[0\]"),
    ({"spike_times": [[float("nan")]], "weights": [0.5]}, r"spike_times\[0\]"),
    ({"spike_times": [[1.0]], "weights": [0.5]}, r"spike_times\[0\]"),
    ({"spike_times": [[1e-6]], "weights": [0.5], "timesteps": 0}, "timesteps"),
    ({"spike_times": [[1e-6]], "weights": [0.5], "gate_seconds": 1e-9}, "gate_seconds"),
])
def test_bad_inputs_are_refused_before_ngspice(bad, match):
    kw = {"v_dd_volts": 1.0, "v_neg_volts": 0.0, "bias": 0.0, "i_unit_amps": Q / DT,
          "dt_seconds": DT, "timesteps": 10, "gate_seconds": 3e-7, **bad}
    with pytest.raises(ValueError, match=match):
        replay_neuron(_design(), **kw)
