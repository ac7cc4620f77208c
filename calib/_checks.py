"""Validation of a `calib.Calibration` (called from its ``__post_init__``): every error names the
field, the value and what was expected; curves are normalized to tuples of floats."""

from __future__ import annotations

import math
from typing import Any

from calib.errors import CalibrationError

FLOATS = ("dt_seconds", "c_mem_farads", "v_th_volts", "q_spike_coulombs", "v_dd_volts",
          "v_neg_volts", "max_rate_hertz", "spike_width_seconds", "gain_mean", "gain_std",
          "threshold_mean", "threshold_std", "gain_threshold_corr", "syn_charge_factor")
CURVES = ("transfer_i_amps", "transfer_rate_hertz", "floor_v_neg_volts", "floor_v_mem_min_volts",
          "energy_v_dd_volts", "e_spike_vdd_joules", "energy_v_neg_volts",
          "e_spike_vneg_joules", "p_static_vneg_watts")


def curve(name: str, values: Any) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"field {name!r} must be a list of numbers, got {values!r}") from exc
    if not all(math.isfinite(v) for v in out):
        raise CalibrationError(f"field {name!r} must hold finite numbers, got {list(out)}")
    return out


def validate(self: Any) -> None:
    """Check and normalize a Calibration in place (frozen: via object.__setattr__)."""
    for name in FLOATS:
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
    vst = self.v_start_volts
    if vst is not None and (isinstance(vst, bool) or not isinstance(vst, (int, float))
                            or not math.isfinite(vst)):
        raise CalibrationError(f"field 'v_start_volts' must be null or finite, got {vst!r}")
    tb = curve("theta_by_v_neg_volts", self.theta_by_v_neg_volts)
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
    for name in CURVES:
        object.__setattr__(self, name, curve(name, getattr(self, name)))
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
    tv = curve("transfer_v_neg_volts", self.transfer_v_neg_volts)
    try:
        rows = tuple(curve("transfer_rate_by_v_neg_hertz", r)
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
    ee = self.energy_exponent
    if ee is not None and (isinstance(ee, bool) or not isinstance(ee, (int, float))
                           or not math.isfinite(ee)):
        raise CalibrationError(f"field 'energy_exponent' must be a finite number or null, "
                               f"got {ee!r}")
    spike = ("spike_v_dd_volts", "spike_e0_joules", "spike_k_watts", "e_spike_vrst_joules",
             "p_bias_watts", "p_static_vdd_watts", "p_static_vrst_watts")
    for name in spike:
        object.__setattr__(self, name, curve(name, getattr(self, name)))
        if len(getattr(self, name)) != len(self.spike_v_dd_volts):
            raise CalibrationError(f"field {name!r} must hold one value per spike_v_dd_volts "
                                   f"({len(self.spike_v_dd_volts)}), "
                                   f"got {list(getattr(self, name))}")
        if name != "spike_v_dd_volts":
            values = denoise(getattr(self, name), _scale(self, name))
            if any(v < 0 for v in values):
                raise CalibrationError(f"field {name!r} must hold energies/powers >= 0, "
                                       f"got {list(getattr(self, name))}")
            object.__setattr__(self, name, values)
    sv = self.spike_v_dd_volts
    if any(b <= a for a, b in zip(sv, sv[1:])) or (sv and sv[0] <= 0):
        raise CalibrationError(f"field 'spike_v_dd_volts' must be ascending supplies > 0, "
                               f"got {list(sv)}")
    if not isinstance(self.sources, dict):
        raise CalibrationError(f"field 'sources' must be an object, got {self.sources!r}")
    object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
    mirror(self)
    physical(self)


def mirror(self: Any) -> None:
    """The mirror gains: one (gain_exc, gain_inh) > 0 per ascending V_NEG <= 0, or none."""
    vs = curve("mirror_v_neg_volts", self.mirror_v_neg_volts)
    for name in ("mirror_gain_exc", "mirror_gain_inh"):
        g = curve(name, getattr(self, name))
        if len(g) != len(vs):
            raise CalibrationError(f"fields 'mirror_v_neg_volts' and {name!r} must have equal "
                                   f"lengths, got {len(vs)} and {len(g)}")
        if any(not 0 < x < 10 for x in g):
            _refuse(name, list(g), "mirror gains (copy / input) in (0, 10)")
        object.__setattr__(self, name, g)
    if any(b <= a for a, b in zip(vs, vs[1:])) or (vs and max(vs) > 0):
        _refuse("mirror_v_neg_volts", list(vs), "ascending negative supplies <= 0 V")
    object.__setattr__(self, "mirror_v_neg_volts", vs)


ZMP_SLACK_THETA = 0.05
"""A measured floor up to this many θ above the measured rest is the ZMP neuron (floor 0): the
study's neuron at V_NEG = 0 floors at ground while its reset lands within a few mV of it."""


NOISE_RTOL = 1e-4
"""A measured energy (power) below zero by at most this fraction of the calibration's energy
(power) scale is numerical noise, stored as 0: a supply at 0 V, or a window energy minus its static
part, integrates to about ±1e-18 J next to pJ-scale spikes. Anything more negative is refused."""

_JOULES = ("e_spike_vdd_joules", "e_spike_vneg_joules", "spike_e0_joules", "e_spike_vrst_joules")
_WATTS = ("p_static_vneg_watts", "p_static_vdd_watts", "p_static_vrst_watts", "p_bias_watts",
          "spike_k_watts")


def _scale(self: Any, name: str) -> float:
    """The energy (joules) or power (watts) scale ``name`` is judged against: the largest
    magnitude over the calibration's fields of that unit."""
    group = _JOULES if name.endswith("_joules") else _WATTS
    out = 0.0
    for g in group:
        try:  # a field not yet checked may hold anything; its own check reports it
            out = max([out, *(abs(float(v)) for v in getattr(self, g, ()) or ())])
        except (TypeError, ValueError):
            continue
    return out if math.isfinite(out) else 0.0


def denoise(values: tuple[float, ...], scale: float) -> tuple[float, ...]:
    """``values`` with negatives of magnitude <= NOISE_RTOL * ``scale`` set to 0.0 (others kept,
    so a real negative still fails the caller's check)."""
    tol = NOISE_RTOL * scale
    return tuple(0.0 if -tol <= v < 0 else v for v in values)


def _refuse(name: str, value: Any, expected: str) -> None:
    raise CalibrationError(f"field {name!r} must be {expected}, got {value!r}")


def physical(self: Any) -> None:
    """Refuse values no circuit can have (after the type and shape checks)."""
    for name in ("e_spike_vdd_joules", "e_spike_vneg_joules", "p_static_vneg_watts"):
        values = denoise(getattr(self, name), _scale(self, name))
        if any(v < 0 for v in values):
            _refuse(name, list(getattr(self, name)), "energies/powers >= 0 (a supply cannot "
                    f"gain energy from a spike; noise up to {NOISE_RTOL:g} of the field's "
                    "energy/power scale is read as 0)")
        object.__setattr__(self, name, values)
    if not self.v_dd_volts > 0:
        _refuse("v_dd_volts", self.v_dd_volts, "> 0")
    if min(self.energy_v_dd_volts) <= 0:
        _refuse("energy_v_dd_volts", list(self.energy_v_dd_volts), "supplies > 0 V")
    for name in ("floor_v_neg_volts", "energy_v_neg_volts", "transfer_v_neg_volts"):
        values = getattr(self, name)
        if values and max(values) > 0:
            _refuse(name, list(values), "negative supplies <= 0 V")
    if self.spike_width_seconds > self.dt_seconds:
        _refuse("spike_width_seconds", self.spike_width_seconds,
                f"<= dt_seconds = {self.dt_seconds!r} (a spike longer than one timestep)")
    if not self.syn_charge_factor > 0:
        _refuse("syn_charge_factor", self.syn_charge_factor, "> 0")
    n = self.mismatch_samples
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        _refuse("mismatch_samples", n, "an integer >= 0")
    for v, vm in zip(self.floor_v_neg_volts, self.floor_v_mem_min_volts):
        rest = self.rest_at(v)
        slack = ZMP_SLACK_THETA * self.theta_at(v)
        if vm > rest + slack:  # a floor above rest: the membrane could never sit at rest
            _refuse("floor_v_mem_min_volts", list(self.floor_v_mem_min_volts),
                    f"floors <= the rest level + {ZMP_SLACK_THETA} θ (at V_NEG = {v!r} V the "
                    f"floor {vm!r} V is above rest {rest!r} V + {slack:.3g} V, a positive floor)")
