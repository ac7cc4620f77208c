"""Calibrated neurons: a `calib.Calibration` turned into `cosim.IFNeuron`s for `simulate`.

For a chosen V_NEG the neuron gets the circuit's membrane floor (``calibration.floor_theta``, in θ
units), the transfer nonlinearity and maximum rate (``calibration.transfer_theta``: input per step
x → the input an ideal IF needs to fire at the circuit's rate; the curve measured at that
V_NEG when the f–I table has it, else the operating point's; below 0 its slope is the measured
inhibitory / excitatory mirror gain at that V_NEG, ``calibration.inh_gain_ratio``, kept also
with ``transfer=False``), a refractory time of the spike
width (in whole steps), and — when a generator is given — per-neuron mismatch:

    rate gain g ~ N(gain_mean, gain_std²), threshold t ~ N(threshold_mean, threshold_std²),
    correlation gain_threshold_corr (clipped to [0.05, ∞));
    IFNeuron(threshold = t, gain = g · t)   # rate ∝ gain / threshold = g

An ideal calibration (``Calibration.ideal()``: linear f–I without saturation, floor = V_NEG, no
spread) maps to the plain IF: no transfer, gain 1, threshold 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from calib.calibration import Calibration
from cosim.neuron import IFNeuron

_IDEAL_SATURATION = 1e3  # spikes per step: far beyond the one-spike-per-step ceiling


def transfer_tensors(calibration: Calibration, n_points: int = 64,
                     v_neg_volts: float | None = None, *,
                     inh_gain: float | None = None) -> tuple[Tensor, Tensor] | None:
    """The transfer curve (at ``v_neg_volts``, default the operating point; slope ``inh_gain``
    below 0, default the mirror-gain ratio there) as float32 tensors, or None when it is the
    identity (ideal circuit)."""
    xs, ys = calibration.transfer_theta(n_points, v_neg_volts, inh_gain=inh_gain)
    inner = slice(0, -1)
    if (np.allclose(ys[inner], xs[inner], rtol=1e-9, atol=1e-12)
            and ys[-2] >= _IDEAL_SATURATION):
        return None
    return (torch.as_tensor(xs, dtype=torch.float32), torch.as_tensor(ys, dtype=torch.float32))


def sample_mismatch(calibration: Calibration, shape: Sequence[int], *,
                    generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Per-neuron (gain, threshold) for ``IFNeuron``, drawn from the Monte Carlo moments.

    Args:
        calibration: supplies gain/threshold means, spreads and correlation.
        shape: neuron shape of the layer, e.g. (C, H, W) or (N,).
        generator: the only source of randomness.

    Returns:
        ``(gain, threshold)``, each float32 of ``shape``; rate scales with gain/threshold.
    """
    c = calibration
    z1 = torch.randn(tuple(shape), generator=generator)
    z2 = torch.randn(tuple(shape), generator=generator)
    rho = c.gain_threshold_corr
    g = c.gain_mean + c.gain_std * z1
    t = c.threshold_mean + c.threshold_std * (rho * z1 + (1.0 - rho * rho) ** 0.5 * z2)
    g, t = g.clamp(min=0.05), t.clamp(min=0.05)
    return g * t, t


def calibrated_neuron(calibration: Calibration, *, v_neg_volts: float | None,
                      v_dd_volts: float | None = None, shape: Sequence[int] | None = None,
                      generator: torch.Generator | None = None, transfer: bool = True,
                      refractory: bool = True, reset: str = "subtract") -> IFNeuron:
    """One IFNeuron for a layer.

    Args:
        calibration: the fitted model.
        v_neg_volts: the negative supply; its measured floor becomes ``lower_bound``
            (``membrane_floor_theta``: at V_NEG = 0 in the study design ~0.02 θ above the
            post-reset level, a floor only inhibition meets). None: no floor (NMP, the unbounded
            reference). Either way the membrane starts where the design's membrane controller
            sets it (``Calibration.start_theta``, ``IFNeuron.v_init``).
        v_dd_volts: the positive supply: the neuron of ``calibration.at(v_dd_volts)`` (that
            V_DD's θ, rest, floors, transfer curve, mismatch); None: the nominal V_DD.
        shape: the layer's neuron shape; needed with ``generator``.
        generator: draws per-neuron mismatch when given; None = the nominal neuron.
        transfer: include the transfer nonlinearity and saturation (the inhibitory mirror's
            relative gain applies either way).
        refractory: include a refractory period of the spike width (whole steps; usually 0).
        reset: "subtract" (the circuit's charge-packet reset) or "zero".

    Raises:
        CalibrationError: ``v_neg_volts`` outside the measured floor range, or a
            ``v_dd_volts`` that is not calibrated (the message names the grid).
        ValueError: a generator without a shape.
    """
    calibration = calibration.at(v_dd_volts)
    lb = None if v_neg_volts is None else calibration.membrane_floor_theta(v_neg_volts)
    v0 = calibration.start_theta(v_neg_volts)
    if lb is not None and v0 < min(lb, 0.0):  # a controller level below the floor: at the floor
        v0 = lb
    gain: float | Tensor = 1.0
    threshold: float | Tensor = 1.0
    if generator is not None:
        if shape is None:
            raise ValueError("shape is required to draw per-neuron mismatch (generator given)")
        gain, threshold = sample_mismatch(calibration, shape, generator=generator)
    tr = None
    inh = calibration.inh_gain_ratio(v_neg_volts)  # None: the operating point's
    if transfer:
        in_grid = v_neg_volts is not None and calibration.transfer_v_neg_volts and (
            calibration.transfer_v_neg_volts[0] - 1e-9 <= v_neg_volts
            <= calibration.transfer_v_neg_volts[-1] + 1e-9)
        tr = transfer_tensors(calibration, v_neg_volts=v_neg_volts if in_grid else None,
                              inh_gain=inh)
    elif abs(inh - 1.0) > 1e-12:  # no nonlinearity, but inhibition keeps its measured weight
        tr = (torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([-inh, 0.0, 1.0]))
    steps = int(calibration.spike_width_seconds // calibration.dt_seconds) if refractory else 0
    return IFNeuron(threshold=threshold, gain=gain, lower_bound=lb, reset=reset, transfer=tr,
                    refractory_steps=steps, v_init=v0)


def calibrated_neurons(calibration: Calibration, shapes: Sequence[Sequence[int]], *,
                       v_neg_volts: float | None, v_dd_volts: float | None = None,
                       generator: torch.Generator | None = None,
                       transfer: bool = True, refractory: bool = True) -> list[IFNeuron]:
    """One calibrated IFNeuron per spiking layer (``shapes``: e.g. ``[ly.shape for ly in
    net.layers]``) at (``v_dd_volts`` (None: nominal), ``v_neg_volts``), mismatch drawn layer
    after layer from the same generator."""
    cal = calibration.at(v_dd_volts)
    return [calibrated_neuron(cal, v_neg_volts=v_neg_volts, shape=s, generator=generator,
                              transfer=transfer, refractory=refractory) for s in shapes]


__all__ = ["calibrated_neuron", "calibrated_neurons", "sample_mismatch", "transfer_tensors"]
