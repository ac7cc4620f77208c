"""SimulationResult readouts against hand counts, and ANN ≈ SNN rates after conversion."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cosim

torch.set_num_threads(1)


def _identity_net(n: int) -> cosim.SpikingNetwork:
    lin = nn.Linear(n, n, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(n))
    return cosim.convert(nn.Sequential(lin))


def test_output_of_constant_currents_is_a_hand_count():
    # one IF layer with identity weights: input 0.25 spikes at t = 4, 8, ...; 0.5 at 2, 4, ...
    net = _identity_net(3)
    x = torch.tensor([[0.25, 0.5, 0.0], [0.5, 0.25, 1.0]])
    res = cosim.simulate(net, x, timesteps=8)
    assert res.output_counts.tolist() == [[2, 4, 0], [4, 2, 8]]
    assert res.output_spikes[:, 0, 1].tolist() == [False, True] * 4
    acc = res.accuracy_per_step(torch.tensor([1, 2]))
    # t=1: sample 0 no spikes → class 0 (wrong); sample 1 only class 2 fired → right
    assert acc.tolist() == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert res.layer_rates == pytest.approx(((2 + 4 + 4 + 2 + 8) / 6 / 8,))
    assert res.synaptic_event_totals == (0,)  # the output layer has no fan-out
    # structural synapses: every input reaches all 3 outputs (zero weights included)
    assert res.input_synaptic_events.tolist() == [2 * 3 * 8, 3 * 3 * 8]


def test_ties_first_vs_membrane():
    net = _identity_net(2)
    x = torch.tensor([[0.25, 0.375]])  # no spike until t=3; class 1 always integrates more
    res = cosim.simulate(net, x, timesteps=3)
    assert res.accuracy_per_step(torch.tensor([1])).tolist() == [0.0, 0.0, 1.0]
    assert res.accuracy_per_step(torch.tensor([1]), ties="membrane").tolist() == [1.0] * 3


def test_mse_per_step_decodes_rate_times_scale():
    lin = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(2))
    x = torch.tensor([[0.5, 1.0]])
    net = cosim.convert(nn.Sequential(lin), x, percentile=100)  # scale = 1.0 (max output)
    res = cosim.simulate(net, x, timesteps=4)
    # rates after t=1..4: [0,1], [.5,1], [1/3,1], [.5,1]; target = ANN output [0.5, 1]
    mse = res.mse_per_step(x)
    expected = [((0 - .5) ** 2) / 2, 0.0, ((1 / 3 - .5) ** 2) / 2, 0.0]
    assert mse.tolist() == pytest.approx(expected)
    with pytest.raises(cosim.SimulationInputError, match="targets"):
        res.mse_per_step(torch.zeros(3))


def test_converted_rates_track_ann_activations():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 16),
                          nn.ReLU(), nn.Linear(16, 4)).eval()
    x = torch.rand(16, 1, 8, 8, generator=g)
    net = cosim.convert(model, x, percentile=100)
    res = cosim.simulate(net, x, timesteps=400, record_ann=True)
    ann, rate = res.correlation(0)
    assert torch.allclose(rate, ann.clamp(max=1), atol=0.01)
    ann, rate = res.correlation(1)
    assert torch.allclose(rate, ann.clamp(max=1), atol=0.06)
    assert res.accuracy_per_step(model(x).argmax(1))[-1] >= 0.9


def test_labels_must_match_batch():
    res = cosim.simulate(_identity_net(2), torch.zeros(3, 2), timesteps=2)
    with pytest.raises(cosim.SimulationInputError, match="labels"):
        res.accuracy_per_step(torch.zeros(2))
    with pytest.raises(cosim.SimulationInputError, match="ties"):
        res.accuracy_per_step(torch.zeros(3), ties="random")


def test_synaptic_events_are_spikes_times_fan_out():
    g = torch.Generator().manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3, stride=2),
                          nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 4)).eval()
    x = torch.rand(5, 1, 7, 7, generator=g)
    net = cosim.convert(model, x, percentile=100)
    res = cosim.simulate(net, x, timesteps=20)
    # fan-out by hand: conv2 (3x3, stride 2, no padding) on 7x7 → 3x3; each input position
    # (r, c) reaches the outputs whose window covers it, × 2 output channels
    cover = torch.zeros(7)
    for o in range(3):
        cover[2 * o:2 * o + 3] += 1
    fan0 = (cover[:, None] * cover[None, :]) * 2
    expected0 = (res.spike_counts[0].double() * fan0).sum((1, 2, 3))
    assert torch.equal(res.synaptic_events[0], expected0)
    expected1 = res.spike_counts[1].double().sum((1, 2, 3)) * 4  # Linear: 4 outputs each
    assert torch.equal(res.synaptic_events[1], expected1)
    assert torch.equal(res.synaptic_events[2], torch.zeros(5, dtype=torch.float64))


def test_concat_of_sample_chunks_equals_one_call():
    g = torch.Generator().manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-12, 13, p.shape, generator=g).float() / 16)
    x = torch.randint(0, 17, (7, 3, 4), generator=g).float() / 16
    net = cosim.convert(model)
    cfg = cosim.SimConfig(timesteps=9, neuron=cosim.IFNeuron(lower_bound=-0.5), record_ann=True,
                          record_floor=True)
    whole = cosim.simulate(net, x, cfg)
    joined = cosim.SimulationResult.concat(
        [cosim.simulate(net, x[a:b], cfg) for a, b in ((0, 2), (2, 3), (3, 7))])
    assert joined.batch_size == 7 and joined.schedule["parts"] == 3
    for name in ("output_counts", "output_spikes", "predictions_membrane",
                 "input_synaptic_events"):
        assert torch.equal(getattr(joined, name), getattr(whole, name)), name
    for name in ("spike_counts", "synaptic_events", "ann_activations", "floor_discarded",
                 "floor_hits"):
        for a, b in zip(getattr(joined, name), getattr(whole, name), strict=True):
            assert torch.equal(a, b), name
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    assert torch.equal(joined.accuracy_per_step(y), whole.accuracy_per_step(y))


def test_concat_refuses_parts_of_different_simulations():
    net = _identity_net(3)
    x = torch.rand(2, 3)
    a = cosim.simulate(net, x, timesteps=4)
    with pytest.raises(cosim.SimulationInputError, match="timesteps=5"):
        cosim.SimulationResult.concat([a, cosim.simulate(net, x, timesteps=5)])
    with pytest.raises(cosim.SimulationInputError, match="non-empty"):
        cosim.SimulationResult.concat([])


@pytest.mark.parametrize("kernels", [None, False])
def test_floor_statistics_are_a_hand_count(kernels):
    # identity weights, T = 8, threshold 2: input -0.25 under a ZMP floor loses 0.25 every step
    # (8 × 0.25 / 2 = 1.0 θ); -1.0 under the floor -0.5 θ = -1.0 loses nothing at step 1, then
    # 1.0 every step (7 × 1.0 / 2 = 3.5 θ); 0.5 never reaches a floor.
    net = _identity_net(3)
    x = torch.tensor([[-0.25, 0.5, 0.0], [-1.0, 0.5, 0.0]])
    zmp = cosim.simulate(net, x[:1], timesteps=8, kernels=kernels, record_floor=True,
                         neuron=cosim.IFNeuron(threshold=2.0, lower_bound=0.0))
    assert zmp.floor_discarded[0].tolist() == [1.0]
    assert zmp.floor_hits[0].tolist() == [1]
    assert zmp.floor_charge == (1.0 / (3 * 8),) and zmp.floor_hit_fraction == (1 / 3,)
    deep = cosim.simulate(net, x[1:], timesteps=8, kernels=kernels, record_floor=True,
                          neuron=cosim.IFNeuron(threshold=2.0, lower_bound=-0.5))
    assert deep.floor_discarded[0].tolist() == [3.5] and deep.floor_hits[0].tolist() == [1]
    nmp = cosim.simulate(net, x, timesteps=8, kernels=kernels, record_floor=True)
    assert nmp.floor_charge == (0.0,) and nmp.floor_hit_fraction == (0.0,)
    with pytest.raises(cosim.SimulationInputError, match="record_floor=True"):
        _ = cosim.simulate(net, x, timesteps=8).floor_charge
