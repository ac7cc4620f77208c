"""The start membrane ``IFNeuron.v_init``: validated where it enters, counted by hand, and the
same in every schedule and with the compiled kernels (the hypothesis tests of test_engine and
test_variants draw it too, against the step-by-step reference)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cosim
from cosim import IFNeuron
from cosim.errors import SimulationInputError


@pytest.mark.parametrize("kw, match", [
    (dict(v_init=1.0), r"v_init must be a finite float in \[-inf, 1\)"),
    (dict(v_init=float("nan")), "v_init must be"),
    (dict(v_init=True), "v_init must be"),
    (dict(v_init="0.5"), "v_init must be"),
    (dict(lower_bound=0.0, v_init=-0.25), r"\[lower_bound 0.0, 1\)"),
])
def test_bad_start_membranes_are_refused(kw, match):
    with pytest.raises(SimulationInputError, match=match):
        IFNeuron(**kw)


def _one_neuron():
    lin = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    return cosim.convert(nn.Sequential(lin), None, input_shape=(1,))


@pytest.mark.parametrize("kernels", [None, False])
def test_a_hand_count(kernels):
    """Input 0.25 per step for 6 steps. From rest: 0.25, 0.5, 0.75, 1.0 -> one spike (step 3).
    From v_init 0.5: 0.75, 1.0 (spike, step 1), 0.25, 0.5, 0.75, 1.0 (spike, step 5): two."""
    net, x = _one_neuron(), torch.tensor([[0.25]])
    rest = cosim.simulate(net, x, timesteps=6, kernels=kernels)
    half = cosim.simulate(net, x, timesteps=6, neuron=IFNeuron(v_init=0.5), kernels=kernels)
    assert rest.output_spikes[:, 0, 0].nonzero().flatten().tolist() == [3]
    assert half.output_spikes[:, 0, 0].nonzero().flatten().tolist() == [1, 5]
    # per-neuron thresholds: v_init is in threshold units (threshold 2: start at 1.0)
    two = cosim.simulate(net, x, timesteps=6, neuron=IFNeuron(threshold=torch.tensor([2.0]),
                                                              v_init=0.5), kernels=kernels)
    assert two.output_spikes[:, 0, 0].nonzero().flatten().tolist() == [3]
    # with a transfer curve (the identity, as knots) the start is kept too
    ident = (torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0]))
    tr = cosim.simulate(net, x, timesteps=6, neuron=IFNeuron(v_init=0.5, transfer=ident),
                        kernels=kernels)
    assert tr.output_spikes[:, 0, 0].nonzero().flatten().tolist() == [1, 5]


def test_a_negative_start_and_the_membrane_readout():
    """v_init −1 with floor −1: the first spike needs two thresholds; the output layer's membrane
    readout (predictions by membrane) starts from there too."""
    net, x = _one_neuron(), torch.tensor([[0.5]])
    r = cosim.simulate(net, x, timesteps=4, neuron=IFNeuron(lower_bound=-1.0, v_init=-1.0))
    assert r.output_spikes[:, 0, 0].nonzero().flatten().tolist() == [3]  # -0.5, 0, 0.5, 1.0


def test_variants_with_different_starts_keep_their_own_first_layer():
    """Variants that differ in v_init as well as the floor do not share the first layer's IF
    update (two layers, so the engine would share it for a floor-only difference)."""
    l1, l2 = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        l1.weight.fill_(1.0)
        l2.weight.fill_(1.0)
    net = cosim.convert(nn.Sequential(l1, nn.ReLU(), l2), None, input_shape=(1,))
    x = torch.tensor([[0.25]])
    a, b, c = cosim.simulate_variants(net, x, neurons=[
        IFNeuron(lower_bound=0.0), IFNeuron(lower_bound=-1.0, v_init=0.5),
        IFNeuron(lower_bound=-1.0)], timesteps=6)
    assert [int(r.spike_counts[0].sum()) for r in (a, b, c)] == [1, 2, 1]
    assert [int(r.output_counts.sum()) for r in (a, b, c)] == [1, 2, 1]
