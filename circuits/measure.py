"""Measurements from transient waveforms (plain float64 numpy arrays, SI units).

* spike times: rising crossings of ``v_out`` through ``v_dd/2`` (linear interpolation);
* spike width: from each rising to the next falling crossing;
* steady-state rate: from spikes 2..N, ``(N - 2) / (t_N - t_2)`` (spike 1 carries the start-up);
* effective threshold swing ``v_th_volts``: over each inter-spike ramp (end of spike k to start of
  spike k+1) a straight line is fitted to the membrane's middle 20-80 % and evaluated at both
  ends; the swing is the line's rise over the ramp, i.e. the charge per spike / total membrane
  capacitance; the median over cycles 2..N is reported;
* membrane minimum;
* supply energies over a window: from V_DD, ``-V_DD * i_vdd`` minus the input charge the
  excitatory mirror carries (``V_DD * (I_exc + i_exc_out)``), and from V_NEG, ``-V_NEG * i_vneg``
  (ngspice's branch current of a source is positive into its + terminal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.errors import CharacterizationError


def crossings(t: np.ndarray, v: np.ndarray, level: float, *, rising: bool) -> np.ndarray:
    """Times where ``v`` crosses ``level`` upward (``rising``) or downward, interpolated."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(v, dtype=float) - level
    if rising:
        idx = np.nonzero((v[:-1] < 0) & (v[1:] >= 0))[0]
    else:
        idx = np.nonzero((v[:-1] >= 0) & (v[1:] < 0))[0]
    frac = v[idx] / (v[idx] - v[idx + 1])
    return t[idx] + frac * (t[idx + 1] - t[idx])


@dataclass(frozen=True, slots=True)
class Spikes:
    """Spike edges of one run: ``rise`` and ``fall`` times (s), paired (fall[k] after rise[k])."""

    rise: np.ndarray
    fall: np.ndarray

    @property
    def n(self) -> int:
        return int(self.rise.size)


def find_spikes(t: np.ndarray, v_out: np.ndarray, v_dd_volts: float) -> Spikes:
    """Rising/falling crossings of ``v_out`` at ``v_dd/2``; a spike unfinished at the end is kept
    as a rise without width (its fall is NaN)."""
    level = 0.5 * v_dd_volts
    rise = crossings(t, v_out, level, rising=True)
    fall_all = crossings(t, v_out, level, rising=False)
    fall = np.full(rise.shape, np.nan)
    for k, r in enumerate(rise):
        after = fall_all[fall_all > r]
        if after.size:
            fall[k] = after[0]
    return Spikes(rise=rise, fall=fall)


def steady_rate(sp: Spikes) -> float:
    """Rate from spikes 2..N (Hz); needs N >= 3, else NaN."""
    if sp.n < 3:
        return float("nan")
    return (sp.n - 2) / float(sp.rise[-1] - sp.rise[1])


def spike_width(sp: Spikes) -> float:
    """Median pulse width at half V_DD over spikes 2..N (s); NaN without a finished spike."""
    w = (sp.fall - sp.rise)[1:] if sp.n > 1 else sp.fall - sp.rise
    w = w[np.isfinite(w)]
    return float(np.median(w)) if w.size else float("nan")


def _ramp_fits(t: np.ndarray, v_mem: np.ndarray, sp: Spikes):
    """For cycles 2..N: (end of spike k, start of spike k+1, slope, intercept) of the line fitted
    to the middle 20-80 % of the inter-spike ramp."""
    for k in range(1, sp.n - 1):
        a, b = sp.fall[k], sp.rise[k + 1]
        if not (np.isfinite(a) and b > a):
            continue
        lo, hi = a + 0.2 * (b - a), a + 0.8 * (b - a)
        sel = (t >= lo) & (t <= hi)
        if np.count_nonzero(sel) < 3:
            grid = np.linspace(lo, hi, 5)
            vals = np.interp(grid, t, v_mem)
        else:
            grid, vals = t[sel], v_mem[sel]
        slope, icpt = np.polyfit(grid, vals, 1)
        yield a, b, slope, icpt


