"""NIR interop in numbers: spike counts here vs in each peer, both directions, on float data.

    python bench/nir_interop.py [--samples 32] [--timesteps 100]

Peers run their own step loops on the graphs they export or import (tests/cosim/
test_nir_peers.py has the semantics each needs and the exact, dyadic versions of these checks).
Prints, per peer and direction: neurons × samples compared, spikes counted, counts that differ.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

# the repository root first: bench/cosim.py would shadow the cosim package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cosim import IFNeuron, convert, from_nir, simulate, to_nir  # noqa: E402
from tests.cosim.test_nir_peers import GT, fill_, norse_run, sinabs_run, sj_run  # noqa: E402


def _row(name: str, peer: list[torch.Tensor], ours) -> None:
    n = spikes = bad = 0
    for a, b in zip(peer, ours.spike_counts, strict=True):
        a = a.reshape(b.shape).long()
        n, spikes = n + a.numel(), spikes + int(a.sum())
        bad += int((a != b.long()).sum())
    print(f"{name:34s} {n:>9d} {spikes:>11d} {bad:>9d}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--timesteps", type=int, default=100)
    a = ap.parse_args()
    B, T = a.samples, a.timesteps
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(B, 1, 16, 16, generator=g)
    print(f"{'peer / direction':34s} {'neurons':>9s} {'spikes':>11s} {'differ':>9s}")

    from spikingjelly.activation_based import layer, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir, import_from_nir
    sj = fill_(nn.Sequential(layer.Conv2d(1, 8, 3, padding=1), neuron.IFNode(v_reset=0.0),
                             layer.AvgPool2d(2), layer.Conv2d(8, 8, 3), neuron.IFNode(v_reset=0.0),
                             layer.Flatten(), layer.Linear(288, 10), neuron.IFNode(v_reset=0.0)),
               g, dyadic=False)
    gm = import_from_nir(export_to_nir(sj, x[:1], dt=1.0), dt=1.0)  # its own run of its graph
    _row("SpikingJelly -> nmpkit (zero)", sj_run(gm, x, T),
         simulate(from_nir(export_to_nir(sj, x[:1], dt=1.0)), x, timesteps=T, reset="zero"))
    model = fill_(nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                                nn.Conv2d(8, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                nn.Flatten(), nn.Linear(8, 10)), g, dyadic=False)
    net = convert(model, x)
    for reset in ("subtract", "zero"):
        gm = import_from_nir(to_nir(net, IFNeuron(reset=reset)), dt=1.0)
        for m in gm.modules():
            if type(m).__name__ == "IFNode" and reset == "subtract":
                m.v_reset = None
        _row(f"nmpkit -> SpikingJelly ({reset})", sj_run(gm, x, T),
             simulate(net, x, timesteps=T, reset=reset))

    import sinabs.layers as sl
    from sinabs import nir as snir
    from sinabs.activation import SingleSpike
    for floor in (None, 0.0, -0.5):
        m = fill_(nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike,
                                                         min_v_mem=floor),
            sl.SumPool2d(2), nn.Flatten(), nn.Linear(512, 10),
            sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike, min_v_mem=floor)), g, False)
        _row(f"sinabs -> nmpkit (floor {floor})", sinabs_run(m, x, T),
             simulate(from_nir(snir.to_nir(m, x)), x, timesteps=T, lower_bound=floor))
        flat = convert(fill_(nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                                           nn.Flatten(), nn.Linear(2048, 10)), g, False), x)
        peer = snir.from_nir(to_nir(flat, IFNeuron(lower_bound=floor)), batch_size=B)
        for mod in peer.modules():
            if isinstance(mod, sl.IAFSqueeze):
                mod.spike_fn = SingleSpike
                mod.min_v_mem = None if floor is None else nn.Parameter(
                    floor * mod.spike_threshold.data, requires_grad=False)
        _row(f"nmpkit -> sinabs (floor {floor})", sinabs_run(peer, x, T),
             simulate(flat, x, timesteps=T, lower_bound=floor))

    import norse.torch as nt
    xf = x.reshape(B, -1)
    nm = fill_(nt.SequentialState(nn.Linear(256, 64), nt.IAFCell(), nn.Linear(64, 10),
                                  nt.IAFCell()), g, False)
    _row("Norse -> nmpkit (zero, >)", norse_run(nm, xf, T),
         simulate(from_nir(nt.to_nir(nm, xf[:1])), xf, timesteps=T,
                  neuron=IFNeuron(threshold=GT, reset="zero")))
    mlp = convert(fill_(nn.Sequential(nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10)), g,
                        False), xf)
    _row("nmpkit -> Norse (zero, >=)", norse_run(nt.from_nir(to_nir(mlp, IFNeuron(
        reset="zero"))), xf, T), simulate(mlp, xf, timesteps=T, reset="zero"))


if __name__ == "__main__":
    main()
