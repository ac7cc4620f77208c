"""Fit a `Calibration` from the circuit's lookup tables (fi, floor, energy, mismatch).

``fit(tables)`` picks one operating point (V_DD, V_NEG, temperature; by default the design's, else
the grid value nearest to it) and derives:

* θ = q_spike = the input charge per spike, from the f–I curve's low-rate slope (median I/f over
  the firing rows at most a quarter of the largest rate: the network's working range, one spike
  per step sitting at a quarter of the maximum); c_mem_farads × v_th_volts / gain (the median
  effective threshold from the waveform) only when the f–I has no such rows. One θ of membrane
  (floors, rest) is q_spike × gain / C, gain = the excitatory mirror's copy ratio (measured in
  the ``mirror`` table, else the design's ``mirror_ratio``): with a mirror ratio r ≠ 1 the input
  charge and the membrane charge differ by r. The waveform's swing misses the
  charge the input delivers while the spike pulse resets the membrane: on the default design it
  is ~5% short, and a unit input then fired at a gain of ~0.95 — a 5–19% per-layer rate deficit
  on CIFAR-10 (results/calibrated_vs_ideal.md);
* the transfer curve: mean rate per excitatory current at the operating point, made monotone
  (running maximum, noted when that changed a point), saturating at its largest rate;
* dt: ``dt_seconds`` if given, else ``1 / (rate_fraction × max_rate)`` so that one spike per step,
  the network's ceiling, sits at ``rate_fraction`` of the circuit's maximum rate;
* the floor: per V_NEG the lowest membrane minimum over inhibitory currents (strongest inhibition);
* energy: per V_DD the median E_spike from V_DD over the firing rows at the operating V_NEG, its
  regime by majority; per V_NEG the median E_spike from V_NEG and P_static at the operating V_DD;
  the exponent of E_spike(V_DD) fitted over the quadratic points;
* mirror gains (optional ``mirror`` table): per V_NEG at the operating V_DD and temperature the
  mean gain of each input mirror over the measured currents;
* mismatch: per Monte Carlo sample the mean rate gain and threshold (relative to the median
  threshold of all samples), then their moments and correlation.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from calib.calibration import Calibration
from calib.errors import CalibrationError
from calib.fit_energy import spike_fit
from calib.fit_tables import (
    _KINDS,
    _OPTIONAL,
    _at,
    _design,
    _design_number,
    _healthy,
    _load,
    _nearest,
    _q_slope,
    _sense_level,
    _source,
)

FIT_VERSION = "2"
"""Bumped whenever the derivation from tables to a Calibration changes, so caches keyed on it
(the pipeline's calibrate stage, the optimizer's per-design calibrations) refit instead of
reusing a calibration the current code would not produce. 2: one θ of membrane takes the
excitatory mirror's copy ratio out of the f–I's input charge; double pulses leave the sense
level."""


def fit(tables: Mapping[str, Any] | str | os.PathLike[str], *, dt_seconds: float | None = None,
        rate_fraction: float = 0.25, v_dd_volts: float | None = None,
        v_neg_volts: float | None = None, temp_celsius: float = 27.0,
        every_v_dd: bool = True) -> Calibration:
    """Fit the unit-mapped neuron model from lookup tables.

    Args:
        tables: a table directory, or a mapping kind → ``calib.tables.Table`` with at least the
            kinds "fi", "floor", "energy", "mismatch".
        dt_seconds: timestep; default ``1 / (rate_fraction × max_rate_hertz)`` at the nominal
            V_DD (every V_DD's calibration shares it: one network, one timestep).
        rate_fraction: fraction of the circuit's maximum rate that one spike per step maps to.
        v_dd_volts, v_neg_volts: operating point of the transfer curve; default the design's,
            snapped to the nearest grid value.
        temp_celsius: temperature of the transfer curve and floor (nearest grid value).
        every_v_dd: also fit every other V_DD of the f–I table into ``by_v_dd``
            (``Calibration.at(v_dd)``); a V_DD that cannot be fitted is left out with a note.

    Returns:
        The Calibration, with each section's table in ``sources``.

    Raises:
        CalibrationError: a missing table, column or design field, or too few usable points.
    """
    if not 0 < rate_fraction <= 1:
        raise CalibrationError(f"rate_fraction must be in (0, 1], got {rate_fraction!r}")
    if dt_seconds is not None and not (math.isfinite(dt_seconds) and dt_seconds > 0):
        raise CalibrationError(f"dt_seconds must be a finite number > 0, got {dt_seconds!r}")
    t = _load(tables)
    for kind in (*_KINDS, *(k for k in _OPTIONAL if k in t)):
        from calib.tables import SCHEMAS

        missing = [c for c in SCHEMAS[kind] if c not in t[kind].df.columns]
        if missing:
            raise CalibrationError(f"{kind} table: missing column {missing[0]!r}")
    for name, want in (("v_dd_volts", v_dd_volts), ("v_neg_volts", v_neg_volts)):
        grid = np.unique(t["fi"].df[name].to_numpy(dtype=float))  # snapped inside, never outside
        lo, hi = (float(grid.min()), float(grid.max())) if grid.size else (0.0, 0.0)
        margin = max(0.05, 0.05 * (hi - lo))
        if want is not None and not (isinstance(want, int | float) and math.isfinite(want)
                                     and lo - margin <= want <= hi + margin):
            raise CalibrationError(f"{name} must lie within the fi table's range [{lo:g}, "
                                   f"{hi:g}] V (the nearest grid value is used), got {want!r}")
    nominal = _fit_one(t, dt_seconds=dt_seconds, rate_fraction=rate_fraction,
                       v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts, temp_celsius=temp_celsius)
    if not every_v_dd:
        return nominal
    others, notes = [], list(nominal.notes)
    for v in np.unique(t["fi"].df["v_dd_volts"].to_numpy(dtype=float)):
        if abs(float(v) - nominal.v_dd_volts) <= 1e-9:
            continue
        try:
            others.append(_fit_one(t, dt_seconds=nominal.dt_seconds, rate_fraction=rate_fraction,
                                   v_dd_volts=float(v), v_neg_volts=nominal.v_neg_volts,
                                   temp_celsius=temp_celsius))
        except CalibrationError as exc:
            notes.append(f"V_DD {float(v):g} V not calibrated: {exc}")
    if others:
        notes.append(f"calibrated at V_DD {[nominal.v_dd_volts, *(c.v_dd_volts for c in others)]}"
                     f" V with one dt = {nominal.dt_seconds:.4g} s (Calibration.at(v_dd))")
    return dataclasses.replace(nominal, by_v_dd=tuple(others), notes=tuple(notes))


def _fit_one(t: dict[str, Any], *, dt_seconds: float | None, rate_fraction: float,
             v_dd_volts: float | None, v_neg_volts: float | None,
             temp_celsius: float) -> Calibration:
    """The calibration at one (V_DD, V_NEG, temperature) of loaded, column-checked tables."""
    design = _design(t)
    notes: list[str] = []
    c_mem = _design_number(design, "c_mem_farads")
    if c_mem is None or c_mem <= 0:
        raise CalibrationError(
            f"fi table: provenance field 'design.c_mem_farads' must be a number > 0, "
            f"got {design.get('c_mem_farads')!r}")
    for extra in ("c_fb_farads", "c_feedback_farads"):
        c_fb = _design_number(design, extra)
        if c_fb:
            c_mem += c_fb  # the feedback capacitor integrates the input too (Axon-Hillock)
            notes.append(f"integrating C = c_mem_farads + {extra}")

    fi = t["fi"].df
    vdd = _nearest(fi["v_dd_volts"], v_dd_volts if v_dd_volts is not None
                   else (_design_number(design, "v_dd_volts") or float(fi["v_dd_volts"].median())),
                   "V_DD", "fi")
    vneg = _nearest(fi["v_neg_volts"], v_neg_volts if v_neg_volts is not None
                    else (_design_number(design, "v_neg_volts") or 0.0), "V_NEG", "fi")
    temp = _nearest(fi["temp_celsius"], temp_celsius, "temperature", "fi")
    op = _healthy(_at(_at(_at(fi, "v_dd_volts", vdd), "v_neg_volts", vneg), "temp_celsius",
                      temp), [])
    curve = op.groupby("i_exc_amps", sort=True)["rate_hertz"].mean()
    curve = curve[curve.index >= 0]
    if (curve > 0).sum() < 2:
        raise CalibrationError(
            f"fi table: need >= 2 firing points at V_DD={vdd} V, V_NEG={vneg} V, T={temp} °C, "
            f"got {int((curve > 0).sum())}")
    rates = np.maximum.accumulate(curve.to_numpy(dtype=float))
    if not np.allclose(rates, curve.to_numpy(dtype=float)):
        notes.append("fi: rate not monotone in current; running maximum used")
    mirror = _mirror_gains(t.get("mirror"), vdd, temp, notes)
    gain = _exc_gain(mirror, _design_number(design, "mirror_ratio"), notes)
    grid_v, grid_rows, grid_theta = [], [], []
    at_t = _healthy(_at(_at(fi, "v_dd_volts", vdd), "temp_celsius", temp), notes)
    for v, sub in at_t.groupby("v_neg_volts", sort=True):
        c = sub.groupby("i_exc_amps", sort=True)["rate_hertz"].mean()
        c = c[c.index >= 0]
        q_v = _q_slope(sub)
        if len(c) < 2 or q_v is None:
            continue
        row = np.interp(curve.index.to_numpy(dtype=float), c.index.to_numpy(dtype=float),
                        c.to_numpy(dtype=float))
        grid_v.append(float(v))
        grid_rows.append(tuple(np.maximum.accumulate(row)))
        grid_theta.append(q_v * gain(float(v)) / c_mem)
    firing = op[(op["rate_hertz"] > 0) & (op["n_spikes"] >= 2)]
    if firing.empty:
        firing = op[op["rate_hertz"] > 0]
    v_th = float(firing["v_th_volts"].median())
    if not (math.isfinite(v_th) and v_th > 0):
        raise CalibrationError(
            f"fi table: column 'v_th_volts' gives no positive threshold ({v_th!r})")
    width = float(firing["spike_width_seconds"].median())
    max_rate = float(rates.max())
    dt = dt_seconds if dt_seconds is not None else 1.0 / (rate_fraction * max_rate)
    g_op = gain(vneg)
    q = c_mem * v_th / g_op  # the input charge that moves the membrane by V_th
    q_fi = _q_slope(op)
    v_theta = None
    if q_fi is not None:
        v_theta = q_fi * g_op / c_mem
        notes.append(f"fi: θ = input charge per spike from the low-rate slope I/f = {q_fi:.4g} C "
                     f"(C×V_th/gain from the waveform = {q:.4g} C, {q_fi / q - 1:+.2%}); one θ of "
                     f"membrane = {v_theta:.4g} V (× excitatory mirror gain {g_op:.4g})")
        q = q_fi
    else:
        notes.append(f"fi: no low-rate rows; θ = C×V_th/gain = {q:.4g} C")
    v_sense = _sense_level(t.get("waveform"), vdd, _design_number(design, "v_dd_volts"), notes)
    v_rest = 0.0 if v_sense is None else v_sense - (v_th if v_theta is None else v_theta)

    # ---- floor ----
    fl = t["floor"].df
    fvdd = _nearest(fl["v_dd_volts"], vdd, "V_DD", "floor")
    ftemp = _nearest(fl["temp_celsius"], temp, "temperature", "floor")
    fl = _at(_at(fl, "v_dd_volts", fvdd), "temp_celsius", ftemp)
    floor = fl.groupby("v_neg_volts", sort=True)["v_mem_min_volts"].min()
    if floor.empty:
        raise CalibrationError("floor table: no rows at the operating V_DD")

    # ---- energy ----
    en = t["energy"].df
    en_f = en[en["rate_hertz"] > 0]
    evneg = _nearest(en_f["v_neg_volts"], vneg, "V_NEG", "energy")
    by_vdd = _at(en_f, "v_neg_volts", evneg).groupby("v_dd_volts", sort=True)
    e_vdd = by_vdd["e_spike_vdd_joules"].median()
    regime = by_vdd["regime"].agg(
        lambda s: "crowbar" if (s.astype(str) == "crowbar").mean() >= 0.5 else "quadratic")
    evdd = _nearest(en_f["v_dd_volts"], vdd, "V_DD", "energy")
    by_vneg = _at(en_f, "v_dd_volts", evdd).groupby("v_neg_volts", sort=True)
    e_vneg = by_vneg["e_spike_vneg_joules"].median()
    p_static = _at(en, "v_dd_volts", evdd).groupby("v_neg_volts", sort=True)[
        "p_static_vneg_watts"].median().reindex(e_vneg.index)
    if p_static.isna().any():
        raise CalibrationError("energy table: column 'p_static_vneg_watts' has gaps per V_NEG")
    quad = [(x, y) for x, y, r in zip(e_vdd.index, e_vdd.to_numpy(), regime.to_numpy())
            if r == "quadratic" and x > 0 and y > 0]
    exponent = None
    if len(quad) >= 2:
        xq, yq = np.log([p[0] for p in quad]), np.log([p[1] for p in quad])
        exponent = float(np.polyfit(xq, yq, 1)[0])
    spike = spike_fit(en_f, en, evneg, notes)
    ratio = _design_number(design, "mirror_ratio")
    syn_factor = 1.0 + (1.0 / ratio if ratio and ratio > 0 else 1.0)

    # ---- mismatch ----
    mm = t["mismatch"].df
    mvdd = _nearest(mm["v_dd_volts"], vdd, "V_DD", "mismatch")
    if abs(mvdd - vdd) > 1e-9:
        notes.append(f"mismatch: no Monte Carlo at V_DD {vdd:g} V; the moments of "
                     f"V_DD {mvdd:g} V used")
    mvneg = _nearest(mm["v_neg_volts"], vneg, "V_NEG", "mismatch")
    mm = _at(_at(mm, "v_dd_volts", mvdd), "v_neg_volts", mvneg)
    mm = mm[(mm["rate_nominal_hertz"] > 0) & np.isfinite(mm["gain"])]
    i_ok = float(curve.index.max())  # Monte Carlo rows beyond the working range say nothing
    if (mm["i_exc_amps"] > i_ok * (1 + 1e-9)).any():
        notes.append(f"mismatch: rows above {i_ok:.3g} A (outside the working range) left out")
        mm = mm[mm["i_exc_amps"] <= i_ok * (1 + 1e-9)]
    per = mm.groupby("mc_sample").agg(gain=("gain", "mean"), v_th=("v_th_volts", "mean"))
    n_mc = len(per)
    if n_mc >= 2:
        thr = per["v_th"].to_numpy() / float(per["v_th"].median())
        gain = per["gain"].to_numpy(dtype=float)
        corr = float(np.corrcoef(gain, thr)[0, 1]) if gain.std() > 0 and thr.std() > 0 else 0.0
        g_mean, g_std = float(gain.mean()), float(gain.std(ddof=1))
        t_mean, t_std = float(thr.mean()), float(thr.std(ddof=1))
    else:
        notes.append(f"mismatch: {n_mc} usable Monte Carlo sample(s); no spread fitted")
        g_mean, g_std, t_mean, t_std, corr = 1.0, 0.0, 1.0, 0.0, 0.0

    return Calibration(
        dt_seconds=dt, c_mem_farads=c_mem, v_th_volts=v_th, q_spike_coulombs=q,
        v_dd_volts=vdd, v_neg_volts=vneg,
        transfer_i_amps=tuple(curve.index.astype(float)), transfer_rate_hertz=tuple(rates),
        max_rate_hertz=max_rate, spike_width_seconds=width if math.isfinite(width) else 0.0,
        floor_v_neg_volts=tuple(floor.index.astype(float)),
        floor_v_mem_min_volts=tuple(floor.to_numpy(dtype=float)),
        energy_v_dd_volts=tuple(e_vdd.index.astype(float)),
        e_spike_vdd_joules=tuple(e_vdd.to_numpy(dtype=float)),
        energy_regime=tuple(regime.astype(str)), energy_exponent=exponent,
        energy_v_neg_volts=tuple(e_vneg.index.astype(float)),
        e_spike_vneg_joules=tuple(e_vneg.to_numpy(dtype=float)),
        p_static_vneg_watts=tuple(p_static.to_numpy(dtype=float)),
        syn_charge_factor=syn_factor, v_rest_volts=v_rest, v_theta_volts=v_theta,
        v_sense_volts=v_sense, v_start_volts=_start_level(design),
        theta_by_v_neg_volts=tuple(grid_theta),
        transfer_v_neg_volts=tuple(grid_v), transfer_rate_by_v_neg_hertz=tuple(grid_rows),
        gain_mean=g_mean, gain_std=g_std, threshold_mean=t_mean, threshold_std=t_std,
        gain_threshold_corr=corr if math.isfinite(corr) else 0.0, mismatch_samples=n_mc,
        sources={k: _source(t[k]) | {"table": k} for k in (*_KINDS, *_OPTIONAL) if k in t}
        | {"operating_point": {"v_dd_volts": vdd, "v_neg_volts": vneg, "temp_celsius": temp}},
        notes=tuple(notes), **spike, **mirror,
    )


def _start_level(design: dict[str, Any]) -> float | None:
    """The membrane controller's level: ground in the ``study`` topology (its MC1 ties the
    membrane to gnd before every input, ``netlists/if_neuron.sub``); None without a controller
    (``raised_rest``: the membrane starts at its rest)."""
    return 0.0 if design.get("topology") == "study" else None


def _exc_gain(mirror: dict[str, Any], ratio: float | None,
              notes: list[str]) -> Callable[[float], float]:
    """Membrane current per input current of the excitatory mirror, as a function of V_NEG.

    The f–I's I/f is the charge per spike at the neuron's *input*; the membrane receives the
    mirror's copy, so one θ of membrane is I/f × gain / C. Measured gains (``mirror`` table,
    interpolated over V_NEG and clamped to its ends) where there are some, else the design's
    ``mirror_ratio`` (the nominal copy ratio), else 1."""
    if mirror:
        xs = np.asarray(mirror["mirror_v_neg_volts"], dtype=float)
        ys = np.asarray(mirror["mirror_gain_exc"], dtype=float)
        return lambda v: float(np.interp(v, xs, ys))
    g = float(ratio) if ratio is not None and ratio > 0 else 1.0
    if g != 1.0:
        notes.append(f"fi: no mirror table; the design's mirror_ratio {g:g} converts input "
                     f"charge to membrane charge")
    return lambda _v: g


def _mirror_gains(table: Any, vdd: float, temp: float, notes: list[str]) -> dict[str, Any]:
    """The mirror-gain fields at (vdd, temp) from the ``mirror`` table (none: empty fields)."""
    if table is None or table.df.empty:
        notes.append("mirror: no mirror table; inhibition weighs as excitation (gain ratio 1)")
        return {}
    df = table.df
    mvdd = _nearest(df["v_dd_volts"], vdd, "V_DD", "mirror")
    mtemp = _nearest(df["temp_celsius"], temp, "temperature", "mirror")
    by = _at(_at(df, "v_dd_volts", mvdd), "temp_celsius", mtemp).groupby(
        "v_neg_volts", sort=True)[["gain_exc", "gain_inh"]].mean()
    ratio = by["gain_inh"] / by["gain_exc"]
    notes.append(f"mirror: gain_inh / gain_exc {ratio.min():.4f} .. {ratio.max():.4f} over V_NEG "
                 f"{by.index.min():g} .. {by.index.max():g} V at V_DD {mvdd:g} V (mean over "
                 f"{df['i_amps'].nunique()} currents)")
    return {"mirror_v_neg_volts": tuple(by.index.astype(float)),
            "mirror_gain_exc": tuple(by["gain_exc"].astype(float)),
            "mirror_gain_inh": tuple(by["gain_inh"].astype(float))}


__all__ = ["FIT_VERSION", "fit"]
