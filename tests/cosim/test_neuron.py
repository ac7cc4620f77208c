"""IFNeuron validation, the transfer curve, and if_step: against the float64 reference on the
dyadic grid, and the engine's in-place torch step against if_step bit for bit."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim.engine_parts import if_block as _if_block
from cosim.neuron import IFNeuron, IFState, StepParams, apply_transfer, if_step
from tests.cosim.cosim_reference import RefNeuron, ref_step


@pytest.mark.parametrize(("kwargs", "field"), [
    (dict(threshold=0.0), "threshold"),
    (dict(threshold=float("nan")), "threshold"),
    (dict(threshold=torch.tensor([1.0, -1.0])), "threshold"),
    (dict(gain=-1.0), "gain"),
    (dict(gain=torch.tensor([float("inf")])), "gain"),
    (dict(lower_bound=1.0), "lower_bound"),
    (dict(lower_bound=0.25, v_init=-0.1), "v_init"),
    (dict(lower_bound=float("-inf")), "lower_bound"),
    (dict(reset="hold"), "reset"),
    (dict(refractory_steps=-1), "refractory_steps"),
    (dict(refractory_steps=1.5), "refractory_steps"),
    (dict(transfer=(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 1.0]))), "increasing"),
    (dict(transfer=(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]))), "monotone"),
    (dict(transfer=(torch.tensor([0.0]), torch.tensor([1.0]))), "length"),
])
def test_bad_fields_are_named(kwargs, field):
    with pytest.raises(ValueError, match=field):
        IFNeuron(**kwargs)


def test_frozen_and_ideal():
    n = IFNeuron()
    assert n.is_ideal and n.lower_bound is None and n.reset == "subtract"
    with pytest.raises(dataclasses.FrozenInstanceError):
        n.threshold = 2.0  # type: ignore[misc]
    assert not IFNeuron(gain=torch.ones(3)).is_ideal


def test_transfer_interpolates_and_extrapolates_linearly():
    xs, ys = torch.tensor([0.0, 1.0, 3.0]), torch.tensor([0.0, 2.0, 3.0])
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0])
    assert apply_transfer(x, xs, ys).tolist() == [-2.0, 0.0, 1.0, 2.0, 2.5, 3.0, 4.0]


# ---------------------------------------------------------------- if_step, the specification

@st.composite
def step_cases(draw):
    """A layer of n neurons, T steps of currents and a neuron; all on a dyadic grid (every
    float32 operation exact) when dyadic, else arbitrary floats."""
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    n, T = draw(st.integers(1, 40)), draw(st.integers(1, 25))
    currents = torch.randint(-24, 41, (T, n), generator=g).float() / 16
    threshold = draw(st.sampled_from(["one", "scalar", "tensor"]))
    th = {"one": 1.0, "scalar": 0.75,
          "tensor": torch.randint(8, 33, (n,), generator=g).float() / 16}[threshold]
    gain = draw(st.sampled_from(["one", "scalar", "tensor"]))
    gn = {"one": 1.0, "scalar": 0.5,
          "tensor": torch.randint(2, 9, (n,), generator=g).float() / 4}[gain]
    transfer = None
    if draw(st.booleans()):
        xs = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0, 4.0])
        steps = torch.tensor(draw(st.lists(st.integers(0, 6), min_size=5, max_size=5))) / 4
        transfer = (xs, torch.cat([torch.tensor([-1.0]), -1.0 + steps.cumsum(0)]))
    fields = dict(threshold=th, gain=gn, transfer=transfer,
                  lower_bound=draw(st.sampled_from([None, 0.0, -0.25, -0.5, -2.0, 0.25])),
                  reset=draw(st.sampled_from(["subtract", "zero"])),
                  refractory_steps=draw(st.sampled_from([0, 1, 3])))
    return currents, fields


@settings(max_examples=200, deadline=None)
@given(case=step_cases())
def test_if_step_equals_the_float64_reference_on_the_dyadic_grid(case):
    currents, fields = case
    neuron = IFNeuron(**fields)
    ref = RefNeuron(**fields)
    n = currents.shape[1]
    state = IFState(torch.zeros(n), None, torch.zeros(n))
    v_ref, r_ref = torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.long)
    for t in range(currents.shape[0]):
        d_before = state.d
        spikes, state = if_step(state, currents[t], neuron)
        s_ref, v_ref, r_ref, c_ref = ref_step(v_ref, r_ref, currents[t], ref)
        charge = state.d - d_before  # this step's discarded charge (absolute)
        assert torch.equal(charge.double() / torch.as_tensor(fields["threshold"]).double(),
                           c_ref), f"step {t}: discarded charge differs"
        assert torch.equal(spikes.bool(), s_ref), f"step {t}: spikes differ"
        assert torch.equal(state.v.double(), v_ref), f"step {t}: membrane differs"
        if neuron.refractory_steps:
            assert torch.equal(state.r.long(), r_ref)


def test_if_step_is_pure_and_returns_the_state():
    v = torch.tensor([0.5, 0.9, -3.0])
    r = torch.tensor([0, 1, 0], dtype=torch.int32)
    x = torch.tensor([0.6, 5.0, -1.0])
    before = (v.clone(), r.clone(), x.clone())
    p = IFNeuron(lower_bound=-2.0, refractory_steps=2)
    spikes, state = if_step(IFState(v, r), x, p)
    assert all(torch.equal(a, b) for a, b in zip((v, r, x), before, strict=True))
    assert spikes.tolist() == [1.0, 0.0, 0.0]  # neuron 1 is refractory: its 5.0 is discarded
    assert state.v.tolist() == pytest.approx([0.1, 0.9, -2.0])  # floor -2 θ
    assert state.r.tolist() == [2, 0, 0]
    s2, v2 = if_step(torch.tensor([1.5]), torch.tensor([0.0]), IFNeuron(reset="zero"))
    assert s2.tolist() == [1.0] and v2.v.tolist() == [0.0] and v2.r is None


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), const=st.booleans(), tb=st.integers(1, 9),
       kind=st.sampled_from(["plain", "calibrated"]),
       lb=st.sampled_from([None, 0.0, -0.37, 0.3]),
       reset=st.sampled_from(["subtract", "zero"]), refractory=st.sampled_from([0, 2]),
       grid=st.booleans())
def test_engine_torch_step_is_if_step_bit_for_bit(seed, const, tb, kind, lb, reset,
                                                  refractory, grid):
    """Arbitrary floats (or, with ``grid``, multiples of 1/8, so that v lands exactly on the
    threshold and the floor): the engine's in-place torch IF block performs if_step's
    operations. A floor at or below rest takes the engine's unconditional clamp, equal to the
    rule where the membrane is at or above the floor (every state a simulation reaches); a
    floor above rest (0.3, or 0.25 on the grid) takes the gated one from any state."""
    g = torch.Generator().manual_seed(seed)
    b, n = 3, 37
    cal = kind == "calibrated"
    q = (lambda t: (t * 8).round() / 8) if grid else (lambda t: t)
    neuron = IFNeuron(
        threshold=q(torch.rand(n, generator=g) * 0.8 + 0.6) if cal else 1.0,
        gain=q(torch.rand(n, generator=g) * 1.5 + 0.2) if cal else 1.0,
        lower_bound={-0.37: -0.5, 0.3: 0.25}.get(lb, lb) if grid else lb,
        reset=reset, refractory_steps=refractory,
        transfer=(torch.sort(torch.randn(9, generator=g)).values + torch.arange(9) * 1e-3,
                  torch.cumsum(torch.rand(9, generator=g), 0) - 1.0) if cal else None)
    p = StepParams.of(neuron)
    cur = q(torch.randn((b, n) if const else (tb, b, n), generator=g) * 1.2 + 0.3)
    v0 = q(torch.randn((b, n), generator=g) * 0.5)
    if neuron.lower_bound is not None and neuron.lower_bound <= 0:  # reachable states only
        v0 = torch.maximum(v0, neuron.lower_bound * torch.as_tensor(neuron.threshold))
    r0 = torch.randint(0, 3, (b, n), generator=g, dtype=torch.int32) if refractory else None
    v, r = v0.clone(), None if r0 is None else r0.clone()
    d = torch.zeros((b, n)) if lb is not None else None
    spikes = torch.empty((tb, b, n))
    _if_block(cur, const, v, r, d, p, spikes)
    state = IFState(v0, r0, None if d is None else torch.zeros((b, n)))
    for t in range(tb):
        s, state = if_step(state, cur if const else cur[t], p)
        assert torch.equal(s, spikes[t])
    assert torch.equal(state.v, v)
    if refractory:
        assert torch.equal(state.r, r)
    if lb is not None:
        assert torch.equal(state.d, d)


def test_a_floor_above_rest_binds_only_under_inhibition():
    """Hand count: floor 0.25 θ above rest. A reset may leave the membrane below it and
    excitation (or no input) keeps it there; an inhibitory step is held at, or lifted to, it."""
    p = IFNeuron(lower_bound=0.25)
    state = IFState(torch.zeros(1), None, torch.zeros(1))
    trace = []
    for x in (1.125, 0.0, -0.0625, 0.5, -1.0):
        s, state = if_step(state, torch.tensor([x]), p)
        trace.append((s.item(), state.v.item(), state.d.item()))
    assert trace == [(1.0, 0.125, 0.0), (0.0, 0.125, 0.0), (0.0, 0.25, 0.1875),
                     (0.0, 0.75, 0.1875), (0.0, 0.25, 0.6875)]


@settings(max_examples=50, deadline=None)
@given(x=st.integers(1, 8), steps=st.integers(1, 200), lb=st.sampled_from([0.0, 0.125, 0.5]))
def test_excitation_never_meets_a_floor(x, steps, lb):
    """Physics: under a constant excitatory input x <= θ (in eighths of θ) any floor, above
    rest or not, leaves the ideal IF's count floor(steps * x / 8) (rate = I / θ) and discards
    nothing."""
    p = IFNeuron(lower_bound=lb)
    state, count = IFState(torch.zeros(1), None, torch.zeros(1)), 0.0
    for _ in range(steps):
        s, state = if_step(state, torch.tensor([x / 8]), p)
        count += s.item()
    assert count == (steps * x) // 8 and state.d.item() == 0.0
