"""A network whose answer is known, and a calibration with three V_NEG levels (for test_layers*).

The plain IF (``Calibration.ideal`` maps to it) at floors −40, −1 and 0 θ (V_NEG −20, −0.5, 0 V
with θ = 0.5 V), V_NEG energy growing with depth and zero at V_NEG = 0.

The network: hidden neurons h1 = relu(x1), h2 = relu(x2 / 2) (constant-current input: they never see
a time-varying negative input, so any floor gives them NMP's spikes), output o0 = 4 h1 − 8 h2,
o1 = 0.03 (a bias). Class 0: x1 = x2 + 0.05 (o0 wins); class 1: x2 = x1 + 0.3 (o1 wins while o0
keeps the negative charge of h2's spikes; at ZMP the clamp throws it away and o0 fires on h1's
spikes, so class 1 is lost). So the hidden layer can live at ZMP and the output layer cannot.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from calib import Calibration


def three_level_calibration() -> Calibration:
    base = Calibration.ideal(v_th_volts=0.5)
    vs = (-20.0, -0.5, 0.0)
    return replace(base, floor_v_neg_volts=vs, floor_v_mem_min_volts=vs,
                   energy_v_neg_volts=vs, e_spike_vneg_joules=(2e-13, 1e-13, 0.0),
                   p_static_vneg_watts=(2e-9, 1e-9, 0.0))


def known_network(n: int = 200, seed: int = 0):
    import cosim

    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    base = 0.3 + 0.3 * torch.rand(n, generator=g)
    x = torch.stack([base + 0.05 * (y == 0), base + 0.3 * (y == 1)], 1)
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.5]]))
        model[0].bias.zero_()
        model[2].weight.copy_(torch.tensor([[4.0, -8.0], [0.0, 0.0]]))
        model[2].bias.copy_(torch.tensor([0.0, 0.03]))
    net = cosim.convert(model.eval(), x, percentile=100.0)
    return net, x, y
