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

NIR's IF (``dv/dt = r·I``; spike when ``v > v_threshold``; ``v = v_reset``) has no floor, no
reset by subtraction and no discrete step, so what this project is about travels in the graph's
metadata under ``graph.metadata["nmpkit"]``, schema version 1 (``SCHEMA_VERSION``):

* ``schema_version`` (int, 1); ``semantics`` (str: the update rule below, for people);
  ``spikes_per_step`` (int, 1: at most one spike per neuron per step); ``threshold_rule``
  (``">="``); ``time_step`` (str: one step per input, ``r`` multiplies the input of one step,
  dt = 1); ``input_encoding`` (``"current"``: the input is applied every step).
* ``layers``: one entry per IF node, keyed by its node name: ``index`` (int), ``name`` (the
  layer's module path), ``scale`` (float, the normalization λ), ``ann_activation`` (``"relu"`` |
  ``"linear"``), ``lower_bound`` (float in threshold units, or ``"none"`` = no floor, NMP),
  ``reset`` (``"subtract"`` | ``"zero"``), ``refractory_steps`` (int), ``transfer_x`` /
  ``transfer_y`` (float32 arrays, only with a transfer curve), ``op_kinds`` and ``op_sources``
  ({op node: cosim op kind / module path}).
* ``calibration`` (only for calibrated neurons): where the neuron came from — the calibration
  file's sha256, the preset, V_DD, the V_NEG used, model cards, mismatch seed
  (``calibration_provenance``).
