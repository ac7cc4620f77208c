"""NIR in and out: a ``SpikingNetwork`` as a ``nir.NIRGraph`` and back, with its neuron model.

NIR (the Neuromorphic Intermediate Representation, package ``nir``) is how SNN tools exchange
networks. The graph is a chain ``Input → ops of layer 0 → IF → ops of layer 1 → IF → … → Output``:

==================  ====================================================================
cosim op / neuron   NIR node
==================  ====================================================================
conv2d              ``Conv2d`` (bias zeros when the op has none)
linear              ``Affine`` (``Linear`` on import when there is no bias)
avg_pool2d          ``AvgPool2d`` (``SumPool2d`` imports as sum pooling, divisor 1)
global_avg_pool     ``AvgPool2d`` with the whole map as kernel and stride
flatten             ``Flatten`` (dims without the batch: torch's ``start_dim - 1``)
scale               ``Scale`` (a uniform factor)
IF neurons          ``IF``: ``v_threshold`` = the (per-neuron) threshold, ``r`` = the gain on
                    the input of one step, ``v_reset`` = 0
==================  ====================================================================

The neuron model (floor, reset, one spike per step, transfer, refractoriness) and where it
came from travel in ``graph.metadata["nmpkit"]`` (schema: ``cosim.nir_metadata``). ``from_nir``
(``cosim.nir_import``) reads it back exactly, so ``cosim.simulate(from_nir(to_nir(net,
neuron)), x, timesteps=T)`` gives the spikes of ``cosim.simulate(net, x, timesteps=T,
neuron=neuron)``. A graph without it (another tool's) imports as NMP with reset by
subtraction and ``r·dt`` as gain, and says so with a ``NIRImportWarning``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cosim.convert import resolve_shapes
from cosim.errors import NIRError
from cosim.network import SpikingNetwork, SynapticOp
from cosim.neuron import IFNeuron
from cosim.nir_import import from_nir
from cosim.nir_metadata import (
    SCHEMA_KEY,
    SCHEMA_VERSION,
    SEMANTICS,
    NIRImportWarning,
    calibration_provenance,
    int_pair,
    nir_metadata,
    nir_module,
    plain,
)


def _arr(t: float | Tensor, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(t, Tensor):
        return torch.broadcast_to(t.detach().cpu(), shape).contiguous().numpy().copy()
    dtype = np.float32 if float(np.float32(t)) == float(t) else np.float64
    return np.full(shape, t, dtype=dtype)


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().contiguous().numpy().copy()


def _op_node(nir: Any, op: SynapticOp, in_shape: tuple[int, ...], where: str) -> Any:
    o = op.options
    if op.kind == "conv2d":
        bias = _np(op.bias) if op.bias is not None else np.zeros(op.weight.shape[0], np.float32)
        pad = o["padding"] if isinstance(o["padding"], str) else tuple(o["padding"])
        return nir.Conv2d(input_shape=tuple(in_shape[1:]), weight=_np(op.weight),
                          stride=tuple(o["stride"]), padding=pad, dilation=tuple(o["dilation"]),
                          groups=int(o["groups"]), bias=bias)
    if op.kind == "linear":
        bias = _np(op.bias) if op.bias is not None else np.zeros(op.weight.shape[0], np.float32)
        return nir.Affine(weight=_np(op.weight), bias=bias)
    if op.kind == "avg_pool2d":
        if o.get("ceil_mode") or o.get("divisor_override") is not None or (
                not o.get("count_include_pad", True) and np.any(int_pair(o.get("padding", 0)))):
            raise NIRError(f"{where} (avg_pool2d from {op.source!r}) uses ceil_mode, "
                           f"divisor_override or count_include_pad=False ({o}), which NIR's "
                           "AvgPool2d cannot express; use the defaults")
        k = o["kernel_size"]
        s = o.get("stride") or k
        return nir.AvgPool2d(kernel_size=int_pair(k), stride=int_pair(s),
                             padding=int_pair(o.get("padding", 0)))
    if op.kind == "global_avg_pool":
        hw = np.array(in_shape[1:], dtype=np.int64)
        return nir.AvgPool2d(kernel_size=hw, stride=hw.copy(), padding=np.zeros(2, np.int64))
    if op.kind == "flatten":
        def nd(d: int) -> int:
            return d - 1 if d > 0 else d

        return nir.Flatten(input_type={"input": np.array(in_shape)},
                           start_dim=nd(o.get("start_dim", 1)), end_dim=nd(o.get("end_dim", -1)))
    if op.kind == "scale":
        return nir.Scale(scale=_arr(op.weight.reshape(()), tuple(in_shape)))
    raise NIRError(f"{where} ({op.kind} from {op.source!r}) has no NIR node (NIR 1.0 has "
                   "Conv1d/Conv2d, Affine/Linear, AvgPool2d/SumPool2d, Flatten, Scale)")


def _neurons(net: SpikingNetwork, neuron: IFNeuron | Sequence[IFNeuron] | None,
             ) -> list[IFNeuron]:
    if neuron is None:
        return list(net.neuron) if net.neuron is not None else [IFNeuron()] * len(net.layers)
    ns = [neuron] * len(net.layers) if isinstance(neuron, IFNeuron) else list(neuron)
    if len(ns) != len(net.layers) or not all(isinstance(n, IFNeuron) for n in ns):
        raise NIRError(f"neuron must be an IFNeuron or a sequence of {len(net.layers)} "
                       f"IFNeurons (one per layer), got {neuron!r}")
    return ns


def to_nir(net: SpikingNetwork, neuron: IFNeuron | Sequence[IFNeuron] | None = None, *,
           provenance: Mapping[str, Any] | None = None,
           source: Mapping[str, Any] | None = None) -> Any:
    """The network and its neuron model as a ``nir.NIRGraph`` (see the module docstring).

    Args:
        net: From ``cosim.convert`` (or ``from_nir``); its layer shapes must be known.
        neuron: One ``IFNeuron`` for all layers or one per layer (e.g.
            ``cosim.calibrated_neurons``); default ``net.neuron``, else the ideal IF (NMP).
        provenance: Where a calibrated neuron came from (``calibration_provenance``), stored as
            ``metadata["nmpkit"]["calibration"]``.
        source: What the network was made from (network name, dataset, weights hash, …),
            stored as ``metadata["nmpkit"]["source"]``.

    Raises:
        NIRError: an op NIR cannot express (naming the layer, the op and its source), unknown
            shapes, a bad ``neuron``.
    """
    nir = nir_module()
    if not isinstance(net, SpikingNetwork):
        raise NIRError(f"net must be a cosim.SpikingNetwork, got {type(net).__name__}")
    if not net.layers[0].shape:
        if not net.input_shape:
            raise NIRError("net has no input_shape (convert it with a calibration batch or "
                           "input_shape=...) so its layer shapes are unknown")
        net = resolve_shapes(net, tuple(net.input_shape))
    neurons = _neurons(net, neuron)
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(net.input_shape)})}
    chain, layers_meta, shape = ["input"], {}, tuple(net.input_shape)
    for i, (ly, n) in enumerate(zip(net.layers, neurons, strict=True)):
        kinds, sources = {}, {}
        x = torch.zeros((1, *shape))
        for j, op in enumerate(ly.ops):
            name = f"layer{i}_op{j}_{op.kind}"
            nodes[name] = _op_node(nir, op, tuple(x.shape[1:]), f"layer {i} ({ly.name!r}) op {j}")
            with torch.no_grad():
                x = op(x)
            kinds[name], sources[name] = op.kind, op.source
            chain.append(name)
        shape = tuple(ly.shape)
        if_name = f"layer{i}_if"
        nodes[if_name] = nir.IF(r=_arr(n.gain, shape), v_threshold=_arr(n.threshold, shape),
                                v_reset=np.zeros(shape, np.float32))
        chain.append(if_name)
        meta = {"index": i, "name": ly.name, "scale": float(ly.scale),
                "ann_activation": "relu" if ly.relu else "linear",
                "lower_bound": "none" if n.lower_bound is None else float(n.lower_bound),
                "reset": n.reset, "refractory_steps": int(n.refractory_steps),
                "v_init": float(n.v_init),
                "op_kinds": kinds, "op_sources": sources}
        if n.transfer is not None:
            meta["transfer_x"], meta["transfer_y"] = _np(n.transfer[0]), _np(n.transfer[1])
        layers_meta[if_name] = meta
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    chain.append("output")
    meta = {"schema_version": SCHEMA_VERSION, "semantics": SEMANTICS, "spikes_per_step": 1,
            "threshold_rule": ">=", "input_encoding": "current",
            "time_step": "one step per input; r multiplies the input of one step (dt = 1)",
            "layers": layers_meta}
    if provenance is not None:
        meta["calibration"] = plain(dict(provenance), "calibration")
    if source is not None:
        meta["source"] = plain(dict(source), "source")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:], strict=True)),
                        metadata={SCHEMA_KEY: meta}, type_check=True)


def with_neuron(net: SpikingNetwork, **changes: Any) -> SpikingNetwork:
    """``net`` with every layer's neuron changed by ``dataclasses.replace(neuron, **changes)``."""
    base = net.neuron if net.neuron is not None else (IFNeuron(),) * len(net.layers)
    return replace(net, neuron=tuple(replace(n, **changes) for n in base))


__all__ = ["SCHEMA_KEY", "SCHEMA_VERSION", "NIRImportWarning", "calibration_provenance",
           "from_nir", "nir_metadata", "to_nir", "with_neuron"]
