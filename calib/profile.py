"""The device energy profile: a tidy table other SNN tools can price spikes with.

One row per (V_DD, V_NEG, η, rate): pJ per spike (the neuron's own: E0 + K/f, the reset rail
and V_NEG over η), pJ per excitatory and per inhibitory synaptic event of unit weight
(q_spike of that V_DD's calibration), the leakage per neuron and the bias per array (nW), with
each term's regime and V_DD exponent. Written as ``energy_profile.csv`` with a provenance sidecar
``energy_profile.json`` (the tables' provenance, the calibration's sha256, the columns' units).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from calib import energy_terms as et
from calib.calibration import Calibration, content_hash
from calib.errors import CalibrationError
from calib.io import atomic_write_csv, atomic_write_json, provenance

ETAS = (0.3, 0.5, 0.8, 1.0)
"""Charge-pump efficiencies the profile sweeps (default η = `calib.energy_terms.ETA_DEFAULT`)."""
RATES_HERTZ = (1e3, 1e4, 1e5, 1e6)
"""Firing rates of the pJ-per-spike column (the crowbar part K/f moves with the rate)."""

COLUMNS = {
    "v_dd_volts": "V", "v_neg_volts": "V", "eta": "charge-pump efficiency of V_NEG/V_RST",
    "rate_hertz": "Hz", "pj_per_spike": "pJ", "pj_spike_logic": "pJ", "pj_spike_crowbar": "pJ",
    "pj_spike_negative_supplies": "pJ", "pj_per_exc_event": "pJ (unit weight)",
    "pj_per_inh_event": "pJ (unit weight)", "nw_leakage_per_neuron": "nW",
    "nw_bias_per_array": "nW", "logic_regime": "", "logic_v_dd_exponent": "",
    "crowbar_v_dd_exponent": "", "exc_v_dd_exponent": "", "inh_v_dd_exponent": "",
}


def energy_profile(cal: Calibration, *, etas: tuple[float, ...] = ETAS,
                   rates_hertz: tuple[float, ...] = RATES_HERTZ) -> pd.DataFrame:
    """The profile over every calibrated V_DD (within the energy fit) x measured V_NEG x η x
    rate. Rates above a V_DD's maximum rate are left out.

    Raises:
        CalibrationError: the calibration has no per-V_DD energy fit.
    """
    if not cal.spike_v_dd_volts:
        raise CalibrationError("energy_profile: the calibration has no per-V_DD energy fit "
                               "(field 'spike_v_dd_volts' is empty); recalibrate")
    rows: list[dict[str, Any]] = []
    lo, hi = cal.spike_v_dd_volts[0], cal.spike_v_dd_volts[-1]
    for vdd in cal.v_dd_grid:
        if not lo - 1e-9 <= vdd <= hi + 1e-9:
            continue
        top = cal.at(vdd).max_rate_hertz
        for vneg in cal.at(vdd).energy_v_neg_volts:
            for eta in etas:
                for f in rates_hertz:
                    if f > top:
                        continue
                    t = et.terms(cal, v_dd_volts=vdd, v_neg_volts=vneg, rate_hertz=f, eta=eta)
                    neg = t["spike_reset"].value + t["spike_vneg"].value
                    rows.append({
                        "v_dd_volts": vdd, "v_neg_volts": vneg, "eta": eta, "rate_hertz": f,
                        "pj_per_spike": 1e12 * (t["spike_logic"].value
                                                + t["spike_crowbar"].value + neg),
                        "pj_spike_logic": 1e12 * t["spike_logic"].value,
                        "pj_spike_crowbar": 1e12 * t["spike_crowbar"].value,
                        "pj_spike_negative_supplies": 1e12 * neg,
                        "pj_per_exc_event": 1e12 * t["syn_exc"].value,
                        "pj_per_inh_event": 1e12 * t["syn_inh"].value,
                        "nw_leakage_per_neuron": 1e9 * t["leakage"].value,
                        "nw_bias_per_array": 1e9 * t["bias"].value,
                        "logic_regime": t["spike_logic"].regime,
                        "logic_v_dd_exponent": t["spike_logic"].v_dd_exponent,
                        "crowbar_v_dd_exponent": t["spike_crowbar"].v_dd_exponent,
                        "exc_v_dd_exponent": t["syn_exc"].v_dd_exponent,
                        "inh_v_dd_exponent": t["syn_inh"].v_dd_exponent,
                    })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_energy_profile(cal: Calibration, path: str | os.PathLike[str], *,
                         source: dict[str, Any] | None = None) -> Path:
    """Write ``energy_profile(cal)`` to ``path`` (CSV) and its sidecar ``path.with_suffix(
    ".json")``, atomically, CSV first. ``source``: the tables' provenance."""
    path = Path(path)
    df = energy_profile(cal)
    atomic_write_csv(path, df, float_format="%.6g")
    atomic_write_json(path.with_suffix(".json"), provenance(**{
        "kind": "energy_profile", "rows": len(df), "columns": COLUMNS,
        "calibration_sha256": content_hash(cal.to_dict()), "eta_default": et.ETA_DEFAULT,
        "model": "calib.energy_terms", "source": source or {},
        "producer": "calib.profile.write_energy_profile"}))
    return path


__all__ = ["COLUMNS", "ETAS", "RATES_HERTZ", "energy_profile", "write_energy_profile"]
