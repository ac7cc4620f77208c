"""The weight-modulation loop: closed-loop programming that observes only firing counts.

One layer: synapses ``w[i, j]`` from input ``j`` to neuron ``i`` (a conv layer flattened to
``(C_out, C_in·k·k)``, read on one representative neuron per output channel). The controller

1. drives every postsynaptic neuron with a known bias ``b`` per step for ``window`` steps and reads
   its count ``n0[i]``;
2. for each input ``j`` alone, sends a regular spike train of ``m[j]`` spikes (rate ``r[j]``) on top
   of the bias and reads ``n[i, j]`` — all posts at once, one experiment per input;
3. estimates the effective weight ``ŵ = (n − n0) / m``, i.e. gain·w/θ of that neuron: the neuron's
   own gain and threshold error are inside the estimate, so programming ``ŵ`` to the target
   compensates them;
4. applies ``round((target − ŵ) / weight_step)`` pulses (at most ``max_pulses_per_iter``) to every
   synapse outside the tolerance that has pulse budget left; repeats up to ``max_iterations``.

The count resolution is 1/m per experiment, so ``window`` trades time for precision (the default
tolerance is the larger of one weight step and 2/m; the default window makes 2/m one weight
step). A constant drive is counted in closed form, a slower input train step by step. The
controller sees the devices only through ``CountOracle`` — ``program(pulses)`` and
``count(...)`` — and never their conductances.

Count model of the oracle (one experiment, NMP neuron, reset by subtraction, ≤ 1 spike per step):
``v += T(gain·(b + w·s_j(t))); spike if v ≥ θ; v −= θ·spike``, with ``s_j`` the spikes of an ideal
IF driven by ``r[j]`` and T the neuron's transfer curve (identity when none is given) — the same
per-step neuron as ``cosim.IFNeuron``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from cosim.variation import DevicePairArray


class CountObserver(Protocol):
    """What the controller may touch: pulses in, counts out."""

    def program(self, pulses: Tensor) -> Tensor: ...

    def count(self, rates: Tensor | None, *, window: int, bias: float) -> Tensor: ...


def _constant_count(x: Tensor, thr: Tensor, window: int) -> Tensor:
    """Spikes of an IF neuron (from 0, subtractive reset, ≤ 1 per step) under constant input x."""
    n = torch.floor(window * x.double() / thr.double() + 1e-9)
    return n.clamp(0, window).to(torch.float32)


def _regular_train(rates: Tensor, window: int) -> Tensor:
    """Spikes (window, N) of an ideal IF neuron driven by constant ``rates`` per step."""
    v = torch.zeros_like(rates)
    out = torch.empty((window, *rates.shape), dtype=rates.dtype)
    for t in range(window):
        v += rates
        s = (v >= 1.0).to(rates.dtype)
        v -= s
        out[t] = s
    return out


class CountOracle:
    """A layer of synapses (a DevicePairArray) feeding neurons with gain/threshold mismatch.

    Args:
        devices: the synapses, shape (N_out, N_in).
        gain, threshold: (N_out,) per-neuron mismatch of the postsynaptic neurons.
    """

    __slots__ = ("_dev", "_gain", "_thr", "_transfer", "experiments")

    def __init__(self, devices: DevicePairArray, gain: Tensor | float = 1.0,
                 threshold: Tensor | float = 1.0,
                 transfer: tuple[Tensor, Tensor] | None = None) -> None:
        if len(devices.shape) != 2:
            raise ValueError(f"devices must be (N_out, N_in), got shape {tuple(devices.shape)}")
        n_out = devices.shape[0]
        self._dev = devices
        self._gain = torch.as_tensor(gain, dtype=torch.float32).expand(n_out).clone()
        self._thr = torch.as_tensor(threshold, dtype=torch.float32).expand(n_out).clone()
        self._transfer = transfer
        self.experiments = 0

    def program(self, pulses: Tensor) -> Tensor:
        return self._dev.program(pulses)

    def count(self, rates: Tensor | None, *, window: int, bias: float) -> Tensor:
        """Counts over ``window`` steps: (N_out,) for bias only (``rates`` None), else
        (N_out, N_in), one independent experiment per input j driven at ``rates[j]``.

        A constant drive (bias alone, or an input at rate 1: a spike every step) integrates
        linearly, so its count is ``clip(floor(window · x / θ), 0, window)`` (float64); inputs at
        lower rates run the step loop.
        """
        gain, thr = self._gain[:, None], self._thr[:, None]
        if rates is None:
            self.experiments += 1
            return _constant_count(self._tr(gain * bias), thr, window)[:, 0]
        w = self._dev.weights()
        rates = rates.to(torch.float32)
        n = torch.empty_like(w)
        const = rates >= 1.0
        if bool(const.any()):
            n[:, const] = _constant_count(self._tr(gain * (bias + w[:, const])), thr, window)
        idx = (~const).nonzero().reshape(-1)
        if idx.numel():
            n[:, idx] = self._loop(w[:, idx], rates[idx], gain, thr, window, bias)
        self.experiments += w.shape[1]
        return n

    def _loop(self, w: Tensor, rates: Tensor, gain: Tensor, thr: Tensor, window: int,
              bias: float) -> Tensor:
        train = _regular_train(rates, window)
        v = torch.zeros_like(w)
        n = torch.zeros_like(w)
        # two possible inputs per step: bias alone, or bias plus the synapse
        x0 = self._tr(gain * bias).expand_as(w)
        dx = self._tr(gain * (bias + w)) - x0
        for t in range(window):
            v += x0
            v.addcmul_(dx, train[t])
            s = v >= thr
            v -= torch.where(s, thr, 0.0)
            n += s
        return n

    def _tr(self, x: Tensor) -> Tensor:
        if self._transfer is None:
            return x
        from cosim.neuron import apply_transfer

        return apply_transfer(x, *self._transfer)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModulationConfig:
    """Parameters of the loop.

    Attributes:
        window: steps per measurement (precision ≈ 1/(rate·window)); None = per layer, the
            shortest window whose count resolution (2 counts) matches one pulse's weight step,
            within [64, max_window].
        max_window: cap of the automatic window.
        bias: per-step bias drive (θ units) that keeps the neuron in its linear range so negative
            weights show up as fewer spikes.
        tolerance: stop when |target − estimate| ≤ tolerance; default max(weight_step, 2/m).
        max_iterations: measurement/programming rounds.
        max_pulses_per_iter: pulses per synapse per round (cap).
        pulse_budget: pulses per synapse in total.
    """

    window: int | None = None
    max_window: int = 16384
    bias: float = 0.5
    tolerance: float | None = None
    max_iterations: int = 12
    max_pulses_per_iter: int = 8
    pulse_budget: int = 64

    def __post_init__(self) -> None:
        for name in ("window", "max_window", "max_iterations", "max_pulses_per_iter",
                     "pulse_budget"):
            v = getattr(self, name)
            if name == "window" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if not (math.isfinite(self.bias) and 0 < self.bias < 1):
            raise ValueError(f"bias must be in (0, 1), got {self.bias!r}")
        if self.tolerance is not None and not (math.isfinite(self.tolerance)
                                               and self.tolerance > 0):
            raise ValueError(f"tolerance must be > 0, got {self.tolerance!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModulationReport:
    """What the loop did. Errors are of the count-based estimates (the controller's view)."""

    iterations: int
    pulses_total: int
    experiments: int
    window: int
    measurement_steps: int  # experiments × window: time on the chip, in timesteps
    tolerance: float
    initial_error_rms: float
    residual_error_rms: float
    residual_error_max: float
    n_synapses: int
    n_not_converged: int
    not_converged: Tensor  # (K, 2) indices (i, j) of synapses outside tolerance at the end


@dataclass(frozen=True, slots=True, kw_only=True)
class ModulationResult:
    """New tensors of the loop: its final estimates and pulses per synapse, and the report."""

    estimate: Tensor  # (N_out, N_in) effective weights as last measured
    pulses: Tensor  # (N_out, N_in) pulses applied per synapse
    converged: Tensor  # (N_out, N_in) bool
    report: ModulationReport


def _measure(oracle: CountObserver, rates: Tensor, cfg: ModulationConfig, window: int) -> Tensor:
    n0 = oracle.count(None, window=window, bias=cfg.bias)
    n = oracle.count(rates, window=window, bias=cfg.bias)
    m = torch.floor(rates * window + 1e-6)  # spikes of the regular train (known)
    return (n - n0[:, None]) / m.clamp(min=1.0)[None, :]


def modulate(oracle: CountObserver, target: Tensor, *, weight_step: float,
             config: ModulationConfig | None = None) -> ModulationResult:
    """Program a layer's synapses to ``target`` by firing counts alone.

    Args:
        oracle: pulses in, counts out (nothing else is used).
        target: (N_out, N_in) desired effective weights (θ units).
        weight_step: nominal weight change per pulse (data-sheet knowledge).
        config: loop parameters.

    Returns:
        ModulationResult with the final estimates, pulses per synapse, convergence mask, report.
    """
    cfg = config or ModulationConfig()
    if target.ndim != 2:
        raise ValueError(f"target must be (N_out, N_in), got shape {tuple(target.shape)}")
    if not (math.isfinite(weight_step) and weight_step > 0):
        raise ValueError(f"weight_step must be > 0, got {weight_step!r}")
    target = target.detach().to(torch.float32)
    # input rate per experiment: keep bias ± rate·|w| inside (0, 1) with margin for gain errors
    span = min(cfg.bias, 1.0 - cfg.bias) * 0.8
    wmax = target.abs().amax(dim=0) + 2 * weight_step
    rates = torch.clamp(span / wmax, max=1.0)
    r_min = float(rates.min())
    window = cfg.window or int(min(cfg.max_window,
                                   max(64, math.ceil(2.0 / (r_min * weight_step)))))
    m_min = float(torch.floor(rates * window).min().clamp(min=1.0))
    tol = cfg.tolerance if cfg.tolerance is not None else max(weight_step, 2.0 / m_min)
    pulses = torch.zeros(target.shape, dtype=torch.int64)
    est = _measure(oracle, rates, cfg, window)
    err = target - est
    initial_rms = float(err.pow(2).mean().sqrt())
    it = 0
    for it in range(1, cfg.max_iterations + 1):
        todo = err.abs() > tol
        left = cfg.pulse_budget - pulses
        if not bool((todo & (left > 0)).any()):
            it -= 1
            break
        p = torch.round(err / weight_step).to(torch.int64)
        p = p.clamp(-cfg.max_pulses_per_iter, cfg.max_pulses_per_iter)
        p = torch.maximum(torch.minimum(p, left), -left)
        p = torch.where(todo, p, torch.zeros_like(p))
        p = torch.where(todo & (p == 0), torch.sign(err).to(torch.int64) * (left > 0), p)
        oracle.program(p)
        pulses += p.abs()
        est = _measure(oracle, rates, cfg, window)
        err = target - est
    ok = err.abs() <= tol
    bad = (~ok).nonzero()
    report = ModulationReport(
        iterations=it, pulses_total=int(pulses.sum()),
        experiments=(it + 1) * (target.shape[1] + 1), window=window,
        measurement_steps=(it + 1) * (target.shape[1] + 1) * window, tolerance=tol,
        initial_error_rms=initial_rms, residual_error_rms=float(err.pow(2).mean().sqrt()),
        residual_error_max=float(err.abs().max()), n_synapses=target.numel(),
        n_not_converged=int(bad.shape[0]), not_converged=bad,
    )
    return ModulationResult(estimate=est, pulses=pulses, converged=ok, report=report)


__all__ = ["CountObserver", "CountOracle", "ModulationConfig", "ModulationReport",
           "ModulationResult", "modulate"]
