"""Peer simulators and plain baselines running the same converted MNIST weights.

Every peer gets channels-last convs and inputs (the layout that makes oneDNN's convolution fast
here: sinabs ran at ~65% of its channels-last speed with NCHW in a check at B = 64, T = 100).
Each runner takes ``(layers, x, T, chunk)`` where ``layers`` is the converted network as four
torch modules with the normalized weights (conv1, conv2, fc1 after Flatten, fc2), ``x`` is the
(B, 1, 28, 28) input applied as a constant current every step, and returns the spike counts of
the four IF layers as a list of (B, ...) tensors. Semantics per peer:

- plain torch loop: ours exactly (single spike, v >= θ, subtract, no floor), first layer once.
- sinabs ``IAFSqueeze``: ``SingleSpike`` (v - θ >= 0), ``MembraneSubtract``, ``min_v_mem=None``
  (its ``from_model`` default of -1.0 is overridden): the same semantics as ours.
- SpikingJelly ``IFNode(v_reset=None)`` single-step: v >= θ (heaviside(x) = x >= 0), soft
  reset by subtraction: the same semantics as ours.
- snnTorch ``Leaky(beta=1, reset_mechanism="subtract")``: fires at v > θ (not >=), reset one
  step later in the update (v_t = v_{t-1} + x_t - θ·s_{t-1}): same spikes unless v hits θ
  exactly.
- Norse ``IAFCell``: v > θ and reset to zero only: compared with our ``reset="zero"`` run.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def _hook_counts(modules: list[nn.Module], b: int) -> tuple[list, list]:
    counts: list[torch.Tensor | None] = [None] * len(modules)
    handles = []
    for i, m in enumerate(modules):
        def hook(_m, _inp, out, i=i):
            s = out[0] if isinstance(out, tuple) else out
            s = s.detach().reshape(b, -1, *s.shape[1:]).sum(1) if s.shape[0] != b else s
            counts[i] = s if counts[i] is None else counts[i] + s
        handles.append(m.register_forward_hook(hook))
    return counts, handles


def plain_torch_loop(layers: list[nn.Module], x: torch.Tensor, T: int, chunk: int,
                     floor: float | None = None) -> list[torch.Tensor]:
    """The reference-style dense step loop, channels-last convs, first layer computed once."""
    conv1, conv2, fc1, fc2 = (copy.deepcopy(m) for m in layers)
    conv2 = conv2.to(memory_format=torch.channels_last)
    out = [[] for _ in range(4)]
    with torch.no_grad():
        for b0 in range(0, x.shape[0], chunk):
            xc = x[b0:b0 + chunk].contiguous(memory_format=torch.channels_last)
            i1 = conv1(xc)
            vs = [None] * 4
            cs = [None] * 4
            for _ in range(T):
                cur = i1
                for k in range(4):
                    v = cur.clone() if vs[k] is None else vs[k].add_(cur)
                    s = (v >= 1.0).float()
                    v.sub_(s)
                    if floor is not None:
                        v.clamp_(min=floor)
                    vs[k] = v
                    cs[k] = s.clone() if cs[k] is None else cs[k].add_(s)
                    if k == 0:
                        cur = conv2(s)
                    elif k == 1:
                        cur = fc1(s.flatten(1))
                    elif k == 2:
                        cur = fc2(s)
            for k in range(4):
                out[k].append(cs[k].contiguous())
    return [torch.cat(o) for o in out]


def sinabs_run(layers: list[nn.Module], x: torch.Tensor, T: int, chunk: int):
    from sinabs.activation import MembraneSubtract, SingleSpike
    from sinabs.layers import IAFSqueeze

    conv1, conv2, fc1, fc2 = (copy.deepcopy(m) for m in layers)
    out = [[] for _ in range(4)]
    with torch.no_grad():
        for b0 in range(0, x.shape[0], chunk):
            xc = x[b0:b0 + chunk]
            b = xc.shape[0]

            def iaf():
                return IAFSqueeze(batch_size=b, spike_threshold=torch.tensor(1.0),
                                  spike_fn=SingleSpike, reset_fn=MembraneSubtract(),
                                  min_v_mem=None)
            iafs = [iaf() for _ in range(4)]
            net = nn.Sequential(conv1, iafs[0], conv2, iafs[1], nn.Flatten(), fc1, iafs[2],
                                fc2, iafs[3]).to(memory_format=torch.channels_last)
            counts, handles = _hook_counts(iafs, b)
            inp = xc.unsqueeze(1).expand(b, T, *xc.shape[1:]).reshape(b * T, *xc.shape[1:])
            net(inp.contiguous(memory_format=torch.channels_last))
            for h in handles:
                h.remove()
            for k in range(4):
                out[k].append(counts[k])
    return [torch.cat(o) for o in out]


def _step_loop(net: nn.Module, spiking: list[nn.Module], x: torch.Tensor, T: int, chunk: int,
               reset) -> list[torch.Tensor]:
    out = [[] for _ in range(len(spiking))]
    net = net.to(memory_format=torch.channels_last)  # the plain loop's conv fast path, for all
    with torch.no_grad():
        for b0 in range(0, x.shape[0], chunk):
            xc = x[b0:b0 + chunk].contiguous(memory_format=torch.channels_last)
            reset(net)
            counts, handles = _hook_counts(spiking, xc.shape[0])
            for _ in range(T):
                net(xc)
            for h in handles:
                h.remove()
            for k in range(len(spiking)):
                out[k].append(counts[k])
    return [torch.cat(o) for o in out]


def spikingjelly_run(layers: list[nn.Module], x: torch.Tensor, T: int, chunk: int):
    from spikingjelly.activation_based import functional, neuron

    conv1, conv2, fc1, fc2 = (copy.deepcopy(m) for m in layers)
    ifs = [neuron.IFNode(v_threshold=1.0, v_reset=None, step_mode="s") for _ in range(4)]
    net = nn.Sequential(conv1, ifs[0], conv2, ifs[1], nn.Flatten(), fc1, ifs[2], fc2, ifs[3])
    return _step_loop(net, ifs, x, T, chunk, functional.reset_net)


def snntorch_run(layers: list[nn.Module], x: torch.Tensor, T: int, chunk: int):
    import snntorch
    import snntorch.utils

    conv1, conv2, fc1, fc2 = (copy.deepcopy(m) for m in layers)
    lifs = [snntorch.Leaky(beta=1.0, threshold=1.0, reset_mechanism="subtract",
                           init_hidden=True) for _ in range(4)]
    net = nn.Sequential(conv1, lifs[0], conv2, lifs[1], nn.Flatten(), fc1, lifs[2], fc2,
                        lifs[3])
    return _step_loop(net, lifs, x, T, chunk, snntorch.utils.reset)


class _NorseIAF(nn.Module):
    """Norse's IAFCell with its state kept between calls (Norse returns it instead)."""

    def __init__(self) -> None:
        super().__init__()
        from norse.torch import IAFCell, IAFParameters

        self.cell = IAFCell(p=IAFParameters(v_th=torch.tensor(1.0), v_reset=torch.tensor(0.0)))
        self.state = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, self.state = self.cell(x, self.state)
        return z


def norse_run(layers: list[nn.Module], x: torch.Tensor, T: int, chunk: int):
    conv1, conv2, fc1, fc2 = (copy.deepcopy(m) for m in layers)
    cells = [_NorseIAF() for _ in range(4)]
    net = nn.Sequential(conv1, cells[0], conv2, cells[1], nn.Flatten(), fc1, cells[2], fc2,
                        cells[3])

    def reset(_net):
        for c in cells:
            c.state = None
    return _step_loop(net, cells, x, T, chunk, reset)


PEERS = {"sinabs": sinabs_run, "SpikingJelly": spikingjelly_run, "snnTorch": snntorch_run,
         "Norse": norse_run}
SEMANTICS = {"sinabs": "subtract", "SpikingJelly": "subtract", "snnTorch": "subtract",
             "Norse": "zero"}
