"""Every schedule of cosim.simulate equals an independent step-by-step reference, exactly.

Weights, inputs, thresholds, gains and transfer curves sit on a dyadic grid (multiples of small
powers of two, small magnitudes), so every sum is exact in float32 and any summation order gives
the same bits: equality, not closeness, is required.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn

import cosim
from tests.cosim.cosim_reference import (
    RefNeuron,
    check_floor_statistics,
    layer_shapes,
    membrane_predictions,
    poisson_train,
    run_reference,
)
from tests.cosim.strategies import architectures, dyadic_, neuron_params

torch.set_num_threads(1)


def _check_equal(res, ref, shapes):
    assert len(res.spike_counts) == len(ref["counts"])
    for i, (a, b) in enumerate(zip(res.spike_counts, ref["counts"], strict=True)):
        assert tuple(a.shape[1:]) == shapes[i]
        assert torch.equal(a.long(), b.long()), f"layer {i} spike counts differ"
    assert torch.equal(res.output_spikes, ref["out_spikes"])
    assert torch.equal(res.output_counts.long(), ref["counts"][-1].long())
    check_floor_statistics(res, ref)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=architectures(), data=st.data())
def test_every_schedule_equals_reference(arch, data):
    model, shape_in, seed = arch
    g = torch.Generator().manual_seed(seed + 1)
    B = data.draw(st.integers(1, 5), label="B")
    T = data.draw(st.integers(1, 24), label="T")
    lo = data.draw(st.sampled_from([0, -8]), label="input low")
    x = torch.randint(lo, 17, (B, *shape_in), generator=g).float() / 16
    shapes = layer_shapes(model, shape_in)
    lower_bound = data.draw(st.sampled_from([None, 0.0, -0.25, -0.5, -1.0, -2.0, 0.25]),
                            label="lb")
    reset = data.draw(st.sampled_from(["subtract", "zero"]), label="reset")
    calibrated = data.draw(st.booleans(), label="calibrated")
    if calibrated:
        ps = [data.draw(neuron_params(s, g), label=f"neuron{i}") for i, s in enumerate(shapes)]
        neurons = [cosim.IFNeuron(lower_bound=lower_bound, reset=reset, **p) for p in ps]
        refs = [RefNeuron(lower_bound=lower_bound, reset=reset, **p) for p in ps]
        kw = dict(neuron=neurons)
    else:
        refs = [RefNeuron(lower_bound=lower_bound, reset=reset)] * len(shapes)
        kw = dict(lower_bound=lower_bound, reset=reset)
    kw |= dict(schedule=data.draw(st.sampled_from(["auto", "dense", "sparse"]), label="sched"),
               time_block=data.draw(st.integers(1, 5), label="time_block"),
               chunk_size=data.draw(st.sampled_from([None, 1, 2, 3]), label="chunk"),
               kernels=data.draw(st.sampled_from([None, False]), label="kernels"),
               record_floor=data.draw(st.booleans(), label="record_floor"))
    train = None
    if data.draw(st.integers(0, 3), label="poisson") == 0:
        chunk = kw["chunk_size"] or B
        kw |= dict(encoding="poisson", generator=torch.Generator().manual_seed(seed),
                   chunk_size=chunk)
        train = poisson_train(x, T, seed, chunk)
    net = cosim.convert(model)
    event(f"{len(shapes)} layers, input rank {len(shape_in)}, {kw['schedule']}, "
          f"kernels={kw['kernels']}")
    res = cosim.simulate(net, x, timesteps=T, **kw)
    ref = run_reference(model, x, T, refs, input_train=train)
    _check_equal(res, ref, shapes)
    if res.predictions_membrane is not None:
        assert torch.equal(res.predictions_membrane.long(),
                           membrane_predictions(ref["out_spikes"], ref["out_v"]))


def test_mnist_like_net_sparse_and_dense_agree_with_reference():
    """The benchmark's architecture (scaled down) with a floor: all schedules, exact."""
    g = torch.Generator().manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Conv2d(6, 8, 5), nn.ReLU(),
                          nn.Flatten(), nn.Linear(8 * 8 * 8, 40), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(40, 10)).eval()
    dyadic_(model, g)
    x = torch.randint(0, 17, (6, 1, 14, 14), generator=g).float() / 16
    ref = run_reference(model, x, 30, [RefNeuron(lower_bound=-0.5)] * 4)
    net = cosim.convert(model)
    for sched in ("auto", "dense", "sparse"):
        for kernels in (None, False):
            res = cosim.simulate(net, x, timesteps=30, lower_bound=-0.5, schedule=sched,
                                 kernels=kernels, record_floor=True)
            assert res.floor_hit_fraction[1] > 0 and res.floor_charge[1] > 0
            _check_equal(res, ref, layer_shapes(model, (1, 14, 14)))


def test_compiled_kernels_build_here():
    """The compiled kernels must build where the tests run (gcc + ninja are project needs)."""
    from cosim import kernels

    assert kernels.load() is not None, kernels.status()


@pytest.mark.parametrize("kernels", [None, False])
@pytest.mark.parametrize(("stride", "padding", "dilation"),
                         [(1, 0, 1), (2, 1, 1), (1, 2, 2), (2, 0, 2), ((1, 2), (0, 1), (2, 1))])
def test_event_driven_conv_any_stride_padding_dilation(stride, padding, dilation, kernels):
    g = torch.Generator().manual_seed(7)
    model = nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(5, 18, 3, stride=stride, padding=padding, dilation=dilation),
                          nn.ReLU(), nn.Flatten(), nn.LazyLinear(4)).eval()
    model(torch.zeros(1, 2, 9, 9))  # materialize the lazy layer
    dyadic_(model, g)
    model = nn.Sequential(*model)  # plain Linear now
    x = torch.randint(0, 17, (3, 2, 9, 9), generator=g).float() / 16
    ref = run_reference(model, x, 12, [RefNeuron(lower_bound=-1.0)] * 3)
    res = cosim.simulate(cosim.convert(model), x, timesteps=12, lower_bound=-1.0,
                         schedule="sparse", kernels=kernels)
    _check_equal(res, ref, layer_shapes(model, (2, 9, 9)))
    if kernels is None:
        assert "dense calls 0, event-driven calls 2" in res.schedule["3"]
