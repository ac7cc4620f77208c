"""simulate's argument checks: each bad argument is named with its value."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cosim

NET = cosim.convert(nn.Sequential(nn.Linear(3, 2)))
X = torch.rand(4, 3)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(timesteps=0), "timesteps"),
    (dict(timesteps=2.5), "timesteps"),
    (dict(timesteps=3, lower_bound=0.5), "lower_bound"),
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
