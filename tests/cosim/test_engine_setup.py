"""simulate's argument checks: each bad argument is named with its value."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cosim

NET = cosim.convert(nn.Sequential(nn.Linear(3, 2)))
X = torch.rand(4, 3)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(timesteps=0), "timesteps"),
    (dict(timesteps=2.5), "timesteps"),
    (dict(timesteps=3, lower_bound=1.5), "lower_bound"),
    (dict(timesteps=3, reset="hold"), "reset"),
    (dict(timesteps=3, encoding="latency"), "encoding"),
    (dict(timesteps=3, encoding="poisson"), "generator"),
    (dict(timesteps=3, schedule="fast"), "schedule"),
    (dict(timesteps=3, time_block=0), "time_block"),
    (dict(timesteps=3, chunk_size=0), "chunk_size"),
    (dict(timesteps=3, neuron=[cosim.IFNeuron()] * 2), "one per spiking"),
    (dict(timesteps=3, lower_bound=-1.0, neuron=cosim.IFNeuron(lower_bound=-0.5)),
     "disagrees"),
    (dict(timesteps=3, reset="zero", neuron=cosim.IFNeuron()), "disagrees"),
    (dict(timesteps=3, neuron=cosim.IFNeuron(threshold=torch.ones(5))), "broadcast"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(cosim.SimulationInputError, match=match):
        cosim.simulate(NET, X, **kwargs)


def test_bad_inputs():
    with pytest.raises(cosim.SimulationInputError, match=r"shape \(B, 3\)"):
        cosim.simulate(NET, torch.rand(4, 5), timesteps=2)
    with pytest.raises(cosim.SimulationInputError, match="finite"):
        cosim.simulate(NET, torch.full((2, 3), float("nan")), timesteps=2)
    with pytest.raises(cosim.SimulationInputError, match=r"\[-1, 1\]"):
        cosim.simulate(NET, 2 * torch.ones(2, 3), timesteps=2, encoding="poisson",
                       generator=torch.Generator().manual_seed(0))


def test_agreeing_neuron_and_bound_are_accepted():
    res = cosim.simulate(NET, X, timesteps=3, lower_bound=0.0,
                         neuron=cosim.IFNeuron(lower_bound=0.0))
    assert res.output_counts.shape == (4, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu():
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 36, 5))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-8, 9, p.shape, generator=g).float() / 16)
    x = torch.randint(0, 17, (5, 1, 8, 8), generator=g).float() / 16
    net = cosim.convert(model)
    a = cosim.simulate(net, x, timesteps=20, lower_bound=-0.5)
    b = cosim.simulate(net, x, timesteps=20, lower_bound=-0.5, device="cuda")
    for ca, cb in zip(a.spike_counts, b.spike_counts, strict=True):
        assert torch.equal(ca, cb)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_uses_full_fp32_not_tf32():
    """Weights on a 2^-14 grid: exact in float32 sums, rounded by TF32 (10-bit mantissa)."""
    g = torch.Generator().manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 6))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.randint(-(2**13), 2**13, p.shape, generator=g).float() + 0.5) / 2**14)
    x = torch.randint(0, 17, (64, 1, 8, 8), generator=g).float() / 16
    net = cosim.convert(model)
    a = cosim.simulate(net, x, timesteps=50)
    b = cosim.simulate(net, x, timesteps=50, device="cuda")
    for ca, cb in zip(a.spike_counts, b.spike_counts, strict=True):
        assert torch.equal(ca, cb)
    assert torch.backends.cudnn.allow_tf32  # torch's default is restored afterwards


def test_config_form_equals_keyword_form_and_is_frozen():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(5, 3, generator=g)
    cfg = cosim.SimConfig(timesteps=11, neuron=cosim.IFNeuron(lower_bound=-0.5, reset="zero"),
                          time_block=3)
    a = cosim.simulate(NET, x, cfg)
    b = cosim.simulate(NET, x, timesteps=11, lower_bound=-0.5, reset="zero", time_block=3)
    assert torch.equal(a.output_spikes, b.output_spikes)
    assert torch.equal(a.spike_counts[0], b.spike_counts[0])
    with pytest.raises(AttributeError):
        cfg.timesteps = 3  # type: ignore[misc]
    assert cosim.SimConfig(timesteps=2, neuron=[cosim.IFNeuron()]).neuron == (cosim.IFNeuron(),)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(timesteps=True), "timesteps"),
    (dict(timesteps=3, neuron="ifn"), "neuron"),
    (dict(timesteps=3, neuron=[]), "neuron"),
    (dict(timesteps=3, record_ann=1), "record_ann"),
    (dict(timesteps=3, kernels=1), "kernels"),
    (dict(timesteps=3, dtype=torch.int32), "dtype"),
    (dict(timesteps=3, device="nowhere"), "device"),
    (dict(timesteps=3, memory_budget_bytes=0), "memory_budget_bytes"),
])
def test_config_fields_are_validated(kwargs, match):
    with pytest.raises(cosim.SimulationInputError, match=match):
        cosim.SimConfig(**kwargs)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: cosim.simulate(NET, X, cosim.SimConfig(timesteps=2), timesteps=3), "either"),
    (lambda: cosim.simulate(NET, X, timesteps=2, lower_bnd=0.0), "unknown.*lower_bnd"),
    (lambda: cosim.simulate(NET, X, lower_bound=0.0), "timesteps is required"),
    (lambda: cosim.simulate(NET, X, {"timesteps": 2}), "SimConfig"),
    (lambda: cosim.simulate(NET, X, timesteps=2, lower_bound=False), "lower_bound"),
    (lambda: cosim.IFNeuron(lower_bound=True), "lower_bound"),
])
def test_bad_forms_are_named(call, match):
    with pytest.raises(cosim.SimulationInputError, match=match):
        call()


def test_memory_budget_is_checked_before_allocating():
    """timesteps = 1e9 on a tiny net must fail at once, naming the budget and the need."""
    with pytest.raises(cosim.SimulationInputError,
                       match=r"memory_budget_bytes=1,073,741,824 .* timesteps=1,000,000,000 "
                             r"× batch=4: the output buffers need 16,000,000,\d+ bytes"):
        cosim.simulate(NET, X, timesteps=10**9)
    with pytest.raises(cosim.SimulationInputError, match="a chunk of 4 samples"):
        cosim.simulate(NET, X, timesteps=100, memory_budget_bytes=2_500, chunk_size=4)
    res = cosim.simulate(NET, X, timesteps=100, memory_budget_bytes=50_000)
    assert res.output_spikes.shape == (100, 4, 2)


@settings(max_examples=200, deadline=None)
@given(batch=st.integers(1, 20_000), T=st.integers(1, 5000), K=st.integers(1, 8),
       sizes=st.lists(st.integers(1, 200_000), min_size=1, max_size=9),
       budget=st.integers(1 << 16, 1 << 34))
def test_the_planned_chunk_fits_the_budget_beside_the_outputs(batch, T, K, sizes, budget):
    """Outputs + chunk × per-sample working memory <= the budget (or one clear error)."""
    from cosim.engine_setup import SimConfig, plan_memory

    cfg = SimConfig(timesteps=T, memory_budget_bytes=budget)
    try:
        plan = plan_memory(cfg, batch, sizes, sizes[-1], 784, True, variants=K)
    except cosim.SimulationInputError as err:
        assert "memory_budget_bytes" in str(err)
        return
    assert 1 <= plan.chunk <= batch
    assert plan.outputs + plan.chunk * plan.per_sample <= budget
