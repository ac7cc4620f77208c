"""bench/cosim_cifar: its plain step loop and MAC count on a small all-conv net (strided 3x3,
1x1, global average pooling, as the CIFAR-10 net) on the dyadic grid, where every sum is exact:
the loop's spike counts equal ``cosim.simulate``'s, every schedule; the MACs are a hand count."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import cosim

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from cosim_cifar import Ops, macs, plain_loop  # noqa: E402


def _allconv() -> nn.Sequential:
    g = torch.Generator().manual_seed(11)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Conv2d(16, 16, 1), nn.ReLU(),
                          nn.Conv2d(16, 5, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-12, 13, p.shape, generator=g).float() / 16)
    return model


@pytest.mark.parametrize("schedule", ["sparse", "dense"])
def test_plain_loop_equals_simulate_on_the_dyadic_grid(schedule):
    from cosim.convert import resolve_shapes

    net = resolve_shapes(cosim.convert(_allconv()), (3, 10, 10))
    x = torch.randint(-8, 17, (3, 3, 10, 10), generator=torch.Generator().manual_seed(2)) / 16
    mods = [Ops(ly.ops) for ly in net.layers]
    loop = plain_loop(mods, x, 14, chunk=2)
    res = cosim.simulate(net, x, timesteps=14, schedule=schedule)
    assert sum(int(c.sum()) for c in loop) > 0
    for a, b in zip(res.spike_counts, loop, strict=True):
        assert torch.equal(a.reshape(a.shape[0], -1).float(), b.reshape(b.shape[0], -1))


def test_macs_are_the_hand_count():
    from cosim.convert import resolve_shapes

    net = resolve_shapes(cosim.convert(_allconv()), (3, 10, 10))
    # 3->8 3x3 on 10x10; 8->8 3x3/2 -> 5x5; 8->16 3x3 valid -> 3x3; 16->16 1x1; 16->5 1x1
    assert macs(net) == [8 * 27 * 100, 8 * 72 * 25, 16 * 72 * 9, 16 * 16 * 9, 5 * 16 * 9]
