"""What both pricings of an inference share (`cosim.energy`'s per-event one and the circuit
model's, `cosim.energy_circuit`): the report they return and the |w|-weighted event counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerEnergy:
    """One spiking layer's share of an inference (joules and counts per inference)."""

    name: str
    neurons: int
    spikes: float
    synaptic_events: float
    e_spike_joules: float
    e_syn_joules: float
    e_static_joules: float
    inhibitory_events: float = 0.0

    @property
    def total_joules(self) -> float:
        return self.e_spike_joules + self.e_syn_joules + self.e_static_joules


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyReport:
    """Energy of one inference at (V_DD, V_NEG).

    Attributes:
        layers: per spiking layer.
        input_synaptic_events, e_input_joules: the input's synaptic events and their energy.
        total_joules: everything, per inference.
        v_dd_volts, v_neg_volts, timesteps, dt_seconds: the operating point and duration.
        e_spike_vdd_joules, e_spike_vneg_joules, e_syn_joules, p_static_watts: the per-event
            constants used.
        regime: "quadratic", "crowbar" or "quadratic-extrapolated" (of E_spike,VDD at V_DD).
        notes: plain-language caveats (crowbar regime, extrapolation).
    """

    layers: tuple[LayerEnergy, ...]
    input_synaptic_events: float
    e_input_joules: float
    total_joules: float
    v_dd_volts: float
    v_neg_volts: float
    timesteps: int
    dt_seconds: float
    e_spike_vdd_joules: float
    e_spike_vneg_joules: float
    e_syn_joules: float
    p_static_watts: float
    regime: str
    notes: tuple[str, ...]
    eta: float | None = None
    array_size: int | None = None
    e_bias_joules: float = 0.0
    terms: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__ if k != "layers"}
        d["layers"] = [{"name": ly.name, "neurons": ly.neurons, "spikes": ly.spikes,
                        "synaptic_events": ly.synaptic_events,
                        "e_spike_joules": ly.e_spike_joules, "e_syn_joules": ly.e_syn_joules,
                        "e_static_joules": ly.e_static_joules, "total_joules": ly.total_joules,
                        "inhibitory_events": ly.inhibitory_events}
                       for ly in self.layers]
        d["notes"] = list(self.notes)
        return d


def weighted_fan_out(net: Any, index: int, sign: int = 0) -> Any:
    """Sum of |w| over the synapses leaving each neuron of layer ``index`` (-1: the input), shape
    of that layer; zero for the output layer. Average pooling keeps its 1/k² (it scales charge).
    ``sign`` +1 / -1: only the excitatory (w > 0) / inhibitory (w < 0) synapses.

    Remembered while the weight tensors live unchanged (the same objects, the same in-place
    version): a trade-off prices every operating point and budget on one network."""
    import weakref

    layers = net.layers
    ops = layers[index + 1].ops if index + 1 < len(layers) else ()
    shape = tuple(net.input_shape if index == -1 else layers[index].shape)
    key = (index, sign, shape, len(layers), tuple(
        (op.kind, repr(op.options), id(op.weight), op.weight._version if op.weight is not None
         else -1) for op in ops))
    hit = _FAN_OUT.get(key)
    if hit is not None and all(r() is op.weight for r, op in zip(hit[0], ops, strict=True)):
        return hit[1].clone()
    out = _weighted_fan_out(net, index, sign)
    if len(_FAN_OUT) >= 256:
        _FAN_OUT.clear()
    _FAN_OUT[key] = ([weakref.ref(op.weight) if op.weight is not None else _none
                      for op in ops], out)
    return out.clone()


def _none() -> None:
    return None


_FAN_OUT: dict[tuple, tuple[list, Any]] = {}


def _weighted_fan_out(net: Any, index: int, sign: int) -> Any:
    import torch
    import torch.nn.functional as F

    layers = net.layers
    if index == len(layers) - 1:
        return torch.zeros(layers[-1].shape)
    shape = net.input_shape if index == -1 else layers[index].shape
    x = torch.zeros((1, *shape), dtype=torch.float64, requires_grad=True)
    y = x
    with torch.enable_grad():
        for op in layers[index + 1].ops:
            o = op.options
            w = None if op.weight is None else op.weight.detach().double()
            if w is not None:
                w = w.abs() if sign == 0 else (sign * w).clamp(min=0.0)
            if op.kind == "conv2d":
                y = F.conv2d(y, w, None, **o)
            elif op.kind == "conv_transpose2d":
                y = F.conv_transpose2d(y, w, None, **o)
            elif op.kind == "linear":
                y = F.linear(y, w)
            elif op.kind == "scale":
                y = y * w
            else:
                y = op(y)
        y.sum().backward()
    return x.grad[0].detach()


def weighted_events(net: Any, index: int, counts: Any, sign: int = 0) -> float:
    """|w|-weighted synaptic events per inference that layer ``index``'s spikes trigger
    downstream: ``counts`` (B, *shape) against `weighted_fan_out` (``sign`` as there)."""
    batch = int(counts.shape[0])
    flat = counts.reshape(batch, -1).double()
    return float((flat @ weighted_fan_out(net, index, sign).reshape(-1).double()).sum()) / batch


def input_events(net: Any, inputs: Any, timesteps: int, sign: int = 0) -> float:
    """|w|-weighted events per inference of the constant input current (``inputs`` (B, *shape),
    applied at every one of ``timesteps`` steps) into the first spiking layer."""
    x = inputs.detach().reshape(inputs.shape[0], -1).double().abs()
    wf = weighted_fan_out(net, -1, sign).reshape(-1).double()
    return float((x @ wf).sum()) * timesteps / inputs.shape[0]


def per_inference(x: Any, batch: int) -> float:
    """A count summed over the batch, per inference (a tensor or a number)."""
    return float(x.double().sum()) / batch if hasattr(x, "double") else float(x) / batch


__all__ = ["EnergyReport", "LayerEnergy", "input_events", "per_inference", "weighted_events",
           "weighted_fan_out"]
