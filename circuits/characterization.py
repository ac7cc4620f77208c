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
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calib.io import digest, package_version
from calib.io import provenance as _provenance
from calib.tables import SCHEMAS, write_table
from circuits.design import NeuronDesign
from circuits.errors import DesignError
from circuits.point import Point, waveform
from circuits.render import model_text, subckt_text
from circuits.sweep import SweepStats, run_points

QUADRATIC_EXPONENT_RANGE = (1.6, 2.4)


def _tuple(values, name: str, lo: float, hi: float) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise DesignError(f"grid {name} must be a list of numbers, got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise DesignError(f"grid {name} values must be numbers, got {v!r}")
        out.append(float(v))
    out = tuple(out)
    if not out:
        raise DesignError(f"grid {name} must not be empty")
    for v in out:
        if not (math.isfinite(v) and lo <= v <= hi):
            raise DesignError(f"grid {name} values must be in [{lo:g}, {hi:g}], got {v!r}")
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Grid:
    """What to sweep (SI units). ``mc_samples`` = 0 skips Monte Carlo (at the design's supplies,
    at each of ``mc_i_exc_amps``); ``mc_v_dd_samples`` samples at every other V_DD of the grid
    (design V_NEG, the first of ``mc_i_exc_amps``) give each V_DD's calibration its own
    mismatch. ``waveform_i_exc_amps``: the current of each V_DD's waveform (its calibration's
    sense level, hence rest): 100 nA, inside every V_DD's clean range (at V_DD 0.8 V the study
    neuron fires double pulses above ~190 nA: the membrane overshoots the slow sense inverter's
    switching point by more than one packet removes, and a 200 nA waveform's median sense level
    fell 0.13 V)."""

    i_exc_amps: tuple[float, ...]
    v_dd_volts: tuple[float, ...]
    v_neg_volts: tuple[float, ...]
    i_inh_amps: tuple[float, ...]
    temp_celsius: tuple[float, ...] = (27.0,)
    mc_samples: int = 0
    mc_i_exc_amps: tuple[float, ...] = (1e-7,)
    seed: int = 0
    waveform_i_exc_amps: float = 1e-7
    mc_v_dd_samples: int = 0
    mirror_i_amps: tuple[float, ...] = (3e-8, 3e-7)
    name: str = field(default="custom")

    def __post_init__(self) -> None:
        object.__setattr__(self, "i_exc_amps", _tuple(self.i_exc_amps, "i_exc_amps", 1e-12, 1e-3))
        object.__setattr__(self, "v_dd_volts", _tuple(self.v_dd_volts, "v_dd_volts", 0.6, 2.0))
        object.__setattr__(self, "v_neg_volts", _tuple(self.v_neg_volts, "v_neg_volts", -2.0, 0))
        object.__setattr__(self, "i_inh_amps", _tuple(self.i_inh_amps, "i_inh_amps", 1e-12, 1e-3))
        object.__setattr__(self, "temp_celsius",
                           _tuple(self.temp_celsius, "temp_celsius", -55.0, 150.0))
        object.__setattr__(self, "mc_i_exc_amps",
                           _tuple(self.mc_i_exc_amps, "mc_i_exc_amps", 1e-12, 1e-3))
        if len(set(self.v_dd_volts)) < 2:
            raise DesignError("grid v_dd_volts needs >= 2 distinct values (the energy regime is "
                              f"decided from the V_DD exponent), got {self.v_dd_volts!r}")
        if isinstance(self.mc_samples, bool) or not isinstance(self.mc_samples, int) \
                or self.mc_samples < 0:
            raise DesignError(f"grid mc_samples must be an int >= 0, got {self.mc_samples!r}")
        if self.mirror_i_amps != ():  # () skips the mirror gains
            object.__setattr__(self, "mirror_i_amps",
                               _tuple(self.mirror_i_amps, "mirror_i_amps", 1e-12, 1e-3))
        n = self.mc_v_dd_samples
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DesignError(f"grid mc_v_dd_samples must be an int >= 0, got {n!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def grid_from_mapping(values: dict[str, Any], base: Grid, *, source: str = "grid") -> Grid:
    """``base`` with the fields in ``values`` replaced (e.g. a TOML ``[grid]`` table).

    Raises:
        DesignError: an unknown field or an invalid value.
    """
    known = {f.name for f in dataclasses.fields(Grid)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise DesignError(f"{source}: unknown grid field {unknown[0]!r}; known: {sorted(known)}")
    try:
        return dataclasses.replace(base, **values)
    except TypeError as exc:  # e.g. a scalar where a list belongs
        raise DesignError(f"{source}: bad grid value ({exc})") from exc


def _logspace(lo: float, hi: float, n: int) -> tuple[float, ...]:
    return tuple(float(f"{x:.4g}") for x in np.geomspace(lo, hi, n))


def default_grid(design: NeuronDesign | None = None, *, seed: int = 0) -> Grid:
    """40 currents (1 nA .. 2x the reset current, i.e. into saturation) x 5 V_NEG x 3 V_DD,
    100 MC samples at each of 30 nA and 300 nA (inside the linear range, where a sample's gain
    is meaningful; near 1 uA some samples already leave it) and 32 at 30 nA at each other V_DD."""
    top = 2.0 * (design.i_reset_amps if design else 1.5e-6)
    return Grid(i_exc_amps=_logspace(1e-9, top, 40), v_dd_volts=(0.8, 1.0, 1.2),
                v_neg_volts=(0.0, -0.25, -0.5, -0.75, -1.0),
                i_inh_amps=_logspace(1e-8, 1e-6, 5), mc_samples=100,
                mc_i_exc_amps=(3e-8, 3e-7), mc_v_dd_samples=32, seed=seed, name="default")


def quick_grid(design: NeuronDesign | None = None, *, seed: int = 0) -> Grid:
    """About half a minute on 2 cores: 8 currents x 3 V_NEG x 3 V_DD, 20 MC samples (8 at each
    other V_DD)."""
    top = 2.0 * (design.i_reset_amps if design else 1.5e-6)
    return Grid(i_exc_amps=_logspace(1e-9, top, 8), v_dd_volts=(0.8, 1.0, 1.2),
                v_neg_volts=(0.0, -0.5, -1.0), i_inh_amps=(1e-7, 1e-6), mc_samples=20,
                mc_i_exc_amps=(1e-7,), mc_v_dd_samples=8, seed=seed, name="quick")


def grid_points(design: NeuronDesign, grid: Grid) -> dict[str, list[Point]]:
    """The points of each kind, in table order."""
    pts: dict[str, list[Point]] = {"fi": [], "idle": [], "floor": [], "mc": [], "mc_nominal": [],
                                   "mirror": []}
    for temp in grid.temp_celsius:
        for vdd in grid.v_dd_volts:
            for vneg in grid.v_neg_volts:
                if design.topology == "study":
                    pts["mirror"] += [Point(kind="mirror", v_dd_volts=vdd, v_neg_volts=vneg,
                                            i_exc_amps=i, temp_celsius=temp)
                                      for i in grid.mirror_i_amps]
                pts["idle"].append(Point(kind="idle", v_dd_volts=vdd, v_neg_volts=vneg,
                                         temp_celsius=temp))
                for i in grid.i_exc_amps:
                    pts["fi"].append(Point(kind="fi", v_dd_volts=vdd, v_neg_volts=vneg,
                                           i_exc_amps=i, temp_celsius=temp))
                for i in grid.i_inh_amps:
                    pts["floor"].append(Point(kind="floor", v_dd_volts=vdd, v_neg_volts=vneg,
                                              i_inh_amps=i, temp_celsius=temp))
    vneg, temp = design.v_neg_volts, grid.temp_celsius[0]
    runs = [(design.v_dd_volts, i, grid.mc_samples) for i in grid.mc_i_exc_amps]
    runs += [(v, grid.mc_i_exc_amps[0], grid.mc_v_dd_samples) for v in grid.v_dd_volts
             if abs(v - design.v_dd_volts) > 1e-9]
    for vdd, i, n in runs:
        if not n:
            continue
        pts["mc_nominal"].append(Point(kind="fi", v_dd_volts=vdd, v_neg_volts=vneg,
                                       i_exc_amps=i, temp_celsius=temp))
        for k in range(n):
            pts["mc"].append(Point(kind="mc", v_dd_volts=vdd, v_neg_volts=vneg, i_exc_amps=i,
                                   temp_celsius=temp, mc_sample=k, seed=grid.seed))
    return pts


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


__all__ = ["Grid", "QUADRATIC_EXPONENT_RANGE", "build_tables", "characterize", "default_grid",
           "energy_regime", "grid_from_mapping", "grid_points", "provenance", "quick_grid",
           "waveforms"]
