"""Integrate-and-fire neuron: parameters and ``if_step``, the one step every backend reproduces.

Quantities are dimensionless, in units of the nominal threshold (1.0 after conversion).
``if_step(state, current, p)`` is the specification (pure: no input is mutated, the new state is
returned); one step of a layer, for input current ``x`` (the synaptic current of this step):

    if refractory counter r > 0:  r -= 1; no spike; v unchanged (the input is discarded)
    else:
        x = transfer(gain * x)           # transfer: monotone piecewise-linear, optional
        v = v + x
        s = v >= threshold               # at most one spike per neuron per step
        v = v - s * threshold            # reset "subtract"  (or v = 0 where s, reset "zero")
        if x < 0:                        # the floor bounds inhibition (a mirror that stops
            v = max(v, floor)            # sinking at its compliance), not the reset:
                                         # floor = lower_bound * threshold; None = no floor (NMP)
                                         # (what it removes, floor - v, is the discarded charge)
        r = refractory_steps where s

Every membrane starts at ``v_init * threshold`` (default 0: rest), the state a circuit's membrane
controller sets before an input is applied (``IFNeuron.v_init``).

``lower_bound=None`` is NMP (no floor), ``0.0`` is ZMP, a negative value is a floor at that many
thresholds below rest. The ideal defaults reproduce the plain IF neuron exactly.

Why the floor binds only under negative input: for a floor at or below rest it makes no
difference (the membrane never goes below ``min(v_init, 0)`` without inhibition, and that is at
or above the floor), so ZMP and every negative floor are the textbook ``v = max(v, floor)`` bit
for bit. It matters for a floor *above* rest (``0 < lower_bound < 1``), which is what a circuit
gives whose inhibitory mirror stops sinking a little above the level a reset leaves (the study
neuron at V_NEG = 0 V: its membrane floors at ground, 0.022 θ above the post-reset level, while
the reset pulls it through its own rail): the reset can still leave the membrane below such a
floor, excitation moves it freely, and only an inhibitory step is held at (or lifted to) the
floor.

The floor has two names, one per unit: ``IFNeuron.lower_bound`` (and ``simulate``'s
``lower_bound=`` keyword) in threshold units; ``StepParams.floor`` (and the kernels' ``floor``
arrays in ``cosim/csrc/neuron.h``) the absolute membrane value ``lower_bound * threshold``.
The engine's in-place torch step (``cosim.engine``), the C++ step (``cosim/csrc/neuron.h``) and
the benchmark's plain loop are tested bit for bit against ``if_step`` (tests/cosim).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from cosim.errors import SimulationInputError

Reset = Literal["subtract", "zero"]
RESETS: tuple[str, ...] = ("subtract", "zero")


def _finite_tensor(name: str, value: Tensor) -> None:
    if not torch.is_floating_point(value):
        raise SimulationInputError(
            f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if not bool(torch.isfinite(value).all()):
        raise SimulationInputError(f"{name} must be finite, got a tensor with NaN/Inf entries")


@dataclass(frozen=True, slots=True, kw_only=True)
class IFNeuron:
    """A (possibly calibrated) integrate-and-fire neuron model for one or all spiking layers.

    Attributes:
        threshold: Spike threshold, > 0; a float or a per-neuron tensor that broadcasts to the
            layer's neuron shape ``(C, H, W)`` or ``(N,)``.
        gain: Multiplies the layer's input current every step; float or per-neuron tensor, >= 0.
        lower_bound: Floor of the membrane in threshold units (``None`` = no floor, NMP;
            ``0.0`` = ZMP; negative = that many thresholds below rest; positive (< 1) = a floor
            above rest that only inhibition meets, see the module docstring).
        reset: ``"subtract"`` (remove one threshold per spike) or ``"zero"``.
        transfer: Optional ``(xs, ys)``: a monotone piecewise-linear map applied elementwise to
            the per-step input after ``gain``; 1-D tensors of equal length >= 2, ``xs`` strictly
            increasing, ``ys`` non-decreasing; linear extrapolation outside ``xs``.
        refractory_steps: Steps after a spike during which the neuron ignores its input.
        v_init: The membrane at t = 0, in threshold units (default 0.0: at rest), e.g. where a
            circuit's membrane controller leaves it. A float in [min(lower_bound, 0), 1)
            (without a floor: any value < 1).
    """

    threshold: float | Tensor = 1.0
    gain: float | Tensor = 1.0
    lower_bound: float | None = None
    reset: Reset = "subtract"
    transfer: tuple[Tensor, Tensor] | None = None
    refractory_steps: int = 0
    v_init: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.threshold, Tensor):
            _finite_tensor("threshold", self.threshold)
            if not bool((self.threshold > 0).all()):
                raise SimulationInputError(
                    "threshold must be > 0 everywhere, got a tensor with entries <= 0")
        elif not (isinstance(self.threshold, int | float) and math.isfinite(self.threshold)
                  and self.threshold > 0):
            raise SimulationInputError(
                f"threshold must be a finite float > 0, got {self.threshold!r}")
        if isinstance(self.gain, Tensor):
            _finite_tensor("gain", self.gain)
            if not bool((self.gain >= 0).all()):
                raise SimulationInputError(
                    "gain must be >= 0 everywhere, got a tensor with negative entries")
        elif not (isinstance(self.gain, int | float) and math.isfinite(self.gain)
                  and self.gain >= 0):
            raise SimulationInputError(f"gain must be a finite float >= 0, got {self.gain!r}")
        lb = self.lower_bound
        if lb is not None and (isinstance(lb, bool) or not isinstance(lb, int | float)
                               or not math.isfinite(lb) or lb >= 1):
            raise SimulationInputError(
                f"lower_bound must be None (NMP, no floor), 0.0 (ZMP) or a finite float < 1 "
                f"(floor in threshold units, negative: below rest), got {lb!r}")
        if self.reset not in RESETS:
            raise SimulationInputError(f"reset must be one of {RESETS}, got {self.reset!r}")
        if self.transfer is not None:
            _check_transfer(self.transfer)
        r = self.refractory_steps
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise SimulationInputError(f"refractory_steps must be an int >= 0, got {r!r}")
        v0 = self.v_init
        if isinstance(v0, bool) or not isinstance(v0, int | float) or not math.isfinite(v0) \
                or v0 >= 1 or (lb is not None and v0 < min(lb, 0.0)):
            low = ("-inf" if lb is None else f"lower_bound {lb!r}" if lb <= 0
                   else f"0.0 (rest; lower_bound {lb!r} is above it)")
            raise SimulationInputError(
                f"v_init must be a finite float in [{low}, 1) (membrane at t = 0, threshold "
                f"units), got {v0!r}")

    @property
    def is_ideal(self) -> bool:
        """True when gain, transfer and refractoriness are the identity (plain IF)."""
        return (not isinstance(self.gain, Tensor) and self.gain == 1.0
                and self.transfer is None and self.refractory_steps == 0)


def _check_transfer(transfer: object) -> None:
    if not (isinstance(transfer, tuple) and len(transfer) == 2
            and all(isinstance(t, Tensor) for t in transfer)):
        raise SimulationInputError(
            f"transfer must be a tuple (xs, ys) of two tensors, got {transfer!r}")
    xs, ys = transfer
    if xs.ndim != 1 or ys.ndim != 1 or xs.numel() != ys.numel() or xs.numel() < 2:
        raise SimulationInputError(
            "transfer xs and ys must be 1-D of equal length >= 2, got shapes "
            f"{tuple(xs.shape)} and {tuple(ys.shape)}")
    _finite_tensor("transfer xs", xs)
    _finite_tensor("transfer ys", ys)
    if not bool((xs[1:] > xs[:-1]).all()):
        raise SimulationInputError(f"transfer xs must be strictly increasing, got {xs.tolist()}")
    if not bool((ys[1:] >= ys[:-1]).all()):
        raise SimulationInputError(
            f"transfer ys must be non-decreasing (monotone), got {ys.tolist()}")


def apply_transfer(x: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
    """Piecewise-linear ``ys(xs)`` at ``x``, extrapolating the end segments linearly."""
    n = xs.numel()
    idx = torch.searchsorted(xs, x.contiguous(), right=True).clamp_(1, n - 1) - 1
    x0, y0 = xs[idx], ys[idx]
    slope = (ys[idx + 1] - y0) / (xs[idx + 1] - x0)
    return y0 + (x - x0) * slope



@dataclass(frozen=True, slots=True, kw_only=True)
class StepParams:
    """One layer's neuron, ready for ``if_step``: tensors broadcast against the state.

    Attributes:
        threshold: float or a per-neuron tensor.
        floor: The absolute floor ``lower_bound * threshold`` (None: no floor).
        gain: None (identity), a float or a per-neuron tensor.
        transfer: None or ``(xs, ys)`` (see ``IFNeuron``).
        reset: ``"subtract"`` or ``"zero"``.
        refractory: Refractory steps after a spike (0: none).
        v0: The membrane at t = 0, ``v_init * threshold`` (0.0: rest).
        floor_gated: The floor is above rest (``lower_bound > 0``), so gating it on negative
            input (the rule) can differ from ``max(v, floor)``; False lets a backend clamp
            unconditionally (identical then, see the module docstring).
    """

    threshold: float | Tensor
    floor: float | Tensor | None
    gain: float | Tensor | None
    transfer: tuple[Tensor, Tensor] | None
    reset: Reset
    refractory: int
    v0: float | Tensor = 0.0
    floor_gated: bool = False

    @classmethod
    def of(cls, neuron: IFNeuron, per_neuron=None) -> StepParams:
        """From an ``IFNeuron``; ``per_neuron(name, tensor)`` lays out per-neuron tensors
        (default: as they are). Floats stay floats (the torch step then uses scalar ops)."""
        def lay(name: str, value: float | Tensor) -> float | Tensor:
            if not isinstance(value, Tensor):
                return float(value)
            return value if per_neuron is None else per_neuron(name, value)

        th = lay("threshold", neuron.threshold)
        ideal_gain = not isinstance(neuron.gain, Tensor) and neuron.gain == 1.0
        return cls(threshold=th,
                   floor=None if neuron.lower_bound is None else th * neuron.lower_bound,
                   gain=None if ideal_gain else lay("gain", neuron.gain),
                   transfer=neuron.transfer, reset=neuron.reset,
                   refractory=neuron.refractory_steps,
                   v0=0.0 if neuron.v_init == 0 else th * float(neuron.v_init),
                   floor_gated=neuron.lower_bound is not None and neuron.lower_bound > 0)

    def apply_transfer(self, x: Tensor) -> Tensor:
        return apply_transfer(x, *self.transfer)


class IFState(NamedTuple):
    """A layer's state: membrane ``v``, refractory counters ``r`` (int32; None = all 0) and,
    when kept (not None), ``d``: the charge the floor has discarded so far, per neuron (the sum
    of floor - v over the steps where v fell below the floor; absolute units)."""

    v: Tensor
    r: Tensor | None = None
    d: Tensor | None = None


def if_step(state: IFState | Tensor, current: Tensor,
            p: StepParams | IFNeuron) -> tuple[Tensor, IFState]:
    """One IF step (the module docstring's rule), without mutating any argument.

    Args:
        state: ``IFState`` (or a bare membrane tensor: no neuron refractory).
        current: This step's input current, broadcastable to ``state.v``.
        p: The neuron (``IFNeuron`` parameters broadcast against ``v`` as they are).

    Returns:
        ``(spikes, state)``: 0/1 spikes in ``v``'s dtype and the new state (``r`` is an int32
        tensor when ``p`` has refractory steps, else what it was).
    """
    if isinstance(p, IFNeuron):
        p = StepParams.of(p)
    v, r, d = (state, None, None) if isinstance(state, Tensor) else state
    x = current
    if p.gain is not None:
        x = x * p.gain
    if p.transfer is not None:
        x = apply_transfer(x, *p.transfer)
    active = None
    if p.refractory:
        r = torch.zeros(v.shape, dtype=torch.int32, device=v.device) if r is None else r
        active = r == 0
        x = torch.where(active, x, 0.0)  # the input of a refractory neuron is discarded
    v = v + x
    fired = v >= p.threshold
    if active is not None:
        fired = fired & active
    spikes = fired.to(v.dtype)
    v = torch.where(fired, 0.0, v) if p.reset == "zero" else v - spikes * p.threshold
    if p.floor is not None:  # the floor bounds inhibition: it binds where x < 0
        floor = torch.as_tensor(p.floor, dtype=v.dtype, device=v.device)
        held = torch.where(x < 0, torch.maximum(v, floor), v)
        if d is not None:
            d = d + (held - v)
        v = held
    if active is not None:
        r = torch.where(fired, p.refractory, (r - 1).clamp(min=0)).to(torch.int32)
    return spikes, IFState(v, r, d)


__all__ = ["IFNeuron", "IFState", "RESETS", "Reset", "StepParams", "apply_transfer", "if_step"]
