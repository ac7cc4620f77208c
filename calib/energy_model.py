"""Energy lookups of a `calib.Calibration` (a mixin): E_spike(V_DD) by regime, E_syn(V_DD),
E_spike and P_static of the V_NEG supply. Interpolated between measurements, never extrapolated
where no law holds (the crowbar regime, above the measured V_DD)."""

from __future__ import annotations

import math

import numpy as np

from calib.errors import CalibrationError


class EnergyLookups:
    """Methods over the Calibration's energy fields (no state of its own)."""

    __slots__ = ()

    def e_spike_vdd(self, v_dd_volts: float) -> tuple[float, str]:
        """Energy per spike drawn from V_DD, and the regime it was measured in.

        Between measured supplies: log–log interpolation of the measurements (a power law between
        neighbours; the regime is "crowbar" if either neighbour is). Below the measured range: the
        fitted exponent from the lowest (quadratic) point, regime "quadratic-extrapolated". Above
        the range, or beyond a crowbar edge, no law is assumed: CalibrationError.
        """
        xs, ys, rg = self.energy_v_dd_volts, self.e_spike_vdd_joules, self.energy_regime
        v = float(v_dd_volts)
        for x, y, r in zip(xs, ys, rg):
            if abs(x - v) <= 1e-9 * max(1.0, abs(x)):
                return y, r
        if xs[0] < v < xs[-1]:
            i = int(np.searchsorted(xs, v)) - 1
            x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
            if y0 > 0 and y1 > 0:
                y = math.exp(math.log(y0) + (math.log(v / x0) / math.log(x1 / x0))
                             * (math.log(y1) - math.log(y0)))
            else:
                y = y0 + (v - x0) * (y1 - y0) / (x1 - x0)
            regime = "crowbar" if "crowbar" in (rg[i], rg[i + 1]) else "quadratic"
            return y, regime
        if v < xs[0] and rg[0] == "quadratic" and v > 0:
            k = self.energy_exponent if self.energy_exponent is not None else 2.0
            return ys[0] * (v / xs[0]) ** k, "quadratic-extrapolated"
        raise CalibrationError(
            f"v_dd_volts={v!r} is outside the measured energy range [{xs[0]}, {xs[-1]}] V "
            f"(edge regime {rg[0] if v < xs[0] else rg[-1]!r}); "
            "no energy law is extrapolated there")

    def e_syn_joules(self, v_dd_volts: float) -> float:
        """Energy per synaptic event of unit weight: the charge q_spike, times the mirror's
        branch factor, drawn from V_DD (charge × supply; not a measured table)."""
        return self.syn_charge_factor * self.q_spike_coulombs * float(v_dd_volts)

    def _interp_v_neg(self, ys: tuple[float, ...], v_neg_volts: float, what: str) -> float:
        xs = self.energy_v_neg_volts
        v = float(v_neg_volts)
        if len(xs) == 1:
            if abs(xs[0] - v) <= 1e-9:
                return ys[0]
        elif xs[0] - 1e-9 <= v <= xs[-1] + 1e-9:
            return float(np.interp(v, xs, ys))
        raise CalibrationError(
            f"v_neg_volts={v!r} is outside the measured {what} range [{xs[0]}, {xs[-1]}] V")

    def e_spike_vneg(self, v_neg_volts: float) -> float:
        """Energy per spike drawn from the V_NEG supply (interpolated, never extrapolated)."""
        return self._interp_v_neg(self.e_spike_vneg_joules, v_neg_volts, "E_spike(V_NEG)")

    def p_static_vneg(self, v_neg_volts: float) -> float:
        """Static power per neuron from the V_NEG supply (interpolated, never extrapolated)."""
        return self._interp_v_neg(self.p_static_vneg_watts, v_neg_volts, "P_static(V_NEG)")
