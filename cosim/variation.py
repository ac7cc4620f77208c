"""Device variation: each synapse a pair of programmable conductances, w = w_scale · (g⁺ − g⁻).

Conductances are in units of the device's maximum nominal conductance (dimensionless). A device
has ``levels`` nominal states ``g_nom(k) = g_min + k · Δg``, Δg = (1 − g_min) / (levels − 1),
reached from the reset state (k = 0) by potentiation pulses (k += 1) and left by depression pulses
(k −= 1). Its actual conductance is

    g = d2d · clip(g_nom(k) + ε, 0, 1),   ε = Σ over pulses of N(0, (σ_pulse · Δg)²),

with a log-normal device-to-device factor ``d2d = exp(σ_d2d · N(0, 1))`` fixed per device. So the
range is finite (``g ≤ d2d``), the levels are finite, every pulse adds programming noise, and no
two devices agree. Open-loop programming puts each weight's magnitude on one device of the pair
(the other stays at reset) at the nearest level.

``DevicePairArray`` holds the hidden state; callers that must not see it (the weight-modulation
loop) get only ``program`` through ``cosim.modulation.CountOracle``. ``weights()`` is the ground
truth, for evaluating a network after programming. Randomness comes from an explicit
``torch.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceModel:
    """A programmable conductance device (dimensionless conductances, max nominal = 1).

    Attributes:
        levels: nominal conductance states per device (≥ 2).
        g_min: lowest nominal conductance (reset state), in [0, 1).
        sigma_d2d: log-normal σ of the device-to-device conductance factor (0.1 = about 10 %).
        sigma_pulse: programming noise per pulse, in units of one level step Δg.
    """

    levels: int = 64
    g_min: float = 0.0
    sigma_d2d: float = 0.1
    sigma_pulse: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 2:
            raise ValueError(f"levels must be an int >= 2, got {self.levels!r}")
        if not (math.isfinite(self.g_min) and 0 <= self.g_min < 1):
            raise ValueError(f"g_min must be in [0, 1), got {self.g_min!r}")
        for name in ("sigma_d2d", "sigma_pulse"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")

    @property
    def step(self) -> float:
        """Nominal conductance change of one pulse, Δg."""
        return (1.0 - self.g_min) / (self.levels - 1)


class DevicePairArray:
    """A tensor of synapses, each a device pair; w = w_scale · (g⁺ − g⁻).

    Args:
        weights: target weights (any shape) that the pairs are open-loop programmed to.
        model: the device model.
        generator: the only source of randomness (d2d factors and programming noise).
        w_scale: weight of a full-range difference (g⁺ − g⁻ = 1); default max |weights|.
    """

    __slots__ = ("_g", "_k", "_eps", "_d2d", "model", "w_scale", "_gen", "pulses_applied")

    def __init__(self, weights: Tensor, model: DeviceModel, *, generator: torch.Generator,
                 w_scale: float | None = None) -> None:
        w = weights.detach().to(torch.float32)
        if not torch.isfinite(w).all():
            raise ValueError("weights must be finite")
        scale = float(w.abs().max()) if w_scale is None else float(w_scale)
        if not (math.isfinite(scale) and scale > 0):
            scale = 1.0
        self.model, self.w_scale, self._gen = model, scale, generator
        mag = (w.abs() / scale).clamp(max=1.0)
        k = torch.round((mag - model.g_min).clamp(min=0) / model.step).to(torch.int64)
        # index 0: g⁺, index 1: g⁻ (stacked on a leading axis)
        self._k = torch.stack([torch.where(w > 0, k, 0), torch.where(w < 0, k, 0)])
        self._eps = torch.zeros(self._k.shape, dtype=torch.float32)
        self._d2d = torch.exp(model.sigma_d2d * torch.randn(self._k.shape, generator=generator))
        self.pulses_applied = torch.zeros(w.shape, dtype=torch.int64)
        self._add_noise(self._k)  # open-loop programming: k pulses from reset

    @property
    def shape(self) -> torch.Size:
        return self._k.shape[1:]

    @property
    def weight_step(self) -> float:
        """Nominal weight change of one pulse (what a controller may know from the data sheet)."""
        return self.w_scale * self.model.step

    def _add_noise(self, n_pulses: Tensor) -> None:
        if self.model.sigma_pulse > 0:
            n = n_pulses.abs().to(torch.float32)
            z = torch.randn(self._eps.shape, generator=self._gen)
            self._eps += z * n.sqrt() * (self.model.sigma_pulse * self.model.step)

    def program(self, pulses: Tensor) -> Tensor:
        """Apply signed pulses per synapse: > 0 raises w, < 0 lowers it.

        A raise depresses g⁻ while it is above reset, then potentiates g⁺ (and mirrored for a
        lowering), so one device of a pair stays near reset. Pulses past a range end are applied
        (and cost noise) but do not move the level. Returns the number of pulses applied.
        """
        p = pulses.to(torch.int64)
        if p.shape != self.shape:
            raise ValueError(f"pulses must have shape {tuple(self.shape)}, got {tuple(p.shape)}")
        top = self.model.levels - 1
        kp, kn = self._k[0], self._k[1]
        up, down = p.clamp(min=0), (-p).clamp(min=0)
        dn_neg = torch.minimum(up, kn)  # raise: first depress g⁻
        up_pos = up - dn_neg
        dn_pos = torch.minimum(down, kp)  # lower: first depress g⁺
        up_neg = down - dn_pos
        moves = torch.stack([up_pos - dn_pos, up_neg - dn_neg])
        self._add_noise(torch.stack([up_pos + dn_pos, up_neg + dn_neg]))
        self._k = (self._k + moves).clamp(0, top)
        self.pulses_applied += p.abs()
        return p.abs()

    def weights(self) -> Tensor:
        """The true weights (ground truth; for evaluation, never for the controller)."""
        g_nom = self.model.g_min + self._k.to(torch.float32) * self.model.step
        g = self._d2d * (g_nom + self._eps).clamp(0.0, 1.0)
        return self.w_scale * (g[0] - g[1])


__all__ = ["DeviceModel", "DevicePairArray"]
