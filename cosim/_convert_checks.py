"""Checks behind `cosim.convert`: the modules and weights a conversion can represent.

* `check_forward`: a module must behave as the class the conversion maps it as: a subclass of a
  supported class that overrides ``forward`` (a residual block written as an ``nn.Sequential``
  subclass, an ``nn.Linear`` adding something) or a module with forward hooks is refused;
* `check_weights`: parameters and buffers are floating point (never cast) and finite;
  BatchNorm variances >= 0;
* `check_state_dict`: a checkpoint against a model, before ``load_state_dict`` casts it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cosim.errors import ConversionError

_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
             nn.FeatureAlphaDropout, nn.Identity)
_SUPPORTED = ("Conv2d, ConvTranspose2d, Linear, ReLU, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, "
              "BatchNorm1d/2d (after a weighted layer), Dropout, nested Sequential")

_BASES = (nn.Sequential, nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.ReLU, nn.AvgPool2d,
          nn.AdaptiveAvgPool2d, nn.Flatten, nn.BatchNorm1d, nn.BatchNorm2d, *_DROPOUTS)
"""Classes whose own ``forward`` the conversion reproduces; a subclass must not replace it."""
_HELPERS = ("forward", "_conv_forward", "_check_input_dim", "_output_padding")


def check_forward(path: str, module: nn.Module) -> None:
    """Refuse a module whose behaviour differs from the class the conversion maps it as: a
    subclass with its own ``forward`` (e.g. a residual block written as an ``nn.Sequential``
    subclass, or an ``nn.Linear`` that adds something) or a module with forward hooks."""
    base = next((b for b in type(module).__mro__ if b in _BASES), None)
    if base is not None and type(module) is not base:
        changed = [h for h in _HELPERS
                   if getattr(type(module), h, None) is not getattr(base, h, None)]
        if changed:
            raise ConversionError(
                f"module {path!r} of type {type(module).__name__} subclasses nn.{base.__name__} "
                f"but overrides {changed[0]!r}, which the conversion cannot see (a residual "
                "connection, an extra operation); express it as a plain chain of "
                f"nn.{base.__name__} and supported layers, or convert the pieces separately; "
                "supported: " + _SUPPORTED)
    hooks = [n for n in ("_forward_hooks", "_forward_pre_hooks")
             if getattr(module, n, None)]
    if hooks:
        raise ConversionError(
            f"module {path!r} of type {type(module).__name__} has {hooks[0].strip('_')} "
            "registered, which change its output and cannot be converted; remove them")


_INTEGER_BUFFERS = {"num_batches_tracked"}


def check_weights(path: str, module: nn.Module) -> None:
    """Weights must be real floating-point and finite (checked, never cast); BatchNorm
    variances >= 0."""
    for pname, p in list(module.named_parameters()) + list(module.named_buffers()):
        if pname in _INTEGER_BUFFERS:
            continue
        if not torch.is_floating_point(p):
            raise ConversionError(
                f"module {path!r} of type {type(module).__name__}: {pname!r} has dtype "
                f"{p.dtype}, expected a floating-point tensor (float16/32/64, bfloat16); "
                "integer or complex weights are not cast: load a float checkpoint")
        if not bool(torch.isfinite(p).all()):
            raise ConversionError(
                f"module {path!r} of type {type(module).__name__} has NaN/Inf values in "
                f"{pname!r}; use a checkpoint with finite weights (retrain or fix it)")
    var = getattr(module, "running_var", None)
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d) and var is not None \
            and bool((var < 0).any()):
        raise ConversionError(
            f"module {path!r}: 'running_var' has negative values (min {float(var.min()):.3g}); "
            "a variance is >= 0: use an uncorrupted checkpoint")


def check_state_dict(state_dict: object, model: nn.Module, *, where: str = "state_dict") -> None:
    """Check a state_dict against ``model`` *before* ``load_state_dict`` (which casts silently):
    a dict of tensors with exactly the model's keys and shapes, floating-point where the model is
    (an int64 state_dict is refused, not evaluated at 0 %), finite.

    Raises:
        ConversionError: naming ``where``, the key, and what was found and expected.
    """
    if not isinstance(state_dict, dict):
        raise ConversionError(f"{where}: expected a dict of tensors, got "
                              f"{type(state_dict).__name__}")
    want = model.state_dict()
    missing = sorted(set(want) - set(state_dict))
    extra = sorted(set(state_dict) - set(want))
    if missing or extra:
        raise ConversionError(f"{where}: keys do not match the model: missing {missing[:3]}, "
                              f"unexpected {extra[:3]}")
    for key, ref in want.items():
        t = state_dict[key]
        if not isinstance(t, Tensor):
            raise ConversionError(f"{where}: {key!r} is a {type(t).__name__}, expected a tensor")
        if tuple(t.shape) != tuple(ref.shape):
            raise ConversionError(f"{where}: {key!r} has shape {tuple(t.shape)}, expected "
                                  f"{tuple(ref.shape)}")
        if torch.is_floating_point(ref) and not torch.is_floating_point(t):
            raise ConversionError(
                f"{where}: {key!r} has dtype {t.dtype}, expected a floating-point tensor like "
                f"the model's {ref.dtype}; integer weights are refused, not cast")
        if torch.is_floating_point(t) and not bool(torch.isfinite(t).all()):
            raise ConversionError(f"{where}: {key!r} holds NaN/Inf values")


__all__ = ["check_forward", "check_state_dict", "check_weights"]
