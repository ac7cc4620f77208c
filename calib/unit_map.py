"""Unit mapping of a `calib.Calibration` (a mixin): θ and rest per V_NEG, the unit current, the
measured rate curve, the transfer curve in network units and the membrane floor in θ units (see
`calib.calibration`'s module docstring for the mapping)."""

from __future__ import annotations

from typing import Any

import numpy as np

from calib.errors import CalibrationError


class UnitMapping:
    """Methods over the Calibration's transfer, threshold and floor fields (no state of its own)."""

    __slots__ = ()

    @property
    def theta_volts(self) -> float:
        """Membrane voltage of one θ (for floors and the rest level)."""
        return self.v_theta_volts if self.v_theta_volts is not None else self.v_th_volts

    def theta_at(self, v_neg_volts: float | None) -> float:
        """θ of membrane (V) at ``v_neg_volts``: interpolated over the f–I's V_NEG grid, clamped
        to its ends; the operating point's when there is no grid."""
        if v_neg_volts is None or not self.theta_by_v_neg_volts:
            return self.theta_volts
        return float(np.interp(float(v_neg_volts), self.transfer_v_neg_volts,
                               self.theta_by_v_neg_volts))

    def rest_at(self, v_neg_volts: float | None) -> float:
        """Membrane voltage of the network's v = 0 at ``v_neg_volts`` (sense level − θ)."""
        if self.v_sense_volts is None:
            return self.v_rest_volts
        return self.v_sense_volts - self.theta_at(v_neg_volts)

    @property
    def i_unit_amps(self) -> float:
        """Current of weight 1: one threshold's charge per timestep."""
        return self.q_spike_coulombs / self.dt_seconds

    def rates_at(self, v_neg_volts: float | None = None) -> np.ndarray:
        """The measured rates on ``transfer_i_amps`` at ``v_neg_volts`` (None: the operating
        point); linear between measured V_NEG, never extrapolated."""
        if v_neg_volts is None or not self.transfer_v_neg_volts:
            return np.asarray(self.transfer_rate_hertz, dtype=float)
        xs = np.asarray(self.transfer_v_neg_volts)
        v = float(v_neg_volts)
        if not xs[0] - 1e-9 <= v <= xs[-1] + 1e-9:
            raise CalibrationError(f"v_neg_volts={v!r} is outside the f–I table's V_NEG range "
                                   f"[{xs[0]}, {xs[-1]}] V")
        rows = np.asarray(self.transfer_rate_by_v_neg_hertz, dtype=float)
        return np.array([np.interp(v, xs, rows[:, k]) for k in range(rows.shape[1])])

    def rate_hertz(self, i_amps: Any, v_neg_volts: float | None = None) -> np.ndarray:
        """Measured firing rate at input current ``i_amps`` (monotone PCHIP, held at the last
        measured rate above the last current).

        Below the first measured current the rate falls linearly to 0 at I = 0; negative or zero
        current gives 0. ``v_neg_volts``: the curve at that V_NEG (default: operating point).
        """
        from scipy.interpolate import PchipInterpolator

        xs = np.asarray(self.transfer_i_amps, dtype=float)
        ys = self.rates_at(v_neg_volts)
        top = float(ys[-1])
        if xs[0] > 0:
            xs, ys = np.concatenate([[0.0], xs]), np.concatenate([[0.0], ys])
        i = np.asarray(i_amps, dtype=float)
        out = PchipInterpolator(xs, ys, extrapolate=False)(np.clip(i, xs[0], xs[-1]))
        out = np.where(i <= 0, 0.0, out)
        out = np.where(i >= xs[-1], top, out)
        return np.minimum(out, top)

    def inh_gain_ratio(self, v_neg_volts: float | None = None) -> float:
        """Inhibitory over excitatory mirror gain at ``v_neg_volts`` (None: the operating point),
        interpolated over the measured V_NEG and clamped to its ends; 1.0 when not measured."""
        if not self.mirror_v_neg_volts:
            return 1.0
        v = self.v_neg_volts if v_neg_volts is None else float(v_neg_volts)
        ratio = np.asarray(self.mirror_gain_inh) / np.asarray(self.mirror_gain_exc)
        return float(np.interp(v, self.mirror_v_neg_volts, ratio))

    def transfer_theta(self, n_points: int = 64, v_neg_volts: float | None = None, *,
                       inh_gain: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The transfer curve in network units, for ``cosim.IFNeuron.transfer``.

        Returns ``(xs, ys)``: input per step x (θ) → y = rate(x·i_unit)·dt, the input an ideal IF
        needs to fire at the circuit's rate. Linear for x ≤ 0 with slope ``inh_gain`` (default
        ``inh_gain_ratio(v_neg_volts)``: the inhibitory mirror is linear down to the floor and
        weighs its measured gain relative to the excitatory one); flat above the last measured
        current (saturation). A step's net input is what the curve sees: with excitation and
        inhibition in the same step the inhibitory share is weighed only where the net is < 0.
        """
        r = self.inh_gain_ratio(v_neg_volts) if inh_gain is None else float(inh_gain)
        i_max = self.transfer_i_amps[-1]
        i = np.union1d(np.linspace(0.0, i_max, n_points), self.transfer_i_amps)
        i = i[np.concatenate([[True], np.diff(i) > 1e-6 * i_max])]
        xs = i / self.i_unit_amps
        ys = self.rate_hertz(i, v_neg_volts) * self.dt_seconds
        ys = np.maximum.accumulate(ys)
        x_top = xs[-1]
        xs = np.concatenate([[-1.0], xs, [max(10.0 * x_top, x_top + 10.0)]])
        ys = np.concatenate([[-r], ys, [ys[-1]]])
        return xs, ys

    def floor_theta(self, v_neg_volts: float) -> float:
        """The design's floor in θ units at ``v_neg_volts``: ``membrane_floor_theta`` where it
        is below rest, else 0.0 (the ZMP neuron; a floor at most ``ZMP_SLACK_THETA`` above the
        measured rest, validated at load). What the studies target, label and report."""
        return min(0.0, self.membrane_floor_theta(v_neg_volts))

    def membrane_floor_theta(self, v_neg_volts: float) -> float:
        """The measured floor relative to the network's v = 0 (the post-reset level), θ units
        (interpolated, never extrapolated): what the calibrated neuron's ``lower_bound`` is.
        Positive (at most ``ZMP_SLACK_THETA``) where the inhibitory mirror stops above the level
        a reset leaves: the study neuron at V_NEG = 0 V floors at ground, ~0.02 θ above it."""
        xs = np.asarray(self.floor_v_neg_volts)
        v = float(v_neg_volts)
        tol = 1e-9
        if not xs[0] - tol <= v <= xs[-1] + tol:
            raise CalibrationError(
                f"v_neg_volts={v!r} is outside the floor table's range [{xs[0]}, {xs[-1]}] V")
        vm = float(np.interp(v, xs, self.floor_v_mem_min_volts))
        return (vm - self.rest_at(v)) / self.theta_at(v)

    def start_theta(self, v_neg_volts: float | None) -> float:
        """Where every input starts, θ units relative to the network's v = 0: the membrane
        controller's level ``v_start_volts`` (0.0 without one). ``IFNeuron.v_init``."""
        if self.v_start_volts is None:
            return 0.0
        return (self.v_start_volts - self.rest_at(v_neg_volts)) / self.theta_at(v_neg_volts)

    def v_neg_for_floor(self, floor_theta: float) -> float:
        """The V_NEG whose measured floor is ``floor_theta`` (θ units); inverse of floor_theta."""
        xs = np.asarray(self.floor_v_neg_volts)
        grid = [v for v in self.transfer_v_neg_volts if xs[0] <= v <= xs[-1]]
        xs = np.union1d(np.union1d(np.linspace(xs[0], xs[-1], 401), xs), grid)
        fl = np.array([self.floor_theta(v) for v in xs])
        order = np.argsort(fl, kind="stable")
        fl, xs = fl[order], xs[order]
        if not fl[0] - 1e-9 <= floor_theta <= fl[-1] + 1e-9:
            raise CalibrationError(
                f"floor {floor_theta!r} θ is outside the measured floors "
                f"[{fl[0]:.3g}, {fl[-1]:.3g}] θ")
        return float(np.interp(floor_theta, fl, xs))


__all__ = ["UnitMapping"]
