"""ANN → SNN conversion: a ``torch.nn`` chain of modules → a ``SpikingNetwork``.

Walks the model's leaves in order (nested ``nn.Sequential`` are flattened). Linear ops accumulate
into the pending layer; a ``ReLU`` closes it into a spiking layer; whatever ops remain at the end
form the output layer (which spikes too). BatchNorm folds into the op before it, Dropout and
Identity vanish. With a calibration batch, each layer is normalized by the given percentile
``λ_l`` of its positive activations (Rueckauer et al. 2017): the first weighted op of layer ``l``
is scaled by ``λ_{l-1}/λ_l`` and every bias in the layer by ``1/λ_l``, so rates estimate
``activation / λ_l``. A layer without weights (e.g. a final global average pooling) gets an
explicit ``scale`` op carrying ``λ_{l-1}/λ_l``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from cosim.errors import ConversionError
from cosim.network import WEIGHTED, SpikingLayer, SpikingNetwork, SynapticOp, apply_ops

_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
             nn.FeatureAlphaDropout, nn.Identity)
_OTHER_ACTIVATIONS = (nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.ReLU6,
                      nn.PReLU, nn.SELU, nn.CELU, nn.Softplus, nn.Hardtanh, nn.Hardswish,
                      nn.Hardsigmoid, nn.Mish, nn.Softmax, nn.LogSoftmax, nn.Threshold)
_SUPPORTED = ("Conv2d, ConvTranspose2d, Linear, ReLU, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, "
              "BatchNorm1d/2d (after a weighted layer), Dropout, nested Sequential")


def _leaves(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    if isinstance(module, nn.Sequential):
        out = []
        for name, child in module.named_children():
            out += _leaves(child, f"{prefix}.{name}" if prefix else name)
        return out
    if any(True for _ in module.children()):
        path = prefix or "<model>"
        raise ConversionError(
            f"module {path!r} of type {type(module).__name__} has submodules and its own forward "
            "(possible branches or functional calls), which cannot be converted; express the "
            "model as a chain of nn.Sequential of " + _SUPPORTED)
    return [(prefix or "<model>", module)]


def _check_finite(path: str, module: nn.Module) -> None:
    for pname, p in list(module.named_parameters()) + list(module.named_buffers()):
        if torch.is_floating_point(p) and not bool(torch.isfinite(p).all()):
            raise ConversionError(
                f"module {path!r} of type {type(module).__name__} has NaN/Inf values in "
                f"{pname!r}; use a checkpoint with finite weights (retrain or fix it)")


def _unsupported(path: str, module: nn.Module, instead: str) -> ConversionError:
    return ConversionError(
        f"module {path!r} of type {type(module).__name__} is not supported; {instead}")


def _padding_mode(path: str, m: nn.Module) -> None:
    if m.padding_mode != "zeros":
        raise _unsupported(path, m, f"padding_mode={m.padding_mode!r}: use padding_mode='zeros'")


def _op_for(path: str, m: nn.Module) -> SynapticOp | None:
    def t(x: Tensor | None) -> Tensor | None:
        return None if x is None else x.detach().clone().float()

    if isinstance(m, nn.Conv2d):
        _padding_mode(path, m)
        return SynapticOp(kind="conv2d", source=path, weight=t(m.weight), bias=t(m.bias),
                          options=dict(stride=m.stride, padding=m.padding, dilation=m.dilation,
                                       groups=m.groups))
    if isinstance(m, nn.ConvTranspose2d):
        _padding_mode(path, m)
        return SynapticOp(kind="conv_transpose2d", source=path, weight=t(m.weight),
                          bias=t(m.bias),
                          options=dict(stride=m.stride, padding=m.padding,
                                       output_padding=m.output_padding, groups=m.groups,
                                       dilation=m.dilation))
    if isinstance(m, nn.Linear):
        return SynapticOp(kind="linear", source=path, weight=t(m.weight), bias=t(m.bias))
    if isinstance(m, nn.AvgPool2d):
        return SynapticOp(kind="avg_pool2d", source=path,
                          options=dict(kernel_size=m.kernel_size, stride=m.stride,
                                       padding=m.padding, ceil_mode=m.ceil_mode,
                                       count_include_pad=m.count_include_pad,
                                       divisor_override=m.divisor_override))
    if isinstance(m, nn.AdaptiveAvgPool2d):
        size = m.output_size
        if size not in (1, (1, 1), [1, 1]):
            raise _unsupported(path, m, f"output_size={size!r}: only AdaptiveAvgPool2d(1) "
                               "(global average pooling) converts; use AvgPool2d otherwise")
        return SynapticOp(kind="global_avg_pool", source=path)
    if isinstance(m, nn.Flatten):
        if m.start_dim not in (1, -3, -2) and m.start_dim != 1:
            raise _unsupported(path, m, f"start_dim={m.start_dim}: flatten from dim 1 "
                               "(keep the batch dimension)")
        return SynapticOp(kind="flatten", source=path,
                          options=dict(start_dim=m.start_dim, end_dim=m.end_dim))
    return None


def _fold_bn(path: str, bn: nn.Module, op: SynapticOp) -> SynapticOp:
    if bn.running_mean is None or bn.running_var is None:
        raise _unsupported(path, bn, "track_running_stats=False has no fixed statistics to "
                           "fold; use BatchNorm with track_running_stats=True")
    with torch.no_grad():
        s = 1.0 / torch.sqrt(bn.running_var.double() + bn.eps)
        shift = -bn.running_mean.double() * s
        if bn.weight is not None:
            s = s * bn.weight.double()
            shift = shift * bn.weight.double()
        if bn.bias is not None:
            shift = shift + bn.bias.double()
        w = op.weight.double()
        n_out = s.numel()
        if op.kind == "conv_transpose2d":
            g = op.options["groups"]
            wg = w.reshape(g, w.shape[0] // g, w.shape[1], *w.shape[2:])
            w = (wg * s.reshape(g, 1, n_out // g, 1, 1)).reshape(w.shape)
        else:
            if w.shape[0] != n_out:
                raise _unsupported(path, bn, f"num_features={n_out} does not match the "
                                   f"{w.shape[0]} outputs of {op.source!r}")
            w = w * s.reshape(-1, *([1] * (w.ndim - 1)))
        b = op.bias.double() if op.bias is not None else torch.zeros(n_out, dtype=torch.float64)
        b = b * s + shift
    return op.with_tensors(w.float(), b.float())


def _build_groups(model: nn.Module) -> list[tuple[str, list[SynapticOp], bool]]:
    groups: list[tuple[str, list[SynapticOp], bool]] = []
    pending: list[SynapticOp] = []
    for path, m in _leaves(model, ""):
        _check_finite(path, m)
        if isinstance(m, _DROPOUTS):
            continue
        if isinstance(m, nn.ReLU):
            if not any(op.kind != "flatten" for op in pending):
                raise _unsupported(path, m, "a ReLU must follow a Conv2d, ConvTranspose2d, "
                                   "Linear or pooling layer (no leading or repeated ReLU)")
            groups.append((path, pending, True))
            pending = []
            continue
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            if not pending or pending[-1].kind not in WEIGHTED:
                raise _unsupported(path, m, "BatchNorm folds only into the Conv2d, "
                                   "ConvTranspose2d or Linear directly before it; move it there")
            pending[-1] = _fold_bn(path, m, pending[-1])
            continue
        if isinstance(m, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d | nn.AdaptiveMaxPool2d):
            raise _unsupported(path, m, "max pooling has no rate-coded IF equivalent here; "
                               "use AvgPool2d (or a strided Conv2d) and retrain")
        if isinstance(m, _OTHER_ACTIVATIONS):
            raise _unsupported(path, m, "only ReLU activations convert to IF neurons; use "
                               "nn.ReLU (a final Softmax can be dropped: argmax is unchanged)")
        op = _op_for(path, m)
        if op is None:
            raise _unsupported(path, m, "supported modules: " + _SUPPORTED)
        pending.append(op)
    if any(op.kind != "flatten" for op in pending):
        groups.append((pending[-1].source, pending, False))
    elif pending and groups:  # trailing Flatten after the last ReLU: flatten the output layer
        name, ops, relu = groups[-1]
        groups[-1] = (name, ops + pending, relu)
    if not groups:
        raise ConversionError("model has no convertible layers; expected a chain of "
                              + _SUPPORTED)
    return groups


def _percentile(a: Tensor, q: float) -> float:
    pos = a[a > 0]
    if pos.numel() == 0:
        return 1.0  # a layer that never activates: any scale gives rate 0
    return float(np.percentile(pos.double().cpu().numpy(), q))


def convert(model: nn.Module, calibration_inputs: Tensor | None = None, *,
            percentile: float = 99.99,
            input_shape: tuple[int, ...] | None = None) -> SpikingNetwork:
    """Convert a trained ReLU network into a network of IF neurons.

    Args:
        model: A ``torch.nn.Module`` chain (``nn.Sequential``, nested allowed) of Conv2d (any
            stride/padding), ConvTranspose2d, Linear, ReLU, AvgPool2d, AdaptiveAvgPool2d(1),
            Flatten, Dropout (removed), BatchNorm1d/2d (folded into the layer before it).
        calibration_inputs: (B, ...) batch for data-based normalization, or ``None`` to use the
            weights as they are (every threshold 1).
        percentile: Percentile of each layer's positive activations over the batch used as the
            layer's scale, in (0, 100]; 100 = the maximum.
        input_shape: Shape of one sample, when no calibration batch gives it.

    Returns:
        The ``SpikingNetwork``; ``layers[-1]`` is the output layer.

    Raises:
        ConversionError: a module that cannot be converted (naming its path, type and what to
            use instead), NaN/Inf weights, or a bad ``percentile``.
    """
    if not (isinstance(percentile, int | float) and 0 < percentile <= 100):
        raise ConversionError(f"percentile must be in (0, 100], got {percentile!r}")
    if not isinstance(model, nn.Module):
        raise ConversionError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    groups = _build_groups(model)
    scales = [1.0] * len(groups)
    if calibration_inputs is not None:
        x = torch.as_tensor(calibration_inputs).detach().float().cpu()
        if x.ndim < 2 or not bool(torch.isfinite(x).all()):
            raise ConversionError("calibration_inputs must be a finite (B, ...) batch, got "
                                  f"shape {tuple(x.shape)}")
        input_shape = tuple(x.shape[1:])
        with torch.no_grad():
            for i, (_, ops, relu) in enumerate(groups):
                x = apply_ops(tuple(ops), x)
                if relu:
                    x = torch.relu(x)
                scales[i] = _percentile(x, percentile)
    layers = []
    prev = 1.0
    for (name, ops, relu), lam in zip(groups, scales, strict=True):
        ops = _normalize(ops, prev, lam)
        layers.append(SpikingLayer(name=name, ops=tuple(ops), shape=(), scale=lam, relu=relu))
        prev = lam
    if input_shape is None and groups[0][1][0].kind == "linear":
        input_shape = (groups[0][1][0].weight.shape[1],)
    net = SpikingNetwork(layers=tuple(layers), input_shape=tuple(input_shape or ()))
    return resolve_shapes(net, input_shape) if input_shape else net


def _normalize(ops: list[SynapticOp], prev: float, lam: float) -> list[SynapticOp]:
    if prev == 1.0 and lam == 1.0:
        return ops
    out, first = [], True
    for op in ops:
        if op.kind in WEIGHTED:
            w = op.weight * (prev / lam) if first else op.weight
            b = None if op.bias is None else op.bias / lam
            op, first = op.with_tensors(w, b), False
        out.append(op)
    if first:  # no weights to carry λ_{l-1}/λ_l: an explicit scale op
        out.append(SynapticOp(kind="scale", source=ops[-1].source + ":normalization",
                              weight=torch.tensor(prev / lam)))
    return out


def resolve_shapes(net: SpikingNetwork, input_shape: tuple[int, ...]) -> SpikingNetwork:
    """``net`` with every layer's neuron shape computed for inputs of ``input_shape``."""
    x = torch.zeros((1, *input_shape))
    layers = []
    with torch.no_grad():
        for ly in net.layers:
            try:
                x = apply_ops(ly.ops, x)
            except RuntimeError as err:
                raise ConversionError(
                    f"layer {ly.name!r} cannot take input of shape {tuple(x.shape[1:])} "
                    f"(from input_shape={tuple(input_shape)}): {err}") from err
            layers.append(SpikingLayer(name=ly.name, ops=ly.ops, shape=tuple(x.shape[1:]),
                                       scale=ly.scale, relu=ly.relu))
    return SpikingNetwork(layers=tuple(layers), input_shape=tuple(input_shape), neuron=net.neuron)


__all__ = ["convert", "resolve_shapes"]
