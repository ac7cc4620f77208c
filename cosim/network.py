"""The converted network: spiking layers, each a chain of linear synaptic ops feeding IF neurons.

A ``SpikingLayer`` is what sits between two populations of neurons: the linear ops (convolution,
transposed convolution, linear, average pooling, flatten) that turn the previous layer's spikes
(or, for the first layer, the analog input) into this layer's input current, and the shape of
this layer's neurons. Every layer spikes, the output layer included; the output layer is the last.

Each layer's current is ``ops(previous spikes)`` with the biases inside the ops, every step.
After data-based normalization a neuron's firing rate approximates its ANN activation divided by
the layer's ``scale`` (the percentile activation); ``scale`` is 1.0 when no calibration was done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from cosim.neuron import IFNeuron

OpKind = Literal["conv2d", "conv_transpose2d", "linear", "avg_pool2d", "global_avg_pool",
                 "flatten", "scale"]
WEIGHTED: tuple[str, ...] = ("conv2d", "conv_transpose2d", "linear")


@dataclass(frozen=True, slots=True, kw_only=True)
class SynapticOp:
    """One linear operation. ``options`` are the torch functional keyword arguments."""

    kind: OpKind
    source: str
    weight: Tensor | None = None
    bias: Tensor | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.kind in WEIGHTED or self.kind == "scale") and self.weight is None:
            raise ValueError(f"{self.kind} op from {self.source!r} needs a weight")

    def __call__(self, x: Tensor) -> Tensor:
        o = self.options
        if self.kind == "conv2d":
            return F.conv2d(x, self.weight, self.bias, **o)
        if self.kind == "conv_transpose2d":
            return F.conv_transpose2d(x, self.weight, self.bias, **o)
        if self.kind == "linear":
            return F.linear(x, self.weight, self.bias)
        if self.kind == "avg_pool2d":
            return F.avg_pool2d(x, **o)
        if self.kind == "global_avg_pool":
            return F.adaptive_avg_pool2d(x, 1)
        if self.kind == "scale":
            return x * self.weight
        return x.flatten(o.get("start_dim", 1), o.get("end_dim", -1))

    def with_tensors(self, weight: Tensor | None, bias: Tensor | None) -> SynapticOp:
        return SynapticOp(kind=self.kind, source=self.source, weight=weight, bias=bias,
                          options=dict(self.options))

    def to(self, device: torch.device | str | None, dtype: torch.dtype) -> SynapticOp:
        def mv(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device=device, dtype=dtype)

        w = mv(self.weight)
        if w is not None and w.ndim == 4:
            w = w.contiguous(memory_format=torch.channels_last)
        return self.with_tensors(w, mv(self.bias))


def apply_ops(ops: tuple[SynapticOp, ...], x: Tensor) -> Tensor:
    """Apply a chain of ops to ``x`` of shape (B, ...)."""
    for op in ops:
        x = op(x)
    return x


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikingLayer:
    """One population of IF neurons and the synaptic ops that drive it.

    Attributes:
        name: Module path of the ReLU (or last op, for an output without ReLU) it came from.
        ops: Linear ops from the previous population's spikes (or the input) to this current.
        shape: Neuron shape without batch, ``(C, H, W)`` or ``(N,)``.
        scale: ANN activation that a rate of one spike per step stands for (the normalization
            percentile; 1.0 without calibration).
        relu: Whether the ANN had a ReLU here (False for a linear output layer).
    """

    name: str
    ops: tuple[SynapticOp, ...]
    shape: tuple[int, ...]
    scale: float = 1.0
    relu: bool = True

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikingNetwork:
    """A feed-forward network of IF layers produced by ``cosim.convert``.

    Attributes:
        layers: Spiking layers, input side first; the last is the output layer.
        input_shape: Shape of one input sample (without batch), e.g. ``(1, 28, 28)``.
        neuron: The neuron model the network came with (one ``IFNeuron`` per layer, e.g. read
            from a NIR file by ``cosim.from_nir``); ``simulate`` uses it when given no
            ``neuron``. ``None`` (``convert``'s networks): the ideal IF.
    """

    layers: tuple[SpikingLayer, ...]
    input_shape: tuple[int, ...]
    neuron: tuple[IFNeuron, ...] | None = None

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a SpikingNetwork needs at least one layer, got none")
        if self.neuron is not None and (len(self.neuron) != len(self.layers) or not all(
                isinstance(n, IFNeuron) for n in self.neuron)):
            raise ValueError(f"neuron must be None or a tuple of {len(self.layers)} IFNeurons "
                             f"(one per layer), got {self.neuron!r}")

    @property
    def output_scale(self) -> float:
        """Normalization scale of the output layer: output rate × this ≈ ANN output."""
        return self.layers[-1].scale

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].shape

    def to(self, device: torch.device | str | None = None,
           dtype: torch.dtype = torch.float32) -> SpikingNetwork:
        """A copy with every weight on ``device`` in ``dtype`` (4-D weights channels-last)."""
        layers = tuple(
            SpikingLayer(name=ly.name, ops=tuple(op.to(device, dtype) for op in ly.ops),
                         shape=ly.shape, scale=ly.scale, relu=ly.relu)
            for ly in self.layers)
        return SpikingNetwork(layers=layers, input_shape=self.input_shape, neuron=self.neuron)

    @torch.no_grad()
    def ann_forward(self, inputs: Tensor) -> list[Tensor]:
        """Normalized ANN activations of every layer, the quantities the firing rates estimate.

        Args:
            inputs: (B, *input_shape).

        Returns:
            One (B, *layer.shape) tensor per layer: ReLU(current) for hidden layers, the raw
            current for a linear output layer, in units of ``layer.scale``.
        """
        acts = []
        x = inputs
        for ly in self.layers:
            x = apply_ops(ly.ops, x)
            if ly.relu:
                x = torch.relu(x)
            acts.append(x)
        return acts

    def fan_out(self, index: int) -> Tensor:
        """Synapses leaving each neuron of layer ``index`` (shape ``layer.shape``).

        Counted through the next layer's op chain with every weight set to 1 and average
        pooling replaced by sum pooling (weight paths; equal to the number of distinct synapses
        for a single conv/linear op). The output layer has fan-out 0.
        """
        if index == len(self.layers) - 1 or index == -1:
            return torch.zeros(self.layers[-1].shape)
        nxt = self.layers[index + 1]
        x = torch.zeros((1, *self.layers[index].shape), dtype=torch.float64, requires_grad=True)
        y = x
        with torch.enable_grad():
            for op in nxt.ops:
                y = _ones_op(op, y)
            y.sum().backward()
        return x.grad[0].detach().float()


def _ones_op(op: SynapticOp, x: Tensor) -> Tensor:
    o = op.options
    if op.kind == "linear":  # every input reaches every output: skip the big ones matrix
        return x.sum(-1, keepdim=True).expand(*x.shape[:-1], op.weight.shape[0])
    if op.kind in WEIGHTED:
        w = torch.ones_like(op.weight, dtype=torch.float64, device="cpu")
        if op.kind == "conv2d":
            return F.conv2d(x, w, None, **o)
        if op.kind == "conv_transpose2d":
            return F.conv_transpose2d(x, w, None, **o)
        return F.linear(x, w)
    if op.kind == "avg_pool2d":
        k = o["kernel_size"]
        kk = k * k if isinstance(k, int) else k[0] * k[1]
        opts = dict(o, divisor_override=None, count_include_pad=True)
        return F.avg_pool2d(x, **opts) * kk
    if op.kind == "global_avg_pool":
        return x.sum((2, 3), keepdim=True)
    if op.kind == "scale":
        return x
    return op(x)


__all__ = ["SpikingLayer", "SpikingNetwork", "SynapticOp", "apply_ops"]
