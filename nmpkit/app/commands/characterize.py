"""`nmpkit characterize`: sweep the neuron circuit in ngspice into lookup tables.

Writes ``fi.csv``, ``floor.csv``, ``energy.csv``, ``mismatch.csv`` and ``waveform.csv`` (each with
a ``.json`` provenance sidecar) into ``--out``, and the device energy profile
``energy_profile.csv`` (`calib.profile`: pJ per spike, per excitatory and inhibitory event, static
power over V_DD x V_NEG x charge-pump efficiency x rate); finished points are cached in
``--out/.cache`` so an interrupted run resumes where it stopped (arguments →
`nmpkit.studies.characterize` → one line). ``--quick`` is a coarse grid
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


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from nmpkit.studies.characterize import CharacterizeConfig
    from nmpkit.studies.characterize import run as run_study

    cfg = CharacterizeConfig(out=args.out, config=args.config, preset=args.preset,
                             quick=args.quick, workers=args.workers, scheduler=args.scheduler,
                             seed=args.seed)
    if args.scheduler:
        from nmpkit.app.config import check_dask

        check_dask("--scheduler", args.scheduler)
    res = run_study(cfg, progress=not args.quiet)
    for text in res.violations:  # recorded in every table's provenance ("soa") too
        print(f"warning: safe operating area: {text}", file=sys.stderr)
    if res.profile_error is not None:
        print(f"warning: no energy profile written: {res.profile_error}", file=sys.stderr)
    if args.json:
        print(json.dumps({"tables": {k: str(v) for k, v in res.tables.items()},
                          "energy_profile": None if res.profile is None else str(res.profile),
                          "seconds": round(res.seconds, 2), "grid": res.grid}))
    elif not args.quiet:
        print(f"wrote {len(res.tables)} tables to {args.out} in {res.seconds:.1f} s "
              f"({res.grid} grid)", file=sys.stderr)
    return 0
