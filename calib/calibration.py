"""The calibration file: circuit measurements mapped to network units, one versioned JSON file.

Network side (cosim) quantities are dimensionless, in units of the threshold swing θ, and one
timestep lasts ``dt_seconds``. The mapping:

* a unit input (weight 1 for one timestep) is the charge of one spike, ``q_spike_coulombs``,
  delivered over ``dt_seconds``: the current of weight 1 is ``i_unit_amps = q_spike / dt``;
* θ is the charge one spike removes, ``q_spike = c_mem_farads × v_th_volts`` (the design's C, the
  effective threshold swing measured from the waveform);
* the transfer curve is the measured rate vs input current, ``rate(I)``; in network units an input
  ``x`` per step makes ``y = rate(x · i_unit) · dt`` spikes per step (the ideal integrator: y = x);
* one θ of membrane at a given V_NEG is ``theta_at(V_NEG)`` (the charge per spike at low rate
  over C, from the f–I slope at that V_NEG; else v_th_volts); the network's v = 1 is the sense
  threshold ``v_sense_volts`` (membrane just before a spike, from the waveform table) and v = 0 is
  one θ below it, ``rest_at(V_NEG)`` (the level a spike resets to); the floor is
  ``(v_mem_min(V_NEG) − rest_at(V_NEG)) / theta_at(V_NEG)`` (θ units) — so the "ZMP" circuit
  (V_NEG = 0) floors below the network's rest by rest/θ when the rest level is above 0 V;
* per-neuron mismatch (rate gain and threshold) is Gaussian with the Monte Carlo moments;
* energy: E_spike(V_DD) from the V_DD supply, E_spike(V_NEG) from the V_NEG supply, P_static(V_NEG),
  and E_syn(V_DD) per synaptic event of unit weight (charge q_spike drawn through the input mirror).

Every section keeps the table it came from (``sources``). ``Calibration.save`` / ``load`` round-trip
exactly; a malformed file raises ``CalibrationError`` naming the field.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from calib.errors import CalibrationError

FORMAT = "nmpkit-calibration"
SCHEMA_VERSION = 1

_FLOATS = ("dt_seconds", "c_mem_farads", "v_th_volts", "q_spike_coulombs", "v_dd_volts",
           "v_neg_volts", "max_rate_hertz", "spike_width_seconds", "gain_mean", "gain_std",
           "threshold_mean", "threshold_std", "gain_threshold_corr", "syn_charge_factor")
_CURVES = ("transfer_i_amps", "transfer_rate_hertz", "floor_v_neg_volts", "floor_v_mem_min_volts",
           "energy_v_dd_volts", "e_spike_vdd_joules", "energy_v_neg_volts",
           "e_spike_vneg_joules", "p_static_vneg_watts")


def _curve(name: str, values: Any) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"field {name!r} must be a list of numbers, got {values!r}") from exc
    if not all(math.isfinite(v) for v in out):
        raise CalibrationError(f"field {name!r} must hold finite numbers, got {list(out)}")
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """A fitted, unit-mapped neuron model (see the module docstring for the mapping).

    Attributes (SI units in the names; curves are tuples of floats, ascending in their x):
        dt_seconds: duration of one network timestep.
        c_mem_farads: membrane capacitance of the design (total integrating C).
        v_th_volts: effective threshold swing measured from the waveform.
        q_spike_coulombs: charge one spike removes (= θ), c_mem_farads × v_th_volts.
        v_dd_volts, v_neg_volts: supplies at which the transfer curve was measured.
        transfer_i_amps, transfer_rate_hertz: measured f–I (ascending current, monotone rate).
        v_rest_volts: membrane voltage of the network's v = 0 at the operating point.
        v_theta_volts: membrane voltage of one θ at the operating point (q per spike at low
            rate / C); None: v_th_volts.
        v_sense_volts: membrane voltage of v = 1 (sense threshold); None: v_rest + θ.
        theta_by_v_neg_volts: θ of membrane per transfer_v_neg_volts (empty: v_theta_volts).
        transfer_v_neg_volts, transfer_rate_by_v_neg_hertz: the f–I on the same currents for
            every measured V_NEG (the reset sink and mirrors sit on V_NEG, so the charge per spike
            moves with it); empty = only the operating point's curve.
        max_rate_hertz: saturation rate (the curve is held there above its last point).
        spike_width_seconds: output pulse width (median).
        floor_v_neg_volts, floor_v_mem_min_volts: membrane minimum under strong inhibition.
        energy_v_dd_volts, e_spike_vdd_joules, energy_regime: E_spike from V_DD per V_DD, and
            "quadratic"/"crowbar" per point.
        energy_exponent: fitted exponent of E_spike(V_DD) over the quadratic points (None if < 2).
        energy_v_neg_volts, e_spike_vneg_joules, p_static_vneg_watts: the V_NEG supply's energy per
            spike and static power per neuron, per V_NEG.
        syn_charge_factor: charge drawn from the supply per synaptic event of unit weight, in units
            of q_spike (1 + 1/mirror ratio: the mirror's input and output branch).
        gain_mean, gain_std, threshold_mean, threshold_std, gain_threshold_corr: per-neuron
            mismatch (rate gain and threshold relative to the nominal design).
        mismatch_samples: number of Monte Carlo samples behind the mismatch moments.
        sources: table kind → {"file", "provenance"} for each section.
        notes: free-text remarks of the fit (which points were dropped, etc.).
    """

    dt_seconds: float
    c_mem_farads: float
    v_th_volts: float
    q_spike_coulombs: float
    v_dd_volts: float
    v_neg_volts: float
    transfer_i_amps: tuple[float, ...]
    transfer_rate_hertz: tuple[float, ...]
    max_rate_hertz: float
    spike_width_seconds: float
    floor_v_neg_volts: tuple[float, ...]
    floor_v_mem_min_volts: tuple[float, ...]
    energy_v_dd_volts: tuple[float, ...]
    e_spike_vdd_joules: tuple[float, ...]
    energy_regime: tuple[str, ...]
    energy_exponent: float | None
    energy_v_neg_volts: tuple[float, ...]
    e_spike_vneg_joules: tuple[float, ...]
    p_static_vneg_watts: tuple[float, ...]
    syn_charge_factor: float = 2.0
    v_rest_volts: float = 0.0
    v_theta_volts: float | None = None
    v_sense_volts: float | None = None
    theta_by_v_neg_volts: tuple[float, ...] = ()
    transfer_v_neg_volts: tuple[float, ...] = ()
    transfer_rate_by_v_neg_hertz: tuple[tuple[float, ...], ...] = ()
    gain_mean: float = 1.0
    gain_std: float = 0.0
    threshold_mean: float = 1.0
    threshold_std: float = 0.0
    gain_threshold_corr: float = 0.0
    mismatch_samples: int = 0
    sources: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _FLOATS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise CalibrationError(f"field {name!r} must be a finite number, got {v!r}")
        for name in ("dt_seconds", "c_mem_farads", "v_th_volts", "q_spike_coulombs",
                     "max_rate_hertz", "gain_mean", "threshold_mean"):
            if not getattr(self, name) > 0:
                raise CalibrationError(f"field {name!r} must be > 0, got {getattr(self, name)!r}")
        for name in ("gain_std", "threshold_std", "spike_width_seconds"):
            if getattr(self, name) < 0:
                raise CalibrationError(f"field {name!r} must be >= 0, got {getattr(self, name)!r}")
        if not (isinstance(self.v_rest_volts, (int, float)) and math.isfinite(self.v_rest_volts)):
            raise CalibrationError(
                f"field 'v_rest_volts' must be a finite number, got {self.v_rest_volts!r}")
        vt = self.v_theta_volts
        if vt is not None and not (isinstance(vt, (int, float)) and math.isfinite(vt) and vt > 0):
            raise CalibrationError(f"field 'v_theta_volts' must be null or > 0, got {vt!r}")
        vs = self.v_sense_volts
        if vs is not None and not (isinstance(vs, (int, float)) and math.isfinite(vs)):
            raise CalibrationError(f"field 'v_sense_volts' must be null or finite, got {vs!r}")
        tb = _curve("theta_by_v_neg_volts", self.theta_by_v_neg_volts)
        if tb and (len(tb) != len(self.transfer_v_neg_volts) or min(tb) <= 0):
            raise CalibrationError(
                "field 'theta_by_v_neg_volts' must hold one value > 0 per transfer_v_neg_volts, "
                f"got {list(tb)}")
        object.__setattr__(self, "theta_by_v_neg_volts", tb)
        if not -1.0 <= self.gain_threshold_corr <= 1.0:
            raise CalibrationError(
                f"field 'gain_threshold_corr' must be in [-1, 1], got {self.gain_threshold_corr!r}")
        if self.v_neg_volts > 0:
            raise CalibrationError(f"field 'v_neg_volts' must be <= 0, got {self.v_neg_volts!r}")
        for name in _CURVES:
            object.__setattr__(self, name, _curve(name, getattr(self, name)))
        pairs = (("transfer_i_amps", "transfer_rate_hertz"),
                 ("floor_v_neg_volts", "floor_v_mem_min_volts"),
                 ("energy_v_dd_volts", "e_spike_vdd_joules"),
                 ("energy_v_neg_volts", "e_spike_vneg_joules"),
                 ("energy_v_neg_volts", "p_static_vneg_watts"))
        for xname, yname in pairs:
            xs, ys = getattr(self, xname), getattr(self, yname)
            if len(xs) != len(ys):
                raise CalibrationError(
                    f"fields {xname!r} and {yname!r} must have equal lengths, "
                    f"got {len(xs)} and {len(ys)}")
            if len(xs) < 1 or any(b <= a for a, b in zip(xs, xs[1:])):
                raise CalibrationError(
                    f"field {xname!r} must be non-empty and strictly ascending, got {list(xs)}")
        if len(self.transfer_i_amps) < 2 or self.transfer_i_amps[0] < 0:
            raise CalibrationError(
                "field 'transfer_i_amps' needs >= 2 non-negative currents, "
                f"got {list(self.transfer_i_amps)}")
        rates = self.transfer_rate_hertz
        if any(r < 0 for r in rates) or any(b < a for a, b in zip(rates, rates[1:])):
            raise CalibrationError(
                f"field 'transfer_rate_hertz' must be non-negative and non-decreasing, "
                f"got {list(rates)}")
        tv = _curve("transfer_v_neg_volts", self.transfer_v_neg_volts)
        try:
            rows = tuple(_curve("transfer_rate_by_v_neg_hertz", r)
                         for r in self.transfer_rate_by_v_neg_hertz)
        except TypeError as exc:
            raise CalibrationError("field 'transfer_rate_by_v_neg_hertz' must be a list of "
                                   "lists of numbers") from exc
        if (len(rows) != len(tv) or any(len(r) != len(self.transfer_i_amps) for r in rows)
                or any(b <= a for a, b in zip(tv, tv[1:]))
                or any(any(b < a for a, b in zip(r, r[1:])) or min(r) < 0 for r in rows)):
            raise CalibrationError(
                "field 'transfer_rate_by_v_neg_hertz' must hold one non-decreasing rate list per "
                "transfer_v_neg_volts (ascending), each as long as transfer_i_amps")
        object.__setattr__(self, "transfer_v_neg_volts", tv)
        object.__setattr__(self, "transfer_rate_by_v_neg_hertz", rows)
        regime = tuple(str(r) for r in self.energy_regime)
        if len(regime) != len(self.energy_v_dd_volts) or set(regime) - {"quadratic", "crowbar"}:
            raise CalibrationError(
                "field 'energy_regime' must hold 'quadratic'/'crowbar', one per energy_v_dd_volts, "
                f"got {list(regime)}")
        object.__setattr__(self, "energy_regime", regime)
        if self.energy_exponent is not None and not math.isfinite(float(self.energy_exponent)):
            raise CalibrationError(
                f"field 'energy_exponent' must be finite or null, got {self.energy_exponent!r}")
        if not isinstance(self.sources, dict):
            raise CalibrationError(f"field 'sources' must be an object, got {self.sources!r}")
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))

    @classmethod
    def ideal(cls, *, dt_seconds: float = 1e-6, c_mem_farads: float = 1e-12,
              v_th_volts: float = 0.5, v_dd_volts: float = 1.0) -> Calibration:
        """A calibration of an ideal circuit: rate = I / q_spike without saturation (a million
        spikes per step), floor = V_NEG, no mismatch. ``cosim.calibrated`` maps it to the plain
        IF."""
        q = c_mem_farads * v_th_volts
        i_top = 1e6 * q / dt_seconds
        return cls(
            dt_seconds=dt_seconds, c_mem_farads=c_mem_farads, v_th_volts=v_th_volts,
            q_spike_coulombs=q, v_dd_volts=v_dd_volts, v_neg_volts=0.0,
            transfer_i_amps=(0.0, i_top), transfer_rate_hertz=(0.0, i_top / q),
            max_rate_hertz=i_top / q, spike_width_seconds=0.0,
            floor_v_neg_volts=(-4.0 * v_dd_volts, 0.0),
            floor_v_mem_min_volts=(-4.0 * v_dd_volts, 0.0),
            energy_v_dd_volts=(v_dd_volts,), e_spike_vdd_joules=(c_mem_farads * v_dd_volts**2,),
            energy_regime=("quadratic",), energy_exponent=None,
            energy_v_neg_volts=(0.0,), e_spike_vneg_joules=(0.0,), p_static_vneg_watts=(0.0,),
            sources={"ideal": {"file": None, "provenance": {"note": "Calibration.ideal()"}}},
        )

    # ---- unit mapping ------------------------------------------------------------------------
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

    def transfer_theta(self, n_points: int = 64,
                       v_neg_volts: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The transfer curve in network units, for ``cosim.IFNeuron.transfer``.

        Returns ``(xs, ys)``: input per step x (θ) → y = rate(x·i_unit)·dt, the input an ideal IF
        needs to fire at the circuit's rate. Identity for x ≤ 0 (the inhibitory mirror is linear
        down to the floor); flat above the last measured current (saturation).
        """
        i_max = self.transfer_i_amps[-1]
        i = np.union1d(np.linspace(0.0, i_max, n_points), self.transfer_i_amps)
        i = i[np.concatenate([[True], np.diff(i) > 1e-6 * i_max])]
        xs = i / self.i_unit_amps
        ys = self.rate_hertz(i, v_neg_volts) * self.dt_seconds
        ys = np.maximum.accumulate(ys)
        x_top = xs[-1]
        xs = np.concatenate([[-1.0], xs, [max(10.0 * x_top, x_top + 10.0)]])
        ys = np.concatenate([[-1.0], ys, [ys[-1]]])
        return xs, ys

    def floor_theta(self, v_neg_volts: float) -> float:
        """Membrane floor in θ units at ``v_neg_volts`` (interpolated, never extrapolated)."""
        xs = np.asarray(self.floor_v_neg_volts)
        v = float(v_neg_volts)
        tol = 1e-9
        if not xs[0] - tol <= v <= xs[-1] + tol:
            raise CalibrationError(
                f"v_neg_volts={v!r} is outside the floor table's range [{xs[0]}, {xs[-1]}] V")
        vm = float(np.interp(v, xs, self.floor_v_mem_min_volts))
        return (vm - self.rest_at(v)) / self.theta_at(v)

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

    # ---- energy ------------------------------------------------------------------------------
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

    # ---- (de)serialization -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "version": SCHEMA_VERSION}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "calibration") -> Calibration:
        if not isinstance(data, dict):
            raise CalibrationError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise CalibrationError(
                f"{where}: field 'format' must be {FORMAT!r}, got {data.get('format')!r}")
        if data.get("version") != SCHEMA_VERSION:
            raise CalibrationError(
                f"{where}: field 'version' must be {SCHEMA_VERSION}, got {data.get('version')!r}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                if _has_default(f):
                    continue
                raise CalibrationError(f"{where}: missing field {f.name!r}")
            kwargs[f.name] = data[f.name]
        unknown = sorted(set(data) - {f.name for f in fields(cls)} - {"format", "version"})
        if unknown:
            raise CalibrationError(f"{where}: unknown field {unknown[0]!r}")
        try:
            return cls(**kwargs)
        except CalibrationError as exc:
            raise CalibrationError(f"{where}: {exc}") from exc
        except TypeError as exc:
            raise CalibrationError(f"{where}: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the calibration as JSON, atomically. Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a calibration file. Raises CalibrationError naming the file and the bad field."""
        path = Path(path)
        if not path.is_file():
            raise CalibrationError(f"{path}: calibration file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CalibrationError(f"{path}: not a JSON calibration file ({exc})") from exc
        return cls.from_dict(data, where=str(path))


def _has_default(f: Any) -> bool:
    from dataclasses import MISSING

    return f.default is not MISSING or f.default_factory is not MISSING


__all__ = ["FORMAT", "SCHEMA_VERSION", "Calibration"]
