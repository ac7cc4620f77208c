"""The per-V_DD energy fit of `calib.fit`: E_spike,VDD = E0 + K/f, the reset rail's energy per
spike, and the bias and idle powers (the fields `calib.energy_terms` reads)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _at(df: pd.DataFrame, col: str, value: float) -> pd.DataFrame:
    return df[np.isclose(df[col].to_numpy(dtype=float), value, rtol=0, atol=1e-9)]


def spike_fit(en_f: pd.DataFrame, en: pd.DataFrame, vneg: float,
               notes: list[str]) -> dict[str, tuple[float, ...]]:
    """Per V_DD at ``vneg``: E_spike,VDD = E0 + K/f by least squares over the firing rows (K and
    E0 clipped at 0), the reset rail's energy per spike (median), the bias and idle powers."""
    out: dict[str, list[float]] = {k: [] for k in (
        "spike_v_dd_volts", "spike_e0_joules", "spike_k_watts", "e_spike_vrst_joules",
        "p_bias_watts", "p_static_vdd_watts", "p_static_vrst_watts")}
    at = _at(en_f, "v_neg_volts", vneg)
    idle = _at(en, "v_neg_volts", vneg)
    for v, sub in at.groupby("v_dd_volts", sort=True):
        if len(sub) < 2:
            continue
        x = 1.0 / sub["rate_hertz"].to_numpy(dtype=float)
        y = sub["e_spike_vdd_joules"].to_numpy(dtype=float)
        k, e0 = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.median(y)))
        if k < 0 or e0 < 0:
            k, e0 = max(float(k), 0.0), max(float(e0), 0.0)
            notes.append(f"energy: E0 + K/f at V_DD {float(v):g} V clipped at 0")
        med = (lambda col, df=sub: float(df[col].median()) if col in df.columns  # noqa: E731
               and df[col].notna().any() else 0.0)
        iv = _at(idle, "v_dd_volts", float(v))
        imed = (lambda col, df=iv: float(df[col].median()) if col in df.columns  # noqa: E731
                and df[col].notna().any() else 0.0)
        out["spike_v_dd_volts"].append(float(v))
        out["spike_e0_joules"].append(float(e0))
        out["spike_k_watts"].append(float(k))
        out["e_spike_vrst_joules"].append(max(med("e_spike_vrst_joules"), 0.0))
        out["p_bias_watts"].append(max(imed("p_bias_watts"), 0.0))
        out["p_static_vdd_watts"].append(max(imed("p_static_vdd_watts"), 0.0))
        out["p_static_vrst_watts"].append(max(imed("p_static_vrst_watts"), 0.0))
    if out["spike_v_dd_volts"]:
        notes.append("energy: E_spike,VDD = E0 + K/f per V_DD at V_NEG "
                     f"{vneg:g} V: E0 {[f'{e:.3g}' for e in out['spike_e0_joules']]} J, "
                     f"K {[f'{k:.3g}' for k in out['spike_k_watts']]} W")
    return {k: tuple(v) for k, v in out.items()}


__all__ = ["spike_fit"]
