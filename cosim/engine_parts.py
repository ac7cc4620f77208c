"""The engine's pieces around ``simulate``: the in-place torch IF step, the membrane readout,
full-float32 CUDA, the compiled kernels' choice and neuron packing, Poisson input, input fan-out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from cosim.errors import SimulationInputError
from cosim.kernels import load as load_kernels
from cosim.kernels import require as require_kernels
from cosim.kernels import status as kernels_status
from cosim.network import SpikingLayer, SpikingNetwork
from cosim.neuron import StepParams


def if_block(cur: Tensor, const: bool, v: Tensor, r: Tensor | None, d: Tensor | None,
              p: StepParams, spikes: Tensor, readout=None) -> None:
    """IF update for ``spikes.shape[0]`` steps; writes 0/1 spikes (tb, b, *phys) in place.

    ``cosim.neuron.if_step`` in place (no temporaries for the state); tested bit for bit
    against it (tests/cosim/test_neuron.py). ``d`` (with a floor): accumulates the charge the
    floor removes, floor - v where v < floor."""
    for t in range(spikes.shape[0]):
        x = cur if const else cur[t]
        if p.gain is not None:
            x = x * p.gain
        if p.transfer is not None:
            x = p.apply_transfer(x)
        s = spikes[t]
        if r is not None:
            active = r == 0
            x = torch.where(active, x, 0.0)  # refractory: the input is discarded
        v.add_(x)
        torch.ge(v, p.threshold, out=s)
        if r is not None:
            s.mul_(active)
        if p.reset == "zero":
            v.mul_(1.0 - s)
        elif isinstance(p.threshold, Tensor):
            v.addcmul_(s, p.threshold, value=-1.0)
        else:
            v.sub_(s, alpha=p.threshold)
        if p.floor is not None and p.floor_gated:  # a floor above rest: it binds where x < 0
            held = torch.where(x < 0, torch.clamp(v, min=p.floor), v)
            if d is not None:
                d.add_(held - v)
            v.copy_(held)
        elif p.floor is not None:  # at or below rest: max(v, floor) is the same (and cheaper)
            if d is not None:
                d.add_((p.floor - v).clamp_(min=0.0))
            if isinstance(p.floor, Tensor):
                torch.maximum(v, p.floor, out=v)
            else:
                v.clamp_(min=p.floor)
        if r is not None:
            r.sub_(1).clamp_(min=0).masked_fill_(s.bool(), p.refractory)
        if readout is not None:
            readout(s, v)


class MembraneReadout:
    """Per-step class prediction: most spikes so far, ties by membrane potential."""

    def __init__(self, preds: Tensor) -> None:
        self.preds, self.t, self.cum = preds, 0, None

    def __call__(self, s: Tensor, v: Tensor) -> None:
        self.cum = s.clone() if self.cum is None else self.cum.add_(s)
        best = self.cum.max(1, keepdim=True).values
        key = torch.where(self.cum == best, v, float("-inf"))
        self.preds[self.t] = key.argmax(1).to(self.preds.dtype).cpu()
        self.t += 1

@contextmanager
def full_fp32(dev: torch.device) -> Iterator[None]:
    """On CUDA, no TF32 in convolutions or matmuls while simulating.

    torch lets cuDNN convolutions use TF32 (10-bit mantissa) by default; that changes currents
    far beyond summation order. Restored afterwards.
    """
    if dev.type != "cuda":
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def pick_kernels(kernels: bool | None, dev: torch.device,
             dtype: torch.dtype) -> tuple[object | None, str]:
    """The compiled module (or None) and what ``SimulationResult.schedule["kernels"]`` says."""
    if kernels is False:
        return None, "torch only"
    usable = dev.type == "cpu" and dtype == torch.float32
    if kernels and not usable:
        raise SimulationInputError(
            f"kernels=True needs device='cpu' and dtype=torch.float32, got {dev.type!r}, "
            f"{dtype}; use kernels=None")
    if not usable:
        return None, f"torch only (the kernels need CPU and float32; here {dev.type}, {dtype})"
    ext = require_kernels() if kernels else load_kernels()  # a failed build: KernelBuildError
    return ext, kernels_status()                             # or a warning, and recorded here


def _as_tensor(value: float | Tensor, dev: torch.device, dtype: torch.dtype) -> Tensor:
    if isinstance(value, Tensor):
        return value.contiguous()
    return torch.tensor([value], device=dev, dtype=dtype)


def kernel_neuron(p: StepParams, dev: torch.device, dtype: torch.dtype) -> list[Tensor]:
    """threshold, floor, gain, transfer xs, ys for ``cosim.kernels`` (empty = identity)."""
    none = torch.zeros(0, device=dev, dtype=dtype)
    xs, ys = p.transfer if p.transfer is not None else (none, none)
    return [_as_tensor(p.threshold, dev, dtype),
            _as_tensor(p.floor if p.floor is not None else 0.0, dev, dtype),
            none if p.gain is None else _as_tensor(p.gain, dev, dtype), xs, ys]


def state_or_empty(r: Tensor | None) -> Tensor:
    return r if r is not None else _NO_STATE


def discard_or_empty(d: Tensor | None) -> Tensor:
    return d if d is not None else _NO_OUT


_NO_STATE = torch.zeros(0, dtype=torch.int32)
_NO_OUT = torch.zeros(0)


def phys_input(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    return (x.permute(0, 2, 3, 1) if len(shape) == 3 else x).contiguous()


def poisson_spikes(x: Tensor, tb: int, generator: torch.Generator) -> Tensor:
    p, sign = x.abs(), torch.sign(x)
    return torch.stack([sign * (torch.rand(x.shape, generator=generator, dtype=x.dtype) < p)
                        for _ in range(tb)])


def net_input_fan_out(net: SpikingNetwork) -> Tensor:
    """Synapses leaving each input element (flattened), through the first layer's ops."""
    probe = SpikingNetwork(layers=(SpikingLayer(name="input", ops=(), shape=net.input_shape),
                         net.layers[0]), input_shape=net.input_shape)
    return probe.fan_out(0).reshape(-1)


