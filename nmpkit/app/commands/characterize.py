"""`nmpkit characterize`: sweep the neuron circuit in ngspice into lookup tables.

Writes ``fi.csv``, ``floor.csv``, ``energy.csv``, ``mismatch.csv`` and ``waveform.csv`` (each with
a ``.json`` provenance sidecar) into ``--out``, and the device energy profile
``energy_profile.csv`` (`calib.profile`: pJ per spike, per excitatory and inhibitory event, static
power over V_DD x V_NEG x charge-pump efficiency x rate); finished points are cached in
``--out/.cache`` so an interrupted run resumes where it stopped. ``--quick`` is a coarse grid
(about half a minute on two cores); the default grid is 40 currents x 5 V_NEG x 3 V_DD plus 100
Monte Carlo samples at each of two currents and 32 at each other V_DD.
"""

from __future__ import annotations

import argparse

NAME = "characterize"
HELP = ("characterize the I&F neuron circuit in ngspice into lookup tables "
        "(rate, floor, energy, mismatch)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="design TOML: design fields at top level or under [design]; "
                   "an optional [grid] table overrides grid fields (default: built-in design)")
    p.add_argument("--out", default="tables",
                   help="output directory for the tables (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="a coarse grid that finishes in about a minute")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address; run the sweep on that cluster")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default: 0)")
    p.add_argument("--preset", default=None, choices=("default", "raised_rest"),
                   help="named design: 'default' (the study's neuron: rest 0 V, theta ~ V_DD/2) "
                        "or 'raised_rest' (the earlier design); --config fields override it")


def energy_profile_of(out: str) -> object:
    """Fit the tables in ``out`` and write ``out/energy_profile.csv`` (+ ``.json``): pJ per spike,
    per excitatory and per inhibitory event, leakage and bias power over (V_DD, V_NEG, eta,
    rate). Returns its path."""
    from pathlib import Path

    from calib import fit
    from calib.profile import write_energy_profile
    from calib.tables import read_table

    prov = read_table(Path(out) / "fi.csv", kind="fi").provenance
    return write_energy_profile(fit(out), Path(out) / "energy_profile.csv",
                                source={"tables": str(out), "fi_provenance": prov})


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time
    import tomllib

    from circuits.characterization import characterize, default_grid, grid_from_mapping, quick_grid
    from circuits.design import default_design, load_design, preset
    from circuits.ngspice import available
    from nmpkit.app.errors import UsageError

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.scheduler:
        from nmpkit.app.config import check_dask

        check_dask("--scheduler", args.scheduler)
    design = load_design(args.config) if args.config else default_design()
    if not available():
        raise UsageError("libngspice not found: install Debian's ngspice and libngspice0")
    if getattr(args, "preset", None):  # the named design, the config's [design] fields on top
        fields: dict = {}
        if args.config:
            with open(args.config, "rb") as fh:
                data = tomllib.load(fh)
            table = data.get("design", data)
            fields = {k: v for k, v in table.items() if not isinstance(v, dict) and k != "preset"}
        design = preset(args.preset, **fields)
    grid = (quick_grid if args.quick else default_grid)(design, seed=args.seed)
    if args.config:
        with open(args.config, "rb") as fh:
            table = tomllib.load(fh).get("grid")
        if table is not None:
            if not isinstance(table, dict):
                raise UsageError(f"{args.config}: [grid] must be a table")
            grid = grid_from_mapping(table, grid, source=f"{args.config} [grid]")
    quiet = bool(getattr(args, "quiet", False))
    from circuits.soa import enforce

    soa = enforce(design, warn=False, supplies=[(v, n) for v in grid.v_dd_volts
                                                for n in grid.v_neg_volts])
    for text in soa["violations"]:  # recorded in every table's provenance ("soa") too
        print(f"warning: safe operating area: {text}", file=sys.stderr)
    t0 = time.perf_counter()
    paths = characterize(design, grid, args.out, workers=args.workers,
                         scheduler=args.scheduler, progress=not quiet)
    elapsed = time.perf_counter() - t0
    from calib.errors import CalibrationError

    try:
        profile = energy_profile_of(args.out)
    except CalibrationError as exc:  # the tables stay; say why there is no profile
        profile = None
        print(f"warning: no energy profile written: {exc}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"tables": {k: str(v) for k, v in paths.items()},
                          "energy_profile": None if profile is None else str(profile),
                          "seconds": round(elapsed, 2), "grid": grid.name}))
    elif not quiet:
        print(f"wrote {len(paths)} tables to {args.out} in {elapsed:.1f} s "
              f"({grid.name} grid)", file=sys.stderr)
    return 0
