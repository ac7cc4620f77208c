"""Characterize the neuron circuit in ngspice into lookup tables, plus the device energy profile:
``run(CharacterizeConfig(...)) -> CharacterizeResult`` — what ``nmpkit characterize`` calls.

The design is the built-in one, a TOML file's (fields at top level or under ``[design]``), or a
named preset with the file's ``[design]`` fields on top; the file's ``[grid]`` table overrides
grid fields. Safe-operating-area violations are returned (and recorded in every table's
provenance); a grid the fit cannot use leaves the tables and says why there is no profile.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmpkit.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class CharacterizeConfig:
    """``config``: design TOML (None: the built-in design); ``preset``: a named design;
    ``quick``: the coarse grid; ``workers``/``scheduler``: local processes or a Dask cluster."""

    out: str
    config: str | None = None
    preset: str | None = None
    quick: bool = False
    workers: int | None = None
    scheduler: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {self.workers}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")


@dataclass(frozen=True, slots=True)
class CharacterizeResult:
    """The tables written (kind → path), the energy profile (None, with ``profile_error``, when
    the fit refused the tables), the grid's name, the seconds the sweep took and the SOA
    violations."""

    tables: dict[str, Path]
    profile: Path | None
    profile_error: str | None
    grid: str
    seconds: float
    violations: tuple[str, ...]


def energy_profile_of(out: str | Path) -> Path:
    """Fit the tables in ``out`` and write ``out/energy_profile.csv`` (+ ``.json``): pJ per spike,
    per excitatory and per inhibitory event, leakage and bias power over (V_DD, V_NEG, eta,
    rate). Returns its path."""
    from calib import fit
    from calib.profile import write_energy_profile
    from calib.tables import read_table

    prov = read_table(Path(out) / "fi.csv", kind="fi").provenance
    return write_energy_profile(fit(out), Path(out) / "energy_profile.csv",
                                source={"tables": str(out), "fi_provenance": prov})


def _design_and_grid(cfg: CharacterizeConfig) -> tuple[Any, Any]:
    from circuits.design import default_design, load_design, preset
    from circuits.grid import default_grid, grid_from_mapping, quick_grid

    design = load_design(cfg.config) if cfg.config else default_design()
    data: dict[str, Any] = {}
    if cfg.config:
        with open(cfg.config, "rb") as fh:
            data = tomllib.load(fh)
    if cfg.preset:  # the named design, the config's [design] fields on top
        table = data.get("design", data)
        fields = {k: v for k, v in table.items() if not isinstance(v, dict) and k != "preset"}
        design = preset(cfg.preset, **fields)
    grid = (quick_grid if cfg.quick else default_grid)(design, seed=cfg.seed)
    table = data.get("grid")
    if table is not None:
        if not isinstance(table, dict):
            raise ConfigError(f"{cfg.config}: [grid] must be a table")
        grid = grid_from_mapping(table, grid, source=f"{cfg.config} [grid]")
    return design, grid


def run(cfg: CharacterizeConfig, *, progress: bool = False) -> CharacterizeResult:
    """Sweep ``cfg``'s design over its grid into ``cfg.out``; then the energy profile."""
    from calib.errors import CalibrationError
    from circuits.characterization import characterize
    from circuits.ngspice import available
    from circuits.soa import enforce

    if not available():
        raise ConfigError("libngspice not found: install Debian's ngspice and libngspice0")
    design, grid = _design_and_grid(cfg)
    soa = enforce(design, warn=False, supplies=[(v, n) for v in grid.v_dd_volts
                                                for n in grid.v_neg_volts])
    t0 = time.perf_counter()
    paths = characterize(design, grid, cfg.out, workers=cfg.workers, scheduler=cfg.scheduler,
                         progress=progress)
    seconds = time.perf_counter() - t0
    profile, error = None, None
    try:
        profile = energy_profile_of(cfg.out)
    except CalibrationError as exc:  # the tables stay; say why there is no profile
        error = str(exc)
    return CharacterizeResult(tables=dict(paths), profile=profile, profile_error=error,
                              grid=grid.name, seconds=seconds,
                              violations=tuple(soa["violations"]))


__all__ = ["CharacterizeConfig", "CharacterizeResult", "energy_profile_of", "run"]
