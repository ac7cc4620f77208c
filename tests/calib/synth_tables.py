"""Lookup tables of an analytic neuron, written in the pinned schema (for calib/cosim tests).

The "circuit": an integrator C·V_th with a refractory reset pulse, f(I) = 1 / (C·V_th/I + t_ref);
the floor follows V_NEG down to a clamp; E_spike from V_DD = k·V_DD² below 1.3 V and crowbar above;
Monte Carlo samples with a known gain/threshold spread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from calib.tables import write_table

C_MEM = 1e-12
V_TH = 0.5
T_REF = 1e-7
K_VDD = 0.7e-12
V_CLAMP = -1.2
E_RST = 0.3e-12  # reset-rail energy per spike (fixed charge)
P_BIAS, P_VDD, P_VRST = 1e-8, 1e-10, 1e-11  # bias (per array, × V_DD), idle V_DD (× V_DD), rail
V_REST = 0.1  # membrane level after a reset (network v = 0); sense threshold = V_REST + V_TH

DESIGN = {"c_mem_farads": C_MEM, "v_dd_volts": 1.0, "v_neg_volts": 0.0,
          "q_reset_coulombs": C_MEM * V_TH, "mirror_ratio": 1.0}


def provenance(kind: str, mirror_ratio: float = 1.0) -> dict:
    return {"design": dict(DESIGN, mirror_ratio=mirror_ratio), "model_cards": "analytic",
            "ngspice_version": "none", "nmpkit_version": "test", "git_revision": "test",
            "seed": 0, "grid": {"kind": kind}}


def v_th_at(vdd: float) -> float:
    """θ of the analytic neuron at V_DD: proportional to V_DD (V_TH at 1 V)."""
    return V_TH * vdd


def rate(i: np.ndarray, vdd: float = 1.0, mirror_ratio: float = 1.0) -> np.ndarray:
    """Rate at input current ``i``: the membrane integrates the mirror's copy ``mirror_ratio``·i."""
    i = np.asarray(i, dtype=float) * mirror_ratio
    with np.errstate(divide="ignore"):
        return np.where(i > 0, 1.0 / (C_MEM * v_th_at(vdd) / np.maximum(i, 1e-30) + T_REF), 0.0)


def frames(*, gain_std: float = 0.1, thr_std: float = 0.05, n_mc: int = 64, seed: int = 0,
           waveform_v_dd: bool = True, crowbar_k: float = 0.0, mirror_ratio: float = 1.0):
    currents = np.array([0.0, 1e-8, 2e-8, 5e-8, 1e-7, 2e-7, 5e-7, 1e-6, 2e-6])
    rows = []
    for vdd in (0.8, 1.0, 1.2):
        for vneg in (0.0, -0.5, -1.0):
            for i in currents:
                r = float(rate(i, vdd, mirror_ratio))
                rows.append(dict(i_exc_amps=i, v_dd_volts=vdd, v_neg_volts=vneg, temp_celsius=27.0,
                                 rate_hertz=r, n_spikes=int(r * 1e-4), v_th_volts=v_th_at(vdd),
                                 spike_width_seconds=T_REF))
    fi = pd.DataFrame(rows)
    rows = []
    for vdd in (0.8, 1.0, 1.2):
        for vneg in (0.0, -0.25, -0.5, -1.0, -1.5):
            for i_inh in (1e-8, 1e-7):
                vmin = max(vneg, V_CLAMP) + (0.02 if i_inh < 5e-8 else 0.0)
                rows.append(dict(i_inh_amps=i_inh, v_dd_volts=vdd, v_neg_volts=vneg,
                                 temp_celsius=27.0, v_mem_min_volts=vmin))
    floor = pd.DataFrame(rows)
    rows = []
    for vdd in (0.8, 1.0, 1.2, 1.5):
        for vneg in (0.0, -0.5, -1.0):
            for i in (1e-7, 5e-7):
                f = float(rate(i))
                e = K_VDD * vdd**2 * (2.0 if vdd >= 1.5 else 1.0) + crowbar_k * vdd**3 / f
                rows.append(dict(i_exc_amps=i, v_dd_volts=vdd, v_neg_volts=vneg,
                                 rate_hertz=f, e_spike_vdd_joules=e,
                                 e_spike_vneg_joules=1e-14 * abs(vneg),
                                 p_static_vneg_watts=1e-9 * vneg**2,
                                 regime="crowbar" if vdd >= 1.5 else "quadratic",
                                 e_spike_vrst_joules=E_RST, p_bias_watts=P_BIAS * vdd,
                                 p_static_vdd_watts=P_VDD * vdd, p_static_vrst_watts=P_VRST))
    energy = pd.DataFrame(rows)
    rng = np.random.default_rng(seed)
    g = 1.0 + gain_std * rng.standard_normal(n_mc)
    th = V_TH * (1.0 + thr_std * rng.standard_normal(n_mc))
    rows = []
    for s in range(n_mc):
        for i in (1e-7, 2e-7):
            rn = float(rate(i))
            rows.append(dict(mc_sample=s, seed=seed, i_exc_amps=i, v_dd_volts=1.0, v_neg_volts=0.0,
                             rate_hertz=rn * g[s], rate_nominal_hertz=rn, gain=g[s],
                             v_th_volts=th[s]))
    mismatch = pd.DataFrame(rows)
    t = np.arange(0, 4e-6, 1e-9)
    phase = (t % 1e-6) / 1e-6  # a spike every µs, lasting 50 ns at the end of the ramp
    spiking = phase > 0.95
    parts = []
    for vdd in ((0.8, 1.0, 1.2) if waveform_v_dd else (1.0,)):
        rest, swing = V_REST * vdd, v_th_at(vdd)  # rest and θ both scale with V_DD
        v_mem = np.where(spiking, rest + swing + 0.3, rest + swing * phase / 0.95)
        part = dict(time_seconds=t, v_mem_volts=v_mem, v_out_volts=np.where(spiking, vdd, 0.0))
        parts.append(pd.DataFrame(part | ({"v_dd_volts": vdd} if waveform_v_dd else {})))
    waveform = pd.concat(parts, ignore_index=True)
    return {"fi": fi, "floor": floor, "energy": energy, "mismatch": mismatch,
            "waveform": waveform}, (g, th)


def theta_volts(dfs) -> float:
    """One θ of membrane of the analytic neuron at V_DD 1 V: its charge per spike over C (the
    refractory time T_REF is not part of θ), independent of how fit() estimates it."""
    del dfs
    return v_th_at(1.0)


def write_tables(directory: Path, **kw) -> Path:
    dfs, _ = frames(**kw)
    ratio = kw.get("mirror_ratio", 1.0)
    for kind, df in dfs.items():
        write_table(df, Path(directory) / f"{kind}.csv", kind=kind,
                    provenance=provenance(kind, ratio))
    return Path(directory)
