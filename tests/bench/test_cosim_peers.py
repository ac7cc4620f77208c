"""bench/cosim_peers.plain_torch_loop (the benchmark's plain baseline) is cosim.neuron.if_step:
the same currents (the same module calls on the same layouts) through an if_step loop give the
loop's spike counts bit for bit, with arbitrary float weights, with and without a floor."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cosim.neuron import IFNeuron, IFState, if_step

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from cosim_peers import plain_torch_loop  # noqa: E402


def _if_step_loop(layers, x, T, floor):
    conv1, conv2, fc1, fc2 = layers
    conv2 = conv2.to(memory_format=torch.channels_last)
    neuron = IFNeuron(lower_bound=floor)
    with torch.no_grad():
        i1 = conv1(x.contiguous(memory_format=torch.channels_last))
        states = [None] * 4
        counts = [None] * 4
        for _ in range(T):
            cur = i1
            for k, nxt in enumerate((lambda s: conv2(s), lambda s: fc1(s.flatten(1)), fc2,
                                     None)):
                st = states[k] if states[k] is not None else IFState(torch.zeros_like(cur))
                s, states[k] = if_step(st, cur, neuron)
                counts[k] = s if counts[k] is None else counts[k] + s
                if nxt is not None:
                    cur = nxt(s)
    return counts


@pytest.mark.parametrize(("seed", "floor", "grid"), [
    (0, None, False), (1, 0.0, False), (2, -0.5, False), (3, None, True), (4, -0.5, True)])
def test_plain_loop_is_if_step(seed, floor, grid):
    """grid: weights and inputs in multiples of 1/16 (exact sums: v lands on θ exactly)."""
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3), nn.Conv2d(4, 6, 5), nn.Linear(6 * 5 * 5, 20), nn.Linear(20, 5)]
    with torch.no_grad():
        for m in layers:
            m.weight.mul_(2.5)
            if grid:
                m.weight.copy_((m.weight * 16).round() / 16)
                m.bias.copy_((m.bias * 16).round() / 16)
    x = torch.rand(6, 1, 11, 11) * 1.5
    if grid:
        x = (x * 16).round() / 16
    ours = _if_step_loop(layers, x, 17, floor)
    loop = plain_torch_loop(layers, x, 17, chunk=6, floor=floor)
    assert sum(int(c.sum()) for c in loop) > 0
    for a, b in zip(ours, loop, strict=True):
        assert torch.equal(a, b)
