"""Argument checks for ``simulate`` and the per-layer neuron parameters, device-ready."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from cosim.errors import SimulationInputError
from cosim.network import SpikingNetwork
from cosim.neuron import RESETS, IFNeuron, apply_transfer
from cosim.schedule import SCHEDULES, to_phys_param

ENCODINGS: tuple[str, ...] = ("current", "poisson")


@dataclass(slots=True, kw_only=True)
class LayerParams:
    """One layer's neuron parameters in the engine's physical layout (None = identity)."""

    threshold: float | Tensor
    floor: float | Tensor | None
    gain: float | Tensor | None
    transfer: tuple[Tensor, Tensor] | None
    reset: str
    refractory: int

    def apply_transfer(self, x: Tensor) -> Tensor:
        return apply_transfer(x, *self.transfer)


def _int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SimulationInputError(f"{name} must be an int >= {minimum}, got {value!r}")


def check_args(net: SpikingNetwork, inputs: Tensor, *, timesteps: object,
               lower_bound: object, reset: object, encoding: object, generator: object,
               schedule: object, time_block: object, memory_budget_bytes: object,
               chunk_size: object) -> None:
    """Raise ``SimulationInputError`` naming the first bad argument and its value."""
    if not isinstance(net, SpikingNetwork):
        raise SimulationInputError(
            f"net must be a cosim.SpikingNetwork (from cosim.convert), got {type(net).__name__}")
    _int("timesteps", timesteps, 1)
    _int("time_block", time_block, 1)
    _int("memory_budget_bytes", memory_budget_bytes, 1)
    if chunk_size is not None:
        _int("chunk_size", chunk_size, 1)
    if not isinstance(inputs, Tensor):
        raise SimulationInputError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    if inputs.ndim < 2 or inputs.shape[0] == 0:
        raise SimulationInputError(
            f"inputs must be a non-empty (B, ...) batch, got shape {tuple(inputs.shape)}")
    if net.input_shape and tuple(inputs.shape[1:]) != tuple(net.input_shape):
        raise SimulationInputError(
            f"inputs must have shape (B, {', '.join(map(str, net.input_shape))}) for this "
            f"network, got {tuple(inputs.shape)}")
    if not bool(torch.isfinite(inputs).all()):
        raise SimulationInputError("inputs must be finite, got NaN/Inf entries")
    lb = lower_bound
    if lb is not None and not (isinstance(lb, int | float) and not isinstance(lb, bool)
                               and math.isfinite(lb) and lb <= 0):
        raise SimulationInputError(
            f"lower_bound must be None (NMP), 0.0 (ZMP) or a negative float (floor in "
            f"threshold units), got {lb!r}")
    if reset not in RESETS:
        raise SimulationInputError(f"reset must be one of {RESETS}, got {reset!r}")
    if encoding not in ENCODINGS:
        raise SimulationInputError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    if encoding == "poisson":
        if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
            raise SimulationInputError(
                "encoding='poisson' needs generator=torch.Generator().manual_seed(SEED) (a "
                f"seeded CPU generator), got {generator!r}")
        if bool((inputs.abs() > 1).any()):
            raise SimulationInputError(
                "encoding='poisson' needs inputs in [-1, 1] (spike probabilities), got values "
                f"up to {float(inputs.abs().max())!r}")
    if schedule not in SCHEDULES:
        raise SimulationInputError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


def _neurons(neuron: object, n_layers: int, lower_bound: float | None,
             reset: str) -> list[IFNeuron]:
    if neuron is None:
        return [IFNeuron(lower_bound=lower_bound, reset=reset)] * n_layers
    neurons = [neuron] * n_layers if isinstance(neuron, IFNeuron) else list(neuron)
    if len(neurons) != n_layers or not all(isinstance(n, IFNeuron) for n in neurons):
        raise SimulationInputError(
            f"neuron must be an IFNeuron or a sequence of {n_layers} IFNeurons (one per spiking "
            f"layer), got {neuron!r}")
    for i, n in enumerate(neurons):
        if lower_bound is not None and n.lower_bound != lower_bound:
            raise SimulationInputError(
                f"lower_bound={lower_bound!r} disagrees with neuron[{i}].lower_bound="
                f"{n.lower_bound!r}; leave lower_bound=None when passing neuron")
        if reset != "subtract" and n.reset != reset:
            raise SimulationInputError(
                f"reset={reset!r} disagrees with neuron[{i}].reset={n.reset!r}; leave "
                "reset='subtract' when passing neuron")
    return neurons


def _per_neuron(name: str, value: float | Tensor, layer: str, shape: tuple[int, ...],
                device: torch.device, dtype: torch.dtype) -> float | Tensor:
    if not isinstance(value, Tensor):
        return float(value)
    try:
        return to_phys_param(value.to(device=device, dtype=dtype), shape)
    except RuntimeError as err:
        raise SimulationInputError(
            f"neuron {name} of shape {tuple(value.shape)} does not broadcast to layer "
            f"{layer!r} of shape {shape}") from err


def layer_params(net: SpikingNetwork, neuron: IFNeuron | Sequence[IFNeuron] | None,
                 lower_bound: float | None, reset: str, device: torch.device,
                 dtype: torch.dtype) -> list[LayerParams]:
    """Device-ready parameters of every layer (raises SimulationInputError on mismatch)."""
    if neuron is None and net.neuron is not None:  # the network's own model (cosim.from_nir),
        neuron = [replace(n, lower_bound=n.lower_bound if lower_bound is None else lower_bound,
                          reset=n.reset if reset == "subtract" else reset)  # floor/reset asked
                  for n in net.neuron]
        lower_bound, reset = None, "subtract"
    out = []
    for ly, n in zip(net.layers, _neurons(neuron, len(net.layers), lower_bound, reset),
                     strict=True):
        th = _per_neuron("threshold", n.threshold, ly.name, ly.shape, device, dtype)
        gain = None if (not isinstance(n.gain, Tensor) and n.gain == 1.0) else \
            _per_neuron("gain", n.gain, ly.name, ly.shape, device, dtype)
        floor = None if n.lower_bound is None else th * n.lower_bound
        transfer = None if n.transfer is None else tuple(
            t.to(device=device, dtype=dtype).contiguous() for t in n.transfer)
        out.append(LayerParams(threshold=th, floor=floor, gain=gain, transfer=transfer,
                               reset=n.reset, refractory=n.refractory_steps))
    return out


__all__ = ["ENCODINGS", "LayerParams", "check_args", "layer_params"]
