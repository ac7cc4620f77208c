"""SimConfig.count_steps: the counts after t < T steps of one run equal a separate run to t.

On the dyadic grid of tests/cosim/test_engine.py every sum is exact, so ``at_step(t)`` must give
exactly what ``simulate`` to t gives (spike counts of every layer, the output spike train, the
per-step predictions, the synaptic and input events), for every schedule and time block, with
and without the compiled kernels, for one variant and for K (``simulate_variants``).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import cosim
from tests.cosim.cosim_reference import layer_shapes
from tests.cosim.strategies import architectures, assert_same_result, neuron_params

torch.set_num_threads(1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=architectures(), data=st.data())
def test_counts_at_earlier_steps_equal_a_run_to_that_step(arch, data):
    model, shape_in, seed = arch
    g = torch.Generator().manual_seed(seed + 1)
    B = data.draw(st.integers(1, 4), label="B")
    T = data.draw(st.integers(2, 16), label="T")
    x = torch.randint(-8, 17, (B, *shape_in), generator=g).float() / 16
    shapes = layer_shapes(model, shape_in)
    neurons = []
    for k in range(data.draw(st.integers(1, 3), label="K")):
        lb = data.draw(st.sampled_from([None, 0.0, -0.5, 0.25]), label=f"lb{k}")
        if data.draw(st.booleans(), label=f"calibrated{k}"):
            neurons.append(tuple(cosim.IFNeuron(lower_bound=lb, **data.draw(neuron_params(s, g)))
                                 for s in shapes))
        else:
            neurons.append(cosim.IFNeuron(lower_bound=lb))
    steps = data.draw(st.lists(st.integers(1, T), min_size=1, max_size=3), label="steps")
    cfg = cosim.SimConfig(
        timesteps=T, count_steps=tuple(steps),
        schedule=data.draw(st.sampled_from(["auto", "dense", "sparse"]), label="sched"),
        time_block=data.draw(st.integers(1, 5), label="time_block"),
        chunk_size=data.draw(st.sampled_from([None, 1, 3]), label="chunk"),
        kernels=data.draw(st.sampled_from([None, False]), label="kernels"))
    net = cosim.convert(model)
    runs = cosim.simulate_variants(net, x, cfg, neurons=neurons) if len(neurons) > 1 else \
        [cosim.simulate(net, x, replace(cfg, neuron=neurons[0]))]
    for k, (n, res) in enumerate(zip(neurons, runs, strict=True)):
        for t in sorted(set(steps)):
            sep = cosim.simulate(net, x, replace(cfg, timesteps=t, neuron=n, count_steps=()))
            got = res.at_step(t)
            assert got.timesteps == t
            assert_same_result(got, sep, f"variant {k} at t={t}")


def _net():
    g = torch.Generator().manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-8, 9, p.shape, generator=g).float() / 16)
    return cosim.convert(model), torch.randint(0, 17, (5, 6), generator=g).float() / 16


def test_at_step_of_a_step_not_kept_and_bad_count_steps_are_refused():
    net, x = _net()
    res = cosim.simulate(net, x, timesteps=12, count_steps=(4, 12))
    assert res.at_step(12) is res and sorted(res.counts_at) == [4]
    with pytest.raises(cosim.SimulationInputError, match=r"at_step needs t = timesteps \(12\)"):
        res.at_step(5)
    with pytest.raises(cosim.SimulationInputError, match=r"count_steps must be .*got \(0,\)"):
        cosim.SimConfig(timesteps=12, count_steps=(0,))
    with pytest.raises(cosim.SimulationInputError, match="count_steps must be"):
        cosim.SimConfig(timesteps=12, count_steps=(13,))
    with pytest.raises(cosim.SimulationInputError, match="count_steps needs encoding='current'"):
        cosim.SimConfig(timesteps=12, count_steps=(4,), encoding="poisson",
                        generator=torch.Generator().manual_seed(0))


def test_concat_joins_the_counts_at_earlier_steps():
    net, x = _net()
    whole = cosim.simulate(net, x, timesteps=12, count_steps=(3, 7))
    parts = cosim.SimulationResult.concat(
        [cosim.simulate(net, x[:2], timesteps=12, count_steps=(3, 7)),
         cosim.simulate(net, x[2:], timesteps=12, count_steps=(3, 7))])
    for t in (3, 7):
        assert_same_result(parts.at_step(t), whole.at_step(t), f"t={t}")
    with pytest.raises(cosim.SimulationInputError, match="count_steps"):
        cosim.SimulationResult.concat([whole, cosim.simulate(net, x, timesteps=12)])
