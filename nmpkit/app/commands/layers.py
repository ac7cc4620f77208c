"""`nmpkit layers`: per-layer floors — which layers need a deep floor, and the energy saved.

One negative supply per layer group (``--group NAME=LAYER,LAYER``; default: one per spiking
layer); the least-energy allocation within ``--tolerance`` of NMP at 95% confidence, beside the
best global floor (`nmpkit.studies.layers_study`: arguments → ``LayersConfig`` → ``run`` →
``save``: ``layers.json``, ``layers.csv``). Finished simulations stay in ``OUT/.parts``, so an
interrupted search resumes.
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands import args as common

NAME = "layers"
HELP = "per-layer floors: least-energy V_NEG per layer group within the tolerance of NMP"


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_classifier_arguments(p, limit=300, timesteps=200)
    a = p.add_argument
    common.add_tolerance(p)
    a("--group", action="append", default=[], metavar="NAME=L1,L2", help="a layer group sharing "
      "one V_NEG (layer names or indices); repeatable; layers in no group get their own")
    a("--v-neg", type=float, nargs="+", default=None,
      help="the V_NEG levels to search (default: the calibration's floor table)")
    a("--v-dd", type=float, default=None,
      help="V_DD that prices the energy (default: the calibration's)")
    common.add_energy_model(p, array_default="one bias per layer group")
    a("--batch", type=int, default=250, help="samples per simulate call")
    a("--max-passes", type=int, default=4, help="coordinate-descent passes")
    common.add_threads_out(p, "layers")


def parse_groups(specs: list[str]) -> dict[str, list[str | int]]:
    """``["a=1,3", "b=6"]`` → {"a": ["1", "3"], "b": ["6"]} (digit-only names stay names; the
    network's layer names are tried first, then indices, in ``make_groups``)."""
    from nmpkit.app.errors import UsageError

    out: dict[str, list[str | int]] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--group {spec!r}: expected NAME=LAYER[,LAYER...]")
        if name.strip() in out:
            raise UsageError(f"--group {spec!r}: group {name.strip()!r} given twice")
        out[name.strip()] = [s.strip() for s in rest.split(",") if s.strip()]
    return out


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nmpkit.studies.layers_study import LayersConfig
    from nmpkit.studies.layers_study import run as run_study

    out = Path(args.out)
    cfg = common.build_config(lambda: LayersConfig(
        calibration=args.calibration, weights=args.weights, data_root=args.data_root,
        network=args.network, dataset=args.dataset, limit=args.limit, timesteps=args.timesteps,
        tolerance=args.tolerance, groups=parse_groups(args.group), v_neg_volts=args.v_neg,
        v_dd_volts=args.v_dd, eta=args.eta, array_size=args.array_size, batch=args.batch,
        max_passes=args.max_passes, parts_dir=str(out / ".parts")))
    common.apply_resources(args)
    res = run_study(cfg, progress=common.progress_of(args))
    paths = res.save(out)
    if args.json:
        common.print_json(res.summary, (
            "status", "allocation", "global_floor", "energy_saved_joules",
            "energy_saved_fraction", "needs_deep_floor", "simulations", "cache_hits"))
    elif not args.quiet:
        print(res.text())
        print(f"wrote {paths[0]} and {paths[1]}")
    return 0
