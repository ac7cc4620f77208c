"""Table access for `calib.fit`: load a table directory, pick a grid value, select rows, read
the design's numbers, drop collapsed f–I rows, the low-rate charge slope and the waveform's
sense level."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calib.errors import CalibrationError
from calib.tables import OPTIONAL_KINDS as _OPTIONAL
from calib.tables import REQUIRED_KINDS as _KINDS
from calib.tables import TABLE_FILES, read_table


def _load(tables: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    if isinstance(tables, (str, os.PathLike)):
        d = Path(tables)
        if not d.is_dir():
            raise CalibrationError(f"{d}: table directory not found")
        out = {k: read_table(d / TABLE_FILES[k], kind=k) for k in _KINDS}
        for k in _OPTIONAL:
            if (d / TABLE_FILES[k]).is_file():
                out[k] = read_table(d / TABLE_FILES[k], kind=k)
        for k, t in out.items():
            t.provenance.setdefault("_file", str(d / TABLE_FILES[k]))
        return out
    missing = [k for k in _KINDS if k not in tables]
    if missing:
        raise CalibrationError(f"tables: missing table {missing[0]!r}; need {list(_KINDS)}")
    return dict(tables)


def _nearest(values: pd.Series, target: float, what: str, table: str) -> float:
    grid = np.unique(values.to_numpy(dtype=float))
    if grid.size == 0:
        raise CalibrationError(f"{table} table: no rows to choose {what} from")
    return float(grid[np.argmin(np.abs(grid - target))])


def _at(df: pd.DataFrame, col: str, value: float) -> pd.DataFrame:
    return df[np.isclose(df[col].to_numpy(dtype=float), value, rtol=0, atol=1e-9)]


def _source(table: Any) -> dict[str, Any]:
    prov = dict(table.provenance)
    return {"file": prov.pop("_file", None), "provenance": prov}


def _design(tables: Mapping[str, Any]) -> dict[str, Any]:
    design = tables["fi"].provenance.get("design")
    if not isinstance(design, dict):
        raise CalibrationError("fi table: provenance lacks field 'design' (the NeuronDesign dict)")
    return design


def _design_number(design: dict[str, Any], key: str) -> float | None:
    v = design.get(key)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _healthy(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Drop f–I rows where the threshold swing has collapsed (< 0.6 × the median): the neuron no
    longer resets a full packet there (runt oscillation), so its rate is not a transfer curve."""
    if df.empty:
        return df
    med = float(df.loc[df["rate_hertz"] > 0, "v_th_volts"].median())
    bad = (df["rate_hertz"] > 0) & (df["v_th_volts"] < 0.6 * med)
    if bad.any():
        notes.append(f"fi: {int(bad.sum())} row(s) with a collapsed threshold swing "
                     f"(< {0.6 * med:.3g} V) left out: above "
                     f"{df.loc[bad, 'i_exc_amps'].min():.3g} A the circuit is out of range")
    return df[~bad]


def _q_slope(df: pd.DataFrame) -> float | None:
    """Charge per spike at vanishing rate: the intercept at I = 0 of I/f against I over the firing
    rows with ≥ 2 spikes whose rate is at most a quarter of the largest, widened to the two
    lowest firing currents when fewer lie there (an integrator with a refractory time t has
    I/f = q + t·I, so the intercept is q with the refractory time taken out); the median I/f when
    a single current fires or the intercept is not positive."""
    f = df[(df["rate_hertz"] > 0) & (df["n_spikes"] >= 2)]
    if f.empty:
        return None
    per_i = (f["i_exc_amps"] / f["rate_hertz"]).groupby(f["i_exc_amps"]).mean()
    rate = f.groupby("i_exc_amps")["rate_hertz"].mean()
    low = rate.index[rate <= 0.25 * f["rate_hertz"].max()]
    per_i = per_i.loc[per_i.index[:max(2, len(low))]] if len(low) < 2 else per_i.loc[low]
    if len(per_i) < 2:
        return float(per_i.median())
    x = per_i.index.to_numpy(dtype=float)
    slope, q0 = np.polyfit(x / x.max(), per_i.to_numpy(dtype=float), 1)
    return float(q0) if np.isfinite(q0) and q0 > 0 else float(per_i.median())


def _sense_level(table: Any, v_dd: float, v_dd_design: float | None,
                 notes: list[str]) -> float | None:
    """The sense threshold at ``v_dd``: membrane just before the output starts to rise (median
    over the waveform's spikes); None without a usable waveform at that V_DD. A waveform table
    without a ``v_dd_volts`` column was recorded at the design's V_DD."""
    if table is None:
        notes.append("no waveform table: network v = 0 taken as 0 V")
        return None
    df = table.df
    if "v_dd_volts" in df.columns:
        df = _at(df, "v_dd_volts", v_dd)
    elif v_dd_design is not None and abs(v_dd_design - v_dd) > 1e-9:
        df = df.iloc[:0]
    if df.empty:
        notes.append(f"waveform: none at V_DD {v_dd:g} V; network v = 0 taken as 0 V")
        return None
    vm = df["v_mem_volts"].to_numpy(dtype=float)
    vo = df["v_out_volts"].to_numpy(dtype=float)
    low = vo < 0.05 * v_dd
    starts = np.nonzero(low[:-1] & ~low[1:])[0]
    if starts.size < 2:
        notes.append(f"waveform: {starts.size} spike(s); network v = 0 taken as 0 V")
        return None
    ramped = _full_ramp_starts(df["time_seconds"].to_numpy(dtype=float), low, starts)
    if ramped.size < starts.size:
        notes.append(f"waveform: {starts.size - ramped.size} of {starts.size} spikes re-fired "
                     f"right after the previous one (double pulses: the membrane at their start, "
                     f"median {float(np.median(vm[np.setdiff1d(starts, ramped)])):.4g} V, is not "
                     f"the sense threshold) left out of the sense level")
    v_sw = float(np.median(vm[ramped]))
    notes.append(f"waveform: sense threshold {v_sw:.4g} V (membrane as the output starts to "
                 f"rise, median of {ramped.size} spikes); rest = threshold − θ")
    return v_sw


def _full_ramp_starts(t: np.ndarray, low: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The spike starts that follow a full integration ramp: the first, and every one whose gap
    since the previous spike ended is at least half the longest such gap. A start sooner than
    that is a re-fire (the slow sense inverter still high when the pulse ends: the latch sets
    again at a membrane level far below the threshold), not a threshold crossing."""
    falls = np.nonzero(~low[:-1] & low[1:])[0]
    keep = [starts[0]]
    gaps = []
    for s in starts[1:]:
        prev = falls[falls < s]
        gaps.append(t[s] - t[prev[-1]] if prev.size else np.inf)
    gaps_a = np.asarray(gaps, dtype=float)
    if gaps_a.size:
        finite = gaps_a[np.isfinite(gaps_a)]
        longest = float(finite.max()) if finite.size else np.inf
        keep += [s for s, g in zip(starts[1:], gaps_a) if not g < 0.5 * longest]
    return np.asarray(keep, dtype=int)
