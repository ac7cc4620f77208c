"""cosim.simulate_variants: K neuron variants in one pass equal K separate simulate calls.

On the dyadic grid of tests/cosim/test_engine.py every sum is exact, so equality of every
output (spike counts of every layer, the output spike train, the per-step predictions, the
floor statistics, the synaptic events) is required, for every schedule, with and without the
compiled kernels, including the fused conv + IF path shared by several variants.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import cosim
from tests.cosim.cosim_reference import RefNeuron, layer_shapes, run_reference
from tests.cosim.strategies import architectures, assert_same_result, dyadic_, neuron_params

torch.set_num_threads(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=architectures(), data=st.data())
def test_variants_equal_separate_calls(arch, data):
    model, shape_in, seed = arch
    g = torch.Generator().manual_seed(seed + 1)
    B = data.draw(st.integers(1, 4), label="B")
    T = data.draw(st.integers(1, 16), label="T")
    x = torch.randint(-8, 17, (B, *shape_in), generator=g).float() / 16
    shapes = layer_shapes(model, shape_in)
    K = data.draw(st.integers(1, 4), label="K")
    neurons = []
    for k in range(K):
        lb = data.draw(st.sampled_from([None, 0.0, -0.25, -0.5, -1.0]), label=f"lb{k}")
        reset = data.draw(st.sampled_from(["subtract", "subtract", "zero"]), label=f"reset{k}")
        if data.draw(st.integers(0, 3), label=f"calibrated{k}") == 0:
            neurons.append(tuple(cosim.IFNeuron(lower_bound=lb, reset=reset,
                                                **data.draw(neuron_params(s, g)))
                                 for s in shapes))
        else:
            neurons.append(cosim.IFNeuron(lower_bound=lb, reset=reset))
    cfg = cosim.SimConfig(
        timesteps=T,
        schedule=data.draw(st.sampled_from(["auto", "dense", "sparse"]), label="sched"),
        time_block=data.draw(st.integers(1, 5), label="time_block"),
        chunk_size=data.draw(st.sampled_from([None, 1, 3]), label="chunk"),
        kernels=data.draw(st.sampled_from([None, False]), label="kernels"),
        record_floor=data.draw(st.booleans(), label="record_floor"))
    if data.draw(st.integers(0, 4), label="poisson") == 0:
        cfg = replace(cfg, encoding="poisson", chunk_size=cfg.chunk_size or B,
                      generator=torch.Generator().manual_seed(seed))
        x = x.clamp(-1, 1)
    net = cosim.convert(model)

    def gen() -> dict:  # the same draws for every call
        return {"generator": torch.Generator().manual_seed(seed)} \
            if cfg.encoding == "poisson" else {}

    results = cosim.simulate_variants(net, x, replace(cfg, **gen()), neurons=neurons)
    assert len(results) == K
    for k, (n, res) in enumerate(zip(neurons, results, strict=True)):
        one = cosim.simulate(net, x, replace(cfg, neuron=n, **gen()))
        assert_same_result(res, one, f"variant {k}")
        assert res.schedule.get("variants", 1) == K


@pytest.mark.parametrize("kernels", [None, False])
def test_floors_share_the_fused_conv_and_match_the_reference(kernels):
    """The benchmark's architecture (scaled down), event-driven: layer 2's convolution is fed
    by layer 1's spikes, which no floor changes (constant input), so all floors share one
    fused conv + IF call; each variant equals the float64 step-loop reference."""
    g = torch.Generator().manual_seed(5)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Conv2d(6, 20, 5), nn.ReLU(),
                          nn.Flatten(), nn.Linear(20 * 8 * 8, 40), nn.ReLU(),
                          nn.Linear(40, 10)).eval()
    dyadic_(model, g)
    x = torch.randint(-8, 17, (4, 1, 14, 14), generator=g).float() / 16
    floors = [None, 0.0, -0.25, -0.5, -1.0]
    net = cosim.convert(model)
    results = cosim.simulate_variants(net, x, timesteps=24, schedule="sparse",
                                      kernels=kernels, record_floor=True,
                                      neurons=[cosim.IFNeuron(lower_bound=f) for f in floors])
    first = results[0].spike_counts[0]
    distinct = set()
    for f, res in zip(floors, results, strict=True):
        ref = run_reference(model, x, 24, [RefNeuron(lower_bound=f)] * 4)
        for a, b in zip(res.spike_counts, ref["counts"], strict=True):
            assert torch.equal(a.long(), b.long()), f"floor {f}"
        assert torch.equal(res.output_spikes, ref["out_spikes"])
        assert torch.equal(res.spike_counts[0], first)  # layer 1: no floor changes it
        distinct.add(tuple(int(c.sum()) for c in res.spike_counts[1:]))
    assert len(distinct) > 1  # the floors do change the later layers


def test_bad_arguments_name_the_field():
    net = cosim.convert(nn.Sequential(nn.Linear(3, 2)).eval())
    x = torch.rand(2, 3)
    with pytest.raises(cosim.SimulationInputError, match="neurons must be a non-empty"):
        cosim.simulate_variants(net, x, timesteps=4, neurons=[])
    with pytest.raises(cosim.SimulationInputError, match=r"neurons\[1\]: neuron must be"):
        cosim.simulate_variants(net, x, timesteps=4, neurons=[cosim.IFNeuron(), 0.5])
    with pytest.raises(cosim.SimulationInputError, match="not lower_bound"):
        cosim.simulate_variants(net, x, timesteps=4, lower_bound=-0.5,
                                neurons=[cosim.IFNeuron()])
    with pytest.raises(cosim.SimulationInputError, match="needs chunk_size"):
        cosim.simulate_variants(net, x, timesteps=4, encoding="poisson",
                                generator=torch.Generator().manual_seed(0),
                                neurons=[cosim.IFNeuron(), cosim.IFNeuron(lower_bound=0.0)])


def test_memory_budget_covers_all_variants():
    net = cosim.convert(nn.Sequential(nn.Linear(50, 40), nn.ReLU(), nn.Linear(40, 10)).eval())
    x = torch.rand(64, 50)
    one = cosim.simulate(net, x, timesteps=100, memory_budget_bytes=1 << 17)
    with pytest.raises(cosim.SimulationInputError, match="memory_budget_bytes=131,072"):
        cosim.simulate_variants(net, x, timesteps=100, memory_budget_bytes=1 << 17,
                                neurons=[cosim.IFNeuron()] * 8)
    many = cosim.simulate_variants(net, x, timesteps=100, memory_budget_bytes=1 << 20,
                                   neurons=[cosim.IFNeuron()] * 8)
    assert all(torch.equal(r.output_spikes, one.output_spikes) for r in many)


@settings(max_examples=50, deadline=None)
@given(rows=st.integers(1, 40), words=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_unique_rows_rebuild_every_row(rows, words, seed):
    """Shared rows of several variants' spikes: the distinct rows, indexed back, are the rows;
    a hash collision (forced here: an all-zero hash) gives None, never a wrong row."""
    from cosim import engine_variant
    from cosim.schedule import Bits

    g = torch.Generator().manual_seed(seed)
    pool = torch.randint(-2**62, 2**62, (3, words), generator=g, dtype=torch.int64)
    w = pool[torch.randint(0, 3, (rows,), generator=g)]
    out = engine_variant.unique_rows(Bits(w, 64 * words))
    if out is not None:
        uniq, inv = out
        assert torch.equal(uniq.words[inv], w) and uniq.words.shape[0] < w.shape[0]
    saved = dict(engine_variant._MIXERS)
    try:
        engine_variant._MIXERS[words] = torch.zeros(words, dtype=torch.int64)
        forced = engine_variant.unique_rows(Bits(w, 64 * words))
        distinct = torch.unique(w, dim=0).shape[0]
        assert forced is None or distinct == 1
    finally:
        engine_variant._MIXERS.clear()
        engine_variant._MIXERS.update(saved)
