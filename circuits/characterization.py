"""Full characterization of a design into the pinned lookup tables (``calib.tables``).

Python API::

    from circuits import characterize, default_design, default_grid, quick_grid
    paths = characterize(default_design(), quick_grid(), "tables", workers=2)
    # {"fi": Path("tables/fi.csv"), "floor": ..., "energy": ..., "mismatch": ..., "waveform": ...}

What is simulated (all through `circuits.sweep.run_points`, so cached and resumable):

* ``fi``: every (i_exc, V_DD, V_NEG, temperature) of the grid;
* ``idle``: every (V_DD, V_NEG, temperature): static supply power;
* ``floor``: every (i_inh, V_DD, V_NEG, temperature): membrane minimum under inhibition;
* ``mc``: ``mc_samples`` mismatch samples at each of ``mc_i_exc_amps`` (design supplies), plus
  the nominal design at the same currents (the ``gain`` reference);
* ``mirror`` (``study`` topology): at every (V_DD, V_NEG) of the grid and each of
  ``mirror_i_amps``, the gain of the excitatory and of the inhibitory mirror (DC, membrane held at
  V_DD/3; `circuits.mirror`) for ``mirror.csv``;
* one short transient of the design for ``waveform.csv``.

Energy per spike is the supply energy over spikes 2..N minus the idle (static) power over the same
window, divided by the spikes, with the excitatory input charge excluded (see `circuits.measure`).
The ``regime`` column comes from the measured V_DD dependence: the local exponent
``d ln E_vdd / d ln V_DD`` at fixed current and V_NEG is "quadratic" within [1.6, 2.4], else
"crowbar" (the sense inverter conducting through the slow membrane ramp, level-shifter contention).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calib.io import digest, package_version
from calib.io import provenance as _provenance
from calib.tables import SCHEMAS, write_table
from circuits.design import NeuronDesign
from circuits.grid import Grid, grid_points
from circuits.point import Point, waveform
from circuits.render import model_text, subckt_text
from circuits.sweep import SweepStats, run_points

QUADRATIC_EXPONENT_RANGE = (1.6, 2.4)


def provenance(design: NeuronDesign, grid: Grid, stats: SweepStats | None = None
               ) -> dict[str, Any]:
    """The provenance every table carries: ``calib.io.provenance()`` with
    ``calib.tables.PROVENANCE_KEYS`` and the sweep's statistics."""
    from circuits.ngspice import ngspice_version

    cards = model_text(design.model_cards, design.v_neg_path_oxide)
    sub = subckt_text(design.model_cards, design.topology, design.v_neg_path_oxide)
    return _provenance(**{
        "design": design.to_dict(),
        "model_cards": {"name": design.model_cards,
                        "sha256": digest(cards)},
        "netlist_sha256": digest(sub),
        "ngspice_version": ngspice_version(),
        "nmpkit_version": package_version("nmpkit"),
        "seed": grid.seed,
        "grid": grid.to_dict(),
        "producer": "circuits.characterization.characterize",
        "sweep": dataclasses.asdict(stats) if stats else None,
    })