* ``source`` (optional): what the network was made from (``nmpkit export-nir`` writes the
  network and dataset names, the weights' sha256, the normalization percentile and provenance).

The update rule every layer follows (``cosim.neuron``), per step: ``v += r·I``; ``s = v >=
v_threshold``; ``v -= s·v_threshold`` (subtract) or ``v = 0`` where ``s`` (zero); ``v = max(v,
lower_bound·v_threshold)``. ``from_nir`` reads the metadata back exactly, so
``cosim.simulate(from_nir(to_nir(net, neuron)), x, timesteps=T)`` gives the spikes of
``cosim.simulate(net, x, timesteps=T, neuron=neuron)``. A graph without it (another tool's)
imports as NMP with reset by subtraction, ``r·dt`` as gain, and says so with an
``NIRImportWarning``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cosim.convert import resolve_shapes
from cosim.errors import ConversionError, NIRError
from cosim.network import SpikingLayer, SpikingNetwork, SynapticOp
from cosim.neuron import RESETS, IFNeuron

SCHEMA_KEY = "nmpkit"
SCHEMA_VERSION = 1
SEMANTICS = ("per step: v += r*I; spike iff v >= v_threshold (at most one spike per step); "
             "reset: subtract (v -= v_threshold) or zero (v = v_reset = 0); then "
             "v = max(v, lower_bound * v_threshold) unless lower_bound is 'none'")
_IMPORTABLE = "Input, Output, Affine, Linear, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale, IF"


class NIRImportWarning(UserWarning):
    """A graph imported with assumed semantics (no nmpkit metadata): says which."""


def _nir() -> Any:
    try:
        import nir
    except ModuleNotFoundError as err:  # an optional extra
        raise NIRError("NIR support needs the 'nir' package: pip install 'nmpkit[nir]'") from err
    return nir


# ---- export -----------------------------------------------------------------------------------
def _pair(v: object) -> np.ndarray:
    return np.array(v if isinstance(v, tuple | list) else (v, v), dtype=np.int64)


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
                not o.get("count_include_pad", True) and np.any(_pair(o.get("padding", 0)))):
            raise NIRError(f"{where} (avg_pool2d from {op.source!r}) uses ceil_mode, "
                           f"divisor_override or count_include_pad=False ({o}), which NIR's "
                           "AvgPool2d cannot express; use the defaults")
        k = o["kernel_size"]
        s = o.get("stride") or k
        return nir.AvgPool2d(kernel_size=_pair(k), stride=_pair(s),
                             padding=_pair(o.get("padding", 0)))
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


def _plain(value: Any, where: str) -> Any:
    """A metadata value nir.write stores and nir.read gives back: str, int, float, array, dict."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str | int | float | np.ndarray):
        return value
    if isinstance(value, Tensor):
        return _np(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return np.asarray(value, dtype=np.float64)
        return ", ".join(str(v) for v in value)
    raise NIRError(f"metadata {where} = {value!r} ({type(value).__name__}) cannot be stored in "
                   "a NIR file; expected str, int, float, array or dict")


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
    nir = _nir()
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
        meta["calibration"] = _plain(dict(provenance), "calibration")
    if source is not None:
        meta["source"] = _plain(dict(source), "source")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:], strict=True)),
                        metadata={SCHEMA_KEY: meta}, type_check=True)


def calibration_provenance(calibration: Any, *, v_neg_volts: float | None,
                           path: str | Path | None = None, seed: int | None = None,
                           transfer: bool = True, refractory: bool = True) -> dict[str, Any]:
    """Where calibrated neurons came from, for ``to_nir(..., provenance=...)``.

    Args:
        calibration: the ``calib.Calibration`` the neurons were made from.
        v_neg_volts: the V_NEG whose floor the neurons carry (None: no floor).
        path: the calibration file (its sha256 is recorded); else the sha256 of its JSON.
        seed: the mismatch generator's seed, if mismatch was drawn.
    """
    import hashlib
    import json

    if path is not None:
        digest, file = hashlib.sha256(Path(path).read_bytes()).hexdigest(), str(path)
    else:
        text = json.dumps(calibration.to_dict(), sort_keys=True, default=str)
        digest, file = hashlib.sha256(text.encode()).hexdigest(), "none"
    cards: dict[str, str] = {}
    preset, netlist = "none", "none"
    for src in calibration.sources.values():
        prov = src.get("provenance", {}) if isinstance(src, dict) else {}
        mc = prov.get("model_cards")
        if isinstance(mc, dict) and "name" in mc:
            cards[str(mc["name"])] = str(mc.get("sha256", "none"))
        grid = prov.get("grid")
        if isinstance(grid, dict) and "name" in grid:
            preset = str(grid["name"])
        netlist = str(prov.get("netlist_sha256", netlist))
    return {"file": file, "sha256": digest, "preset": preset, "v_dd_volts": calibration.v_dd_volts,
            "v_neg_volts": "none" if v_neg_volts is None else float(v_neg_volts),
            "calibration_v_neg_volts": calibration.v_neg_volts, "model_cards": cards or "none",
            "netlist_sha256": netlist, "mismatch_seed": "none" if seed is None else int(seed),
            "transfer": int(transfer), "refractory": int(refractory)}


# ---- import -----------------------------------------------------------------------------------
def _value(v: Any) -> Any:
    """nir.read's numpy scalars and bytes back to plain Python (arrays stay arrays)."""
    if isinstance(v, Mapping):
        return {str(k): _value(x) for k, x in v.items()}
    if isinstance(v, bytes):
        return v.decode("utf8")
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    if isinstance(v, np.generic):
        return v.item()
    return v


def nir_metadata(graph: Any) -> dict[str, Any] | None:
    """The graph's ``metadata["nmpkit"]`` as plain Python, or None when it has none.

    Raises:
        NIRError: a schema version this code does not read.
    """
    meta = getattr(graph, "metadata", None) or {}
    if SCHEMA_KEY not in meta:
        return None
    m = _value(meta[SCHEMA_KEY])
    if not isinstance(m, dict) or m.get("schema_version") != SCHEMA_VERSION:
        got = m.get("schema_version") if isinstance(m, dict) else m
        raise NIRError(f"metadata['{SCHEMA_KEY}'] schema_version must be {SCHEMA_VERSION}, got "
                       f"{got!r}; this nmpkit reads version {SCHEMA_VERSION} only")
    return m


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
            int(p) for p in _pair(_a(node.padding).tolist()))
        opts = dict(stride=tuple(int(s) for s in _pair(_a(node.stride).tolist())), padding=pad,
                    dilation=tuple(int(d) for d in _pair(_a(node.dilation).tolist())),
                    groups=int(_a(node.groups)))
        return SynapticOp(kind="conv2d", source=source, weight=_tensor(node.weight),
                          bias=_tensor(node.bias), options=opts)
    if t in ("AvgPool2d", "SumPool2d"):
        if kind == "global_avg_pool":
            return SynapticOp(kind="global_avg_pool", source=source)
        k, s, p = (tuple(int(v) for v in _pair(_a(x).tolist()))
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
                  refractory_steps=int(meta.get("refractory_steps", 0)))
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
    nir = _nir()
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


def with_neuron(net: SpikingNetwork, **changes: Any) -> SpikingNetwork:
    """``net`` with every layer's neuron changed by ``dataclasses.replace(neuron, **changes)``."""
    base = net.neuron if net.neuron is not None else (IFNeuron(),) * len(net.layers)
    return replace(net, neuron=tuple(replace(n, **changes) for n in base))


__all__ = ["NIRImportWarning", "SCHEMA_KEY", "SCHEMA_VERSION", "calibration_provenance",
           "from_nir", "nir_metadata", "to_nir", "with_neuron"]