def threshold_swing(t: np.ndarray, v_mem: np.ndarray, sp: Spikes) -> float:
    """Median membrane swing of the ramps between spikes k and k+1, k >= 2 (V); NaN if < 3."""
    swings = [slope * (b - a) for a, b, slope, _ in _ramp_fits(t, v_mem, sp)]
    return float(np.median(swings)) if swings else float("nan")


def rest_level(t: np.ndarray, v_mem: np.ndarray, sp: Spikes) -> float:
    """Median post-reset level ("rest") over cycles 2..N (V): the line fitted to the middle
    20-80 % of each inter-spike ramp, evaluated at the end of the spike; NaN if < 3 spikes."""
    levels = [slope * a + icpt for a, _, slope, icpt in _ramp_fits(t, v_mem, sp)]
    return float(np.median(levels)) if levels else float("nan")


def integrate(t: np.ndarray, y: np.ndarray, start: float, stop: float) -> float:
    """Trapezoidal integral of ``y(t)`` over [start, stop], ends interpolated."""
    if not stop > start:
        raise CharacterizationError(f"integration window must have stop > start, got "
                                    f"[{start!r}, {stop!r}]")
    inner = (t > start) & (t < stop)
    tt = np.concatenate(([start], t[inner], [stop]))
    yy = np.concatenate(([np.interp(start, t, y)], y[inner], [np.interp(stop, t, y)]))
    return float(np.sum(0.5 * (yy[1:] + yy[:-1]) * np.diff(tt)))


def supply_powers(w: dict[str, np.ndarray], *, v_dd_volts: float, v_neg_volts: float,
                  i_exc_amps: float) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous power (W) from V_DD (input-mirror charge and, where metered, the bias
    generator excluded) and from V_NEG."""
    p_vdd = -v_dd_volts * w["i_vdd"] - v_dd_volts * (i_exc_amps + w["i_exc_out"])
    if "i_bias_vdd" in w:
        p_vdd = p_vdd - v_dd_volts * w["i_bias_vdd"]
    p_vneg = -v_neg_volts * w["i_vneg"]
    return p_vdd, p_vneg


def rail_powers(w: dict[str, np.ndarray], *, v_dd_volts: float, v_rst_volts: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """``study`` testbenches: instantaneous power (W) into the reset rail (the reset packets, the
    level shifter; the bias generator excluded) and of the bias generator (from V_DD and vrst)."""
    p_vrst = -v_rst_volts * (w["i_vrst"] - w["i_bias_vrst"])
    p_bias = v_dd_volts * w["i_bias_vdd"] - v_rst_volts * w["i_bias_vrst"]
    return p_vrst, p_bias


def window_energy(w: dict[str, np.ndarray], sp: Spikes, *, v_dd_volts: float,
                  v_neg_volts: float, i_exc_amps: float) -> tuple[float, float, float]:
    """Energy from V_DD and from V_NEG over spikes 2..N (J) and the window length (s)."""
    if sp.n < 3:
        return float("nan"), float("nan"), float("nan")
    p_vdd, p_vneg = supply_powers(w, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts,
                                  i_exc_amps=i_exc_amps)
    a, b = float(sp.rise[1]), float(sp.rise[-1])
    return integrate(w["time"], p_vdd, a, b), integrate(w["time"], p_vneg, a, b), b - a


def mean_power(w: dict[str, np.ndarray], *, v_dd_volts: float, v_neg_volts: float,
               start: float) -> tuple[float, float]:
    """Mean V_DD and V_NEG power (W) after ``start`` (an idle run: no input, no spikes)."""
    t = w["time"]
    p_vdd, p_vneg = supply_powers(w, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts,
                                  i_exc_amps=0.0)
    span = float(t[-1] - start)
    return (integrate(t, p_vdd, start, float(t[-1])) / span,
            integrate(t, p_vneg, start, float(t[-1])) / span)


__all__ = ["Spikes", "crossings", "find_spikes", "integrate", "mean_power", "rail_powers",
           "rest_level", "spike_width", "steady_rate", "supply_powers", "threshold_swing",
           "window_energy"]
