"""What a characterization sweeps: the `Grid` (currents, supplies, temperatures, Monte Carlo
samples), the two standard grids (`default_grid`, `quick_grid`), a grid read from a mapping (a
TOML ``[grid]`` table) and the simulation points a grid means for a design (`grid_points`, in
the tables' order; `circuits.characterization.characterize` runs them).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from circuits.design import NeuronDesign
from circuits.errors import DesignError
from circuits.point import Point


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


__all__ = ["Grid", "default_grid", "grid_from_mapping", "grid_points", "quick_grid"]
