"""What the exactness tests of cosim share: the dyadic grid (weights, inputs and neuron
parameters that are multiples of small powers of two, so every float32 sum is exact in any order),
hypothesis strategies for random architectures and neuron parameters on it, and the bit-for-bit
comparison of two simulation results."""

from __future__ import annotations

import torch
from hypothesis import strategies as st
from torch import nn

import cosim


def dyadic_(model: nn.Module, g: torch.Generator, scale: int = 16) -> None:
    """Every parameter of ``model`` set in place to k / ``scale``, k in -12..12 (exact sums)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-12, 13, p.shape, generator=g).float() / scale)


@st.composite
def architectures(draw):
    """A random small chain: conv/convT/pool blocks then linear layers, with its input shape."""
    seed = draw(st.integers(0, 2**31 - 1))
    if draw(st.booleans()):
        n = draw(st.integers(2, 12))
        mods, shape = [], (n,)
        shape_in = shape
    else:
        c, hw = draw(st.integers(1, 2)), draw(st.integers(4, 9))
        mods, shape = [], (c, hw, hw)
        for _ in range(draw(st.integers(1, 3))):
            cout = draw(st.integers(1, 4))
            kind = draw(st.sampled_from(["conv", "conv", "convT", "pool_conv"]))
            if kind == "convT":
                s, k = draw(st.integers(1, 2)), draw(st.integers(2, 3))
                pad = draw(st.integers(0, 1)) if (shape[1] - 1) * s + k > 2 else 0
                mods.append(nn.ConvTranspose2d(shape[0], cout, k, stride=s, padding=pad,
                                               output_padding=draw(st.integers(0, s - 1))))
            else:
                if kind == "pool_conv" and shape[1] >= 4:
                    mods.append(nn.AvgPool2d(2))
                    shape = (shape[0], shape[1] // 2, shape[2] // 2)
                pad = draw(st.integers(0, 1))
                k = draw(st.integers(1, min(3, shape[1] + 2 * pad)))
                dil = draw(st.integers(1, 2)) if (k - 1) * 2 + 1 <= shape[1] + 2 * pad else 1
                mods.append(nn.Conv2d(shape[0], cout, k, stride=draw(st.integers(1, 2)),
                                      padding=pad, dilation=dil))
            mods.append(nn.ReLU())
            with torch.no_grad():
                shape = tuple(nn.Sequential(*mods)(torch.zeros(1, c, hw, hw)).shape[1:])
            if shape[1] > 10:
                mods.append(nn.AvgPool2d(2))
                mods.append(nn.ReLU())  # a spiking pooling layer of its own
                shape = (shape[0], shape[1] // 2, shape[2] // 2)
        if shape[1] in (1, 2, 4) and shape[1] == shape[2] and draw(st.booleans()):
            mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            shape = (shape[0],)
        else:
            mods.append(nn.Flatten())
            shape = (shape[0] * shape[1] * shape[2],)
        shape_in = (c, hw, hw)
    hidden = draw(st.integers(0, 2))
    for _ in range(hidden):
        width = draw(st.integers(1, 8))
        mods += [nn.Linear(shape[0], width), nn.ReLU()]
        if draw(st.booleans()):
            mods.append(nn.Dropout(0.5))
        shape = (width,)
    mods.append(nn.Linear(shape[0], draw(st.integers(1, 5))))
    if draw(st.booleans()):  # nested Sequentials
        mid = len(mods) // 2
        model = nn.Sequential(nn.Sequential(*mods[:mid]), nn.Sequential(*mods[mid:]))
    else:
        model = nn.Sequential(*mods)
    dyadic_(model, torch.Generator().manual_seed(seed))
    return model.eval(), shape_in, seed


@st.composite
def neuron_params(draw, shape, g):
    """IFNeuron keyword arguments on the dyadic grid: per-neuron thresholds and gains, a
    piecewise-linear transfer curve, a refractory time and a start membrane (v_init >= 0, so any
    floor <= 0 admits it), each drawn or left at the default."""
    threshold = 1.0
    if draw(st.booleans()):
        threshold = torch.randint(8, 33, shape, generator=g).float() / 16
    gain = 1.0
    if draw(st.integers(0, 3)) == 0:
        gain = torch.randint(2, 9, shape, generator=g).float() / 4
    transfer = None
    if draw(st.integers(0, 3)) == 0:
        xs = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0, 4.0])
        steps = torch.tensor(draw(st.lists(st.integers(0, 6), min_size=5, max_size=5))) / 4
        ys = torch.cat([torch.tensor([-1.0]), -1.0 + steps.cumsum(0)])
        transfer = (xs, ys)
    return dict(threshold=threshold, gain=gain, transfer=transfer,
                refractory_steps=draw(st.sampled_from([0, 0, 1, 2])),
                v_init=draw(st.sampled_from([0.0, 0.0, 0.25, 0.5])))


def assert_same_result(a: cosim.SimulationResult, b: cosim.SimulationResult, what: str) -> None:
    """Every output of two runs bit for bit: spike counts, output train, membrane predictions,
    synaptic and input events, floor statistics (where recorded)."""
    for i, (ca, cb) in enumerate(zip(a.spike_counts, b.spike_counts, strict=True)):
        assert torch.equal(ca, cb), f"{what}: layer {i} spike counts differ"
    assert torch.equal(a.output_spikes, b.output_spikes), f"{what}: output spikes differ"
    if b.predictions_membrane is not None:
        assert torch.equal(a.predictions_membrane, b.predictions_membrane), what
    for sa, sb in zip(a.synaptic_events, b.synaptic_events, strict=True):
        assert torch.equal(sa, sb), f"{what}: synaptic events differ"
    assert torch.equal(a.input_synaptic_events, b.input_synaptic_events), what
    if b.floor_discarded is not None:
        for fa, fb in zip(a.floor_discarded, b.floor_discarded, strict=True):
            assert torch.equal(fa, fb), f"{what}: floor charge differs"
        for ha, hb in zip(a.floor_hits, b.floor_hits, strict=True):
            assert torch.equal(ha, hb), f"{what}: floor hits differ"
