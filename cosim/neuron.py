"""Integrate-and-fire neuron: parameters and the one-step update every schedule reproduces.

Quantities are dimensionless, in units of the nominal threshold (1.0 after conversion).
One step of a layer, for input current ``x`` (the synaptic current of this step):

    if refractory counter r > 0:  r -= 1; no spike; v unchanged (the input is discarded)
    else:
        x = transfer(gain * x)           # transfer: monotone piecewise-linear, optional
        v = v + x
        s = v >= threshold               # at most one spike per neuron per step
        v = v - s * threshold            # reset "subtract"  (or v = 0 where s, reset "zero")
        v = max(v, lower_bound * threshold)   # floor after reset; None = no floor (NMP)
        r = refractory_steps where s

``lower_bound=None`` is NMP (no floor), ``0.0`` is ZMP, a negative value is a floor at that many
thresholds below rest. The ideal defaults reproduce the plain IF neuron exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

Reset = Literal["subtract", "zero"]
RESETS: tuple[str, ...] = ("subtract", "zero")


def _finite_tensor(name: str, value: Tensor) -> None:
    if not torch.is_floating_point(value):
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must be finite, got a tensor with NaN/Inf entries")


@dataclass(frozen=True, slots=True, kw_only=True)
class IFNeuron:
    """A (possibly calibrated) integrate-and-fire neuron model for one or all spiking layers.

    Attributes:
        threshold: Spike threshold, > 0; a float or a per-neuron tensor that broadcasts to the
            layer's neuron shape ``(C, H, W)`` or ``(N,)``.
        gain: Multiplies the layer's input current every step; float or per-neuron tensor, >= 0.
        lower_bound: Floor of the membrane in threshold units (``None`` = no floor, NMP;
            ``0.0`` = ZMP; negative = that many thresholds below rest). Must be <= 0.
        reset: ``"subtract"`` (remove one threshold per spike) or ``"zero"``.
        transfer: Optional ``(xs, ys)``: a monotone piecewise-linear map applied elementwise to
            the per-step input after ``gain``; 1-D tensors of equal length >= 2, ``xs`` strictly
            increasing, ``ys`` non-decreasing; linear extrapolation outside ``xs``.
        refractory_steps: Steps after a spike during which the neuron ignores its input.
    """

    threshold: float | Tensor = 1.0
    gain: float | Tensor = 1.0
    lower_bound: float | None = None
    reset: Reset = "subtract"
    transfer: tuple[Tensor, Tensor] | None = None
    refractory_steps: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.threshold, Tensor):
            _finite_tensor("threshold", self.threshold)
            if not bool((self.threshold > 0).all()):
                raise ValueError("threshold must be > 0 everywhere, got a tensor with entries <= 0")
        elif not (isinstance(self.threshold, int | float) and math.isfinite(self.threshold)
                  and self.threshold > 0):
            raise ValueError(f"threshold must be a finite float > 0, got {self.threshold!r}")
        if isinstance(self.gain, Tensor):
            _finite_tensor("gain", self.gain)
            if not bool((self.gain >= 0).all()):
                raise ValueError("gain must be >= 0 everywhere, got a tensor with negative entries")
        elif not (isinstance(self.gain, int | float) and math.isfinite(self.gain)
                  and self.gain >= 0):
            raise ValueError(f"gain must be a finite float >= 0, got {self.gain!r}")
        lb = self.lower_bound
        if lb is not None and not (isinstance(lb, int | float) and math.isfinite(lb) and lb <= 0):
            raise ValueError(
                f"lower_bound must be None (no floor) or a finite float <= 0, got {lb!r}")
        if self.reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {self.reset!r}")
        if self.transfer is not None:
            _check_transfer(self.transfer)
        r = self.refractory_steps
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValueError(f"refractory_steps must be an int >= 0, got {r!r}")

    @property
    def is_ideal(self) -> bool:
        """True when gain, transfer and refractoriness are the identity (plain IF)."""
        return (not isinstance(self.gain, Tensor) and self.gain == 1.0
                and self.transfer is None and self.refractory_steps == 0)


def _check_transfer(transfer: object) -> None:
    if not (isinstance(transfer, tuple) and len(transfer) == 2
            and all(isinstance(t, Tensor) for t in transfer)):
        raise ValueError(f"transfer must be a tuple (xs, ys) of two tensors, got {transfer!r}")
    xs, ys = transfer
    if xs.ndim != 1 or ys.ndim != 1 or xs.numel() != ys.numel() or xs.numel() < 2:
        raise ValueError("transfer xs and ys must be 1-D of equal length >= 2, got shapes "
                         f"{tuple(xs.shape)} and {tuple(ys.shape)}")
    _finite_tensor("transfer xs", xs)
    _finite_tensor("transfer ys", ys)
    if not bool((xs[1:] > xs[:-1]).all()):
        raise ValueError(f"transfer xs must be strictly increasing, got {xs.tolist()}")
    if not bool((ys[1:] >= ys[:-1]).all()):
        raise ValueError(f"transfer ys must be non-decreasing (monotone), got {ys.tolist()}")


def apply_transfer(x: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
    """Piecewise-linear ``ys(xs)`` at ``x``, extrapolating the end segments linearly."""
    n = xs.numel()
    idx = torch.searchsorted(xs, x.contiguous(), right=True).clamp_(1, n - 1) - 1
    x0, y0 = xs[idx], ys[idx]
    slope = (ys[idx + 1] - y0) / (xs[idx + 1] - x0)
    return y0 + (x - x0) * slope


__all__ = ["IFNeuron", "RESETS", "Reset", "apply_transfer"]