def energy_regime(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``vdd_exponent`` (d ln E_vdd / d ln V_DD at fixed current and V_NEG) and ``regime``."""
    df = df.copy()
    df["vdd_exponent"] = np.nan
    keys = [k for k in ("i_exc_amps", "v_neg_volts", "temp_celsius") if k in df.columns]
    for _, idx in df.groupby(keys).groups.items():
        sub = df.loc[idx].sort_values("v_dd_volts")
        ok = sub["e_spike_vdd_joules"] > 0
        sub = sub[ok]
        if len(sub) >= 2:
            k = np.gradient(np.log(sub["e_spike_vdd_joules"].to_numpy()),
                            np.log(sub["v_dd_volts"].to_numpy()))
            df.loc[sub.index, "vdd_exponent"] = k
    lo, hi = QUADRATIC_EXPONENT_RANGE
    quad = (df["vdd_exponent"] >= lo) & (df["vdd_exponent"] <= hi)
    df["regime"] = np.where(quad, "quadratic", "crowbar")
    return df


def build_tables(design: NeuronDesign, grid: Grid, pts: dict[str, list[Point]],
                 rows: dict[str, list[dict[str, Any]]]) -> dict[str, pd.DataFrame]:
    """Assemble the table frames from the points and their measured rows."""
    def frame(kind: str, cols: tuple[str, ...]) -> pd.DataFrame:
        recs = [{**{c: getattr(p, c) for c in cols}, **r} for p, r in zip(pts[kind], rows[kind],
                                                                              strict=True)]
        return pd.DataFrame.from_records(recs)

    base = ("i_exc_amps", "v_dd_volts", "v_neg_volts", "temp_celsius")
    fi = frame("fi", base)
    idle = frame("idle", ("v_dd_volts", "v_neg_volts", "temp_celsius"))
    floor = frame("floor", ("i_inh_amps", "v_dd_volts", "v_neg_volts", "temp_celsius"))
    en = fi.merge(idle, on=["v_dd_volts", "v_neg_volts", "temp_celsius"], how="left")
    n = en["n_window_spikes"].where(en["n_window_spikes"] > 0)
    en["e_spike_vdd_joules"] = (en["e_window_vdd_joules"]
                                - en["p_static_vdd_watts"] * en["t_window_seconds"]) / n
    en["e_spike_vneg_joules"] = (en["e_window_vneg_joules"]
                                 - en["p_static_vneg_watts"] * en["t_window_seconds"]) / n
    rail = "e_window_vrst_joules" in en.columns and "p_static_vrst_watts" in en.columns
    if rail:  # study: the reset rail's packet energy per spike, and the bias generator
        en["e_spike_vrst_joules"] = (en["e_window_vrst_joules"]
                                     - en["p_static_vrst_watts"] * en["t_window_seconds"]) / n
    en = en[np.isfinite(en["e_spike_vdd_joules"])]
    en = energy_regime(en)
    energy = en[["i_exc_amps", "v_dd_volts", "v_neg_volts", "temp_celsius", "rate_hertz",
                 "e_spike_vdd_joules", "e_spike_vneg_joules", "p_static_vneg_watts",
                 "p_static_vdd_watts", "vdd_exponent", "regime"]
                + (["e_spike_vrst_joules", "p_static_vrst_watts", "p_bias_watts"] if rail
                   else [])].reset_index(drop=True)
    fi_cols = ["i_exc_amps", "v_dd_volts", "v_neg_volts", "temp_celsius", "rate_hertz",
               "n_spikes", "v_th_volts", "spike_width_seconds", "t_stop_seconds"]
    tables = {"fi": fi[fi_cols], "floor": floor, "energy": energy}
    if pts["mirror"]:
        mirror = frame("mirror", base).rename(columns={"i_exc_amps": "i_amps"})
        tables["mirror"] = mirror[list(SCHEMAS["mirror"])]
    if pts["mc"]:
        mc = frame("mc", ("mc_sample", "seed", "i_exc_amps", "v_dd_volts", "v_neg_volts"))
        nom = {(p.i_exc_amps, p.v_dd_volts): r["rate_hertz"]
               for p, r in zip(pts["mc_nominal"], rows["mc_nominal"], strict=True)}
        mc["rate_nominal_hertz"] = [nom[(i, v)] for i, v in zip(mc["i_exc_amps"],
                                                                mc["v_dd_volts"])]
        mc["gain"] = mc["rate_hertz"] / mc["rate_nominal_hertz"]
        tables["mismatch"] = mc[["mc_sample", "seed", "i_exc_amps", "v_dd_volts", "v_neg_volts",
                                 "rate_hertz", "rate_nominal_hertz", "gain", "v_th_volts",
                                 "n_spikes"]]
    else:
        tables["mismatch"] = pd.DataFrame({c: pd.Series(dtype=float) for c in (
            "mc_sample", "seed", "i_exc_amps", "v_dd_volts", "v_neg_volts", "rate_hertz",
            "rate_nominal_hertz", "gain", "v_th_volts")})
    return tables


def waveforms(design: NeuronDesign, grid: Grid) -> pd.DataFrame:
    """One short transient per V_DD of the grid (design V_NEG), stacked with a ``v_dd_volts``
    column: each V_DD's sense level (its calibration's rest) comes from its own waveform."""
    parts = []
    for vdd in grid.v_dd_volts:
        w = waveform(dataclasses.replace(design, v_dd_volts=vdd),
                     i_exc_amps=grid.waveform_i_exc_amps)
        parts.append(pd.DataFrame({"time_seconds": w["time"], "v_mem_volts": w["v_mem"],
                                   "v_out_volts": w["v_out"], "v_dd_volts": vdd}))
    return pd.concat(parts, ignore_index=True)


def characterize(design: NeuronDesign, grid: Grid, out_dir: str | Path, *,
                 workers: int | None = None, scheduler: Any = None,
                 progress: bool | Callable[[int, int], None] = True,
                 cache_dir: str | Path | None = None) -> dict[str, Path]:
    """Characterize ``design`` over ``grid`` and write the five tables into ``out_dir``.

    Args:
        design: the neuron.
        grid: what to sweep (`default_grid`, `quick_grid` or your own `Grid`).
        out_dir: table directory (created); ``fi.csv``, ``floor.csv``, ``energy.csv``,
            ``mismatch.csv``, ``waveform.csv``, each with its ``.json`` provenance sidecar.
        workers: local worker processes (default: all cores).
        scheduler: Dask scheduler address (or ``distributed.Client``) to run the sweep on.
        progress: tqdm bar (True), none (False) or a callback(done, total).
        cache_dir: point cache (default ``out_dir/.cache``); rerunning resumes from it.

    Returns:
        kind -> CSV path.

    Raises:
        SimulationError, CharacterizationError: a point failed (finished points stay cached).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir) if cache_dir is not None else out / ".cache"
    pts = grid_points(design, grid)
    flat = [p for kind in pts for p in pts[kind]]
    all_rows, stats = run_points(design, flat, cache_dir=cache, workers=workers,
                                 scheduler=scheduler, progress=progress)
    rows: dict[str, list[dict[str, Any]]] = {}
    pos = 0
    for kind, plist in pts.items():
        rows[kind] = all_rows[pos:pos + len(plist)]
        pos += len(plist)
    tables = build_tables(design, grid, pts, rows)
    tables["waveform"] = waveforms(design, grid)
    prov = provenance(design, grid, stats)
    from circuits.soa import enforce

    prov["soa"] = enforce(design, warn=False, supplies=[(v, n) for v in grid.v_dd_volts
                                            for n in grid.v_neg_volts])
    return {kind: write_table(df, out / f"{kind}.csv", kind=kind, provenance=prov)
            for kind, df in tables.items()}


__all__ = ["QUADRATIC_EXPONENT_RANGE", "build_tables", "characterize", "energy_regime",
           "provenance", "waveforms"]
