"""cosim.substepped against an independent sub-step reference (float64, written from the spec on
the original torch modules: a step of T is n sub-steps; a layer's constant part, seg(0), and the
first layer's whole current are divided by n, spikes delivered as impulses; the transfer curve
is evaluated as T(n·u)/n with its flat tail extended linearly), on a dyadic grid where every sum
is exact; and n = 1 is the step model itself (its curve's flat tail kept)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from cosim import IFNeuron, SimulationInputError, convert, simulate, substepped
from cosim.substep import substep_neuron, substep_transfer
from tests.cosim.cosim_reference import RefNeuron, interp, ref_step, segments


def _rising(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The curve without its flat tail: up to the last knot where ys still rises."""
    last = max(j for j in range(1, ys.numel()) if ys[j] > ys[j - 1])
    return xs[:last + 1], ys[:last + 1]


def ref_substeps(model: nn.Module, x: torch.Tensor, timesteps: int, n: int,
                 neurons: list[IFNeuron]) -> list[torch.Tensor]:
    """Per-layer spike counts over ``timesteps`` steps of ``n`` sub-steps each."""
    segs = segments(model.double())
    apply = [lambda h, seg=seg: _seq(seg, h) for seg in segs]
    plain = [RefNeuron(threshold=u.threshold, lower_bound=u.lower_bound, reset=u.reset,
                       refractory_steps=u.refractory_steps * n) for u in neurons]
    v, r, counts = [None] * len(segs), [None] * len(segs), [None] * len(segs)
    with torch.no_grad():
        for _ in range(timesteps * n):
            h = x.double()
            for i, f in enumerate(apply):
                zero = f(torch.zeros_like(h))
                cur = f(h) / n if i == 0 else (f(h) - zero) + zero / n
                u = neurons[i]
                cur = cur * torch.as_tensor(u.gain, dtype=torch.float64)
                if u.transfer is not None:  # n = 1 is the step model itself: its flat tail kept
                    xs, ys = u.transfer[0].double(), u.transfer[1].double()
                    xs, ys = (xs, ys) if n == 1 else _rising(xs, ys)
                    cur = interp(n * cur, xs, ys) / n
                if v[i] is None:
                    v[i], counts[i] = torch.zeros_like(cur), torch.zeros_like(cur)
                    r[i] = torch.zeros_like(cur, dtype=torch.long)
                s, v[i], r[i], _ = ref_step(v[i], r[i], cur, plain[i])
                counts[i] = counts[i] + s.double()
                h = s.double()
    return counts


def _seq(seg: list[nn.Module], h: torch.Tensor) -> torch.Tensor:
    for m in seg:
        h = m(h)
    return h


def _dyadic_model(g: torch.Generator) -> nn.Module:
    model = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 7), nn.ReLU(),
                          nn.Linear(7, 4))
    with torch.no_grad():
        for lin in model[0::2]:
            lin.weight.copy_(torch.randint(-12, 13, lin.weight.shape, generator=g) / 16.0)
            lin.bias.copy_(torch.randint(-3, 4, lin.bias.shape, generator=g) / 16.0)
    return model


TRANSFER = (torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0, 20.0]),
            torch.tensor([-0.75, 0.0, 0.5, 0.75, 1.25, 1.25]))  # slopes 3/4, 1, 1/2, 1/2, flat


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.sampled_from([1, 2, 4, 8]),
       lb=st.sampled_from([None, 0.0, -0.5]), calibrated=st.booleans(),
       refractory=st.sampled_from([0, 1]), reset=st.sampled_from(["subtract", "zero"]))
@example(seed=1245, n=1, lb=None, calibrated=True, refractory=1, reset="subtract")  # flat tail
def test_substepped_network_equals_the_sub_step_reference(seed, n, lb, calibrated, refractory,
                                                          reset):
    g = torch.Generator().manual_seed(seed)
    model = _dyadic_model(g)
    x = torch.randint(0, 17, (2, 6), generator=g) / 16.0
    net = convert(model, None)  # no normalization: the weights as set
    if calibrated:
        neurons = [IFNeuron(lower_bound=lb, reset=reset, transfer=TRANSFER,
                            gain=float(torch.randint(3, 6, (), generator=g)) / 4,
                            threshold=float(torch.randint(3, 6, (), generator=g)) / 4,
                            refractory_steps=refractory) for _ in range(3)]
    else:
        neurons = [IFNeuron(lower_bound=lb, reset=reset, refractory_steps=refractory)] * 3
    fine, neu = substepped(net, neurons, n)
    res = simulate(fine, x, timesteps=12 * n, neuron=neu)
    ref = ref_substeps(model, x, 12, n, neurons)
    for i, (a, b) in enumerate(zip(res.spike_counts, ref, strict=True)):
        assert torch.equal(a.long(), b.long()), (i, n, a, b)


