"""``from_nir``: a NIR graph (this project's or another tool's) as a ``SpikingNetwork``.

See ``cosim.nir`` for the node mapping and ``cosim.nir_metadata`` for the metadata it reads.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cosim.convert import resolve_shapes
from cosim.errors import ConversionError, NIRError
from cosim.network import SpikingLayer, SpikingNetwork, SynapticOp
from cosim.neuron import RESETS, IFNeuron
from cosim.nir_metadata import SCHEMA_KEY, NIRImportWarning, int_pair, nir_metadata, nir_module

_IMPORTABLE = "Input, Output, Affine, Linear, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale, IF"


def _a(x: Any) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if isinstance(x, Tensor) else x)


def _tensor(x: Any) -> Tensor:
    a = _a(x)
    return torch.from_numpy(a.astype(np.float32) if a.dtype != np.float32 else a.copy())


def _chain(graph: Any) -> list[str]:
    succ: dict[str, list[str]] = {k: [] for k in graph.nodes}
    pred: dict[str, list[str]] = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        if a not in succ or b not in succ:
            raise NIRError(f"edge ({a!r}, {b!r}) names a node the graph does not have")
        succ[a].append(b)
        pred[b].append(a)
    for k in graph.nodes:
        if len(succ[k]) > 1 or len(pred[k]) > 1:
            raise NIRError(f"node {k!r} of type {type(graph.nodes[k]).__name__} has "
                           f"{len(pred[k])} inputs and {len(succ[k])} outputs; cosim.from_nir "
                           "reads feed-forward chains only (no branches or recurrence)")
    starts = [k for k, n in graph.nodes.items() if type(n).__name__ == "Input"]
    if len(starts) != 1:
        raise NIRError(f"the graph must have exactly one Input node, got {len(starts)}")
    order, k = [], starts[0]
    while True:
        order.append(k)
        if not succ[k]:
            break
        k = succ[k][0]
        if k in order:
            raise NIRError(f"node {k!r} closes a cycle; cosim.from_nir reads chains only")
    if type(graph.nodes[order[-1]]).__name__ != "Output" or len(order) != len(graph.nodes):
        left = sorted(set(graph.nodes) - set(order))
        raise NIRError(f"the chain from the Input must end in the Output and visit every node; "
                       f"it ends at {order[-1]!r}, not visiting {left}")
    return order


def _import_op(name: str, node: Any, kind: str | None, source: str) -> SynapticOp:
    t = type(node).__name__
    if t == "Affine" or t == "Linear":
        w = _tensor(node.weight)
        if w.ndim != 2:
            raise NIRError(f"node {name!r} of type {t} has a {w.ndim}-D weight; expected 2-D")
        b = _tensor(node.bias) if t == "Affine" else None
        return SynapticOp(kind="linear", source=source, weight=w, bias=b)
    if t == "Conv2d":
        pad = node.padding if isinstance(node.padding, str) else tuple(
            int(p) for p in int_pair(_a(node.padding).tolist()))
        opts = dict(stride=tuple(int(s) for s in int_pair(_a(node.stride).tolist())), padding=pad,
                    dilation=tuple(int(d) for d in int_pair(_a(node.dilation).tolist())),
                    groups=int(_a(node.groups)))
        return SynapticOp(kind="conv2d", source=source, weight=_tensor(node.weight),
                          bias=_tensor(node.bias), options=opts)
    if t in ("AvgPool2d", "SumPool2d"):
        if kind == "global_avg_pool":
            return SynapticOp(kind="global_avg_pool", source=source)
        k, s, p = (tuple(int(v) for v in int_pair(_a(x).tolist()))
                   for x in (node.kernel_size, node.stride, node.padding))
        return SynapticOp(kind="avg_pool2d", source=source, options=dict(
            kernel_size=k, stride=s, padding=p, ceil_mode=False, count_include_pad=True,
            divisor_override=1 if t == "SumPool2d" else None))
    if t == "Flatten":
        def td(d: int) -> int:
            return int(d) + 1 if int(d) >= 0 else int(d)

        return SynapticOp(kind="flatten", source=source,
                          options=dict(start_dim=td(node.start_dim), end_dim=td(node.end_dim)))
    if t == "Scale":
        s = _a(node.scale)
        if s.size == 0 or not np.all(s == s.flat[0]):
            raise NIRError(f"node {name!r} of type Scale has non-uniform factors; cosim reads "
                           "a uniform Scale only")
        return SynapticOp(kind="scale", source=source, weight=_tensor(s.flat[0]).reshape(()))
    raise NIRError(f"node {name!r} of type {t} is not supported by cosim.from_nir; supported "
                   f"node types: {_IMPORTABLE}")


def _uniform(a: np.ndarray) -> float | Tensor:
    if a.size and np.all(a == a.flat[0]):
        return float(a.flat[0])
    return _tensor(a)


def _neuron(name: str, node: Any, meta: dict | None, dt: float) -> IFNeuron:
    th, r = _a(node.v_threshold), _a(node.r)
    gain = _uniform(r if meta is not None else r * dt)
    kw: dict[str, Any] = dict(threshold=_uniform(th), gain=gain)
    if meta is not None:
        lb = meta.get("lower_bound", "none")
        reset = meta.get("reset")
        if reset not in RESETS:
            raise NIRError(f"metadata of IF node {name!r}: reset must be one of {RESETS}, got "
                           f"{reset!r}")
        kw.update(lower_bound=None if lb == "none" else float(lb), reset=reset,
                  refractory_steps=int(meta.get("refractory_steps", 0)),
                  v_init=float(meta.get("v_init", 0.0)))
        if "transfer_x" in meta:
            kw["transfer"] = (_tensor(meta["transfer_x"]), _tensor(meta["transfer_y"]))
    try:
        return IFNeuron(**kw)
    except ValueError as err:
        raise NIRError(f"IF node {name!r}: {err}") from err


def from_nir(graph: Any, *, dt: float = 1.0) -> SpikingNetwork:
    """A ``SpikingNetwork`` (with its neurons in ``net.neuron``) from a NIR graph or file.

    Args:
        graph: A ``nir.NIRGraph`` or the path of a NIR (HDF5) file.
        dt: For graphs without nmpkit metadata: the step of the tool that wrote them, so that
            the gain on one step's input is ``r · dt`` (SpikingJelly writes ``r = 1/dt``; sinabs
            and Norse ``r = 1`` for one step, so dt = 1).

    Returns:
        The network; ``simulate(net, x, timesteps=T)`` runs it with the imported neurons.

    Raises:
        NIRError: an unsupported node (naming it and its type), a graph that is not a chain,
            shapes that do not fit, or bad metadata.

    Warns:
        NIRImportWarning: the graph has no nmpkit metadata (imported as NMP, subtract-reset).
    """
    nir = nir_module()
    if isinstance(graph, str | Path):
        graph = nir.read(str(graph))
    if type(graph).__name__ != "NIRGraph":
        raise NIRError(f"graph must be a nir.NIRGraph or a file path, got {type(graph).__name__}")
    meta = nir_metadata(graph)
    lmeta = meta.get("layers", {}) if meta is not None else {}
    order = _chain(graph)
    in_type = graph.nodes[order[0]].input_type["input"]
    input_shape = tuple(int(d) for d in _a(in_type).reshape(-1))
    layers, neurons, pending = [], [], []
    for name in order[1:-1]:
        node = graph.nodes[name]
        if type(node).__name__ != "IF":
            lm = next((m for m in lmeta.values() if name in m.get("op_kinds", {})), {})
            pending.append(_import_op(name, node, lm.get("op_kinds", {}).get(name),
                                      lm.get("op_sources", {}).get(name, name)))
            continue
        if not pending:
            raise NIRError(f"IF node {name!r} has no synaptic op before it; cosim layers are "
                           "ops followed by IF neurons")
        m = lmeta.get(name) if meta is not None else None
        if meta is not None and m is None:
            raise NIRError(f"metadata['{SCHEMA_KEY}']['layers'] has no entry for IF node {name!r}")
        neurons.append(_neuron(name, node, m, dt))
        r_shape = tuple(_a(node.r).shape)  # () or (1,): one value for the layer (Norse)
        layers.append(SpikingLayer(
            name=m["name"] if m else name, ops=tuple(pending),
            shape=r_shape if int(np.prod(r_shape)) > 1 else (),
            scale=float(m["scale"]) if m else 1.0,
            relu=(m["ann_activation"] == "relu") if m else True))
        pending = []
    if pending or not layers:
        raise NIRError(f"the graph must end with an IF node before its Output (cosim's output "
                       f"layer spikes); found {len(pending)} op(s) after the last IF"
                       if layers else "the graph has no IF node")
    first = next(op for ly in layers for op in ly.ops)
    want = {"linear": 1, "conv2d": 3}.get(first.kind)
    if meta is None and want and len(input_shape) == want + 1 and input_shape[0] == 1:
        input_shape = input_shape[1:]  # a batch of one in the Input (nirtorch's tracer writes it)
    net = SpikingNetwork(layers=tuple(layers), input_shape=input_shape, neuron=tuple(neurons))
    try:
        resolved = resolve_shapes(net, input_shape)
    except ConversionError as err:
        raise NIRError(f"the graph's shapes do not fit: {err}") from err
    for ly, got in zip(net.layers, resolved.layers, strict=True):
        if ly.shape and tuple(got.shape) != tuple(ly.shape):
            raise NIRError(f"layer {ly.name!r}: its ops give shape {got.shape} but its IF node "
                           f"has shape {ly.shape}")
    net = resolved
    if meta is None:
        warnings.warn(
            "NIR graph has no 'nmpkit' metadata: imported as NMP (no floor), reset by "
            "subtraction (NIR's IF resets to v_reset; v_reset ignored), spike when v >= "
            f"v_threshold (NIR: >), at most one spike per step, gain r*dt with dt={dt:g}; "
            "pass simulate(..., lower_bound=..., reset=...) to change the floor or reset",
            NIRImportWarning, stacklevel=2)
    return net


__all__ = ["from_nir"]