def test_one_substep_is_the_step_model_itself():
    g = torch.Generator().manual_seed(0)
    net = convert(_dyadic_model(g), None)
    neu = IFNeuron(lower_bound=0.0, transfer=TRANSFER, refractory_steps=2)
    assert substepped(net, neu, 1) == (net, neu)
    fine, same = substepped(net, [neu] * 3, 1)
    assert fine is net and same == [neu] * 3
    assert substep_neuron(neu, 1) is neu and substep_transfer(TRANSFER, 1) is TRANSFER


def test_a_constant_input_keeps_the_step_models_rate_on_the_finer_grid():
    """n · T_n(g·x/n) = T(g·x) over the measured range (the derivation's identity); the tail is
    the last rising segment extended (an impulse keeps its charge)."""
    for n in (2, 8, 16):
        xs_n, ys_n = substep_transfer(TRANSFER, n)
        x = torch.linspace(-1.0, 1.6, 53, dtype=torch.float64)  # gain·x <= 2: measured
        for gain in (0.75, 1.25):
            fine = n * interp(gain * x / n, xs_n.double(), ys_n.double())
            step = interp(gain * x, TRANSFER[0].double(), TRANSFER[1].double())
            assert torch.allclose(fine, step, atol=1e-12), (n, gain)
        assert float(interp(torch.tensor([1.0], dtype=torch.float64), xs_n.double(),
                            ys_n.double())) == pytest.approx((1.25 + 0.5 * (n - 2)) / n)
    neu = substep_neuron(IFNeuron(transfer=TRANSFER, refractory_steps=3, gain=0.5,
                                  threshold=1.5, lower_bound=-0.5), 4)
    assert (neu.refractory_steps, neu.gain, neu.threshold, neu.lower_bound) == (12, 0.5, 1.5,
                                                                                 -0.5)


def test_sub_steps_clamp_between_the_spikes_of_a_step():
    """ZMP: a step's inhibitory spike meets a membrane at rest before the same step's excitation
    (the circuit loses its charge at the floor); the step model nets them first."""
    a = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        a[0].weight.copy_(torch.tensor([[1.0], [0.75]]))  # fires at the end of every step /
        a[0].bias.zero_()                                  # earlier inside 6 steps of 8
        a[2].weight.copy_(torch.tensor([[0.75, -0.5]]))
        a[2].bias.zero_()
    net = convert(a, None)
    x = torch.ones(1, 1)
    step = simulate(net, x, timesteps=8, lower_bound=0.0).spike_counts[1]
    fine, neu = substepped(net, IFNeuron(lower_bound=0.0), 4)
    sub = simulate(fine, x, timesteps=32, neuron=neu).spike_counts[1]
    ref = ref_substeps(a, x, 8, 4, [IFNeuron(lower_bound=0.0)] * 2)[1]
    assert torch.equal(sub.long(), ref.long()), (sub, ref)
    assert (int(step), int(sub)) == (3, 4)


def test_bad_substeps_are_named():
    net = convert(_dyadic_model(torch.Generator().manual_seed(1)), None)
    for bad in (0, 2.0, True):
        with pytest.raises(SimulationInputError, match=f"substeps must be an int >= 1, got "
                                                       f"{bad!r}"):
            substepped(net, None, bad)


def test_a_networks_own_neurons_are_sub_stepped_too():
    """A network that carries its model (``net.neuron``, e.g. from NIR) runs sub-stepped without
    a ``neuron`` argument, equal to passing the same neurons explicitly."""
    import dataclasses

    g = torch.Generator().manual_seed(2)
    net = convert(_dyadic_model(g), None)
    own = tuple(IFNeuron(lower_bound=0.0, transfer=TRANSFER) for _ in range(3))
    fine, neu = substepped(dataclasses.replace(net, neuron=own), None, 4)
    assert neu is None and len(fine.neuron) == 3
    assert all(torch.equal(u.transfer[0], TRANSFER[0][:-1] / 4)
               and torch.equal(u.transfer[1], TRANSFER[1][:-1] / 4) for u in fine.neuron)
    x = torch.randint(0, 17, (2, 6), generator=g) / 16.0
    a = simulate(fine, x, timesteps=40)
    f2, n2 = substepped(net, list(own), 4)
    b = simulate(f2, x, timesteps=40, neuron=n2)
    assert all(torch.equal(p, q) for p, q in zip(a.spike_counts, b.spike_counts, strict=True))
