"""`nmpkit layers`: per-layer floors — which layers need a deep floor, and the energy saved.

One negative supply per layer group (default: every spiking layer its own; ``--group
NAME=LAYER,LAYER`` joins layers), each set from the calibration's measured V_NEG table. A
coordinate-descent search (``nmpkit.studies.layers``) finds the least-energy allocation whose
accuracy is, at 95% confidence, within ``--tolerance`` of NMP on the same images, and sets it
beside the best single global floor. Energy: the circuit energy model, one pump (``--eta``) and
one bias per ``--array-size`` neurons for each group. Writes ``layers.json`` and ``layers.csv``
into ``--out``; finished simulations are kept in ``OUT/.parts`` (keyed by calibration, data, T,
the layers' V_NEG and the energy model), so an interrupted search resumes.
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands import add_classifier_arguments

NAME = "layers"
HELP = "per-layer floors: least-energy V_NEG per layer group within the tolerance of NMP"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_classifier_arguments(p, limit=300, timesteps=200)
    p.add_argument("--tolerance", type=float, default=0.005,
                   help="accuracy tolerance vs NMP, as a fraction (default: 0.005 = 0.5 %%p)")
    p.add_argument("--group", action="append", default=[], metavar="NAME=L1,L2",
                   help="a layer group sharing one V_NEG (layer names or indices); repeatable; "
                        "layers in no group get their own")
    p.add_argument("--v-neg", type=float, nargs="+", default=None,
                   help="the V_NEG levels to search (default: the calibration's floor table)")
    p.add_argument("--v-dd", type=float, default=None,
                   help="V_DD that prices the energy (default: the calibration's)")
    p.add_argument("--eta", type=float, default=0.5,
                   help="charge-pump efficiency of each group's negative supply in the circuit "
                        "energy model (default 0.5)")
    p.add_argument("--array-size", type=int, default=None,
                   help="neurons sharing one bias (default: one bias per layer group)")
    p.add_argument("--batch", type=int, default=250, help="samples per simulate call")
    p.add_argument("--max-passes", type=int, default=4, help="coordinate-descent passes")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    p.add_argument("--out", default="layers", help="output folder (default: %(default)s)")


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


def _resolve(layers: list[str | int], names: tuple[str, ...]) -> list[str | int]:
    return [ly if ly in names or not str(ly).isdigit() else int(ly) for ly in layers]


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from calib import Calibration
    from calib.io import content_hash, provenance
    from nmpkit.app.errors import UsageError
    from nmpkit.studies.layers import Evaluator, check_tolerance, floor_levels, make_groups
    from nmpkit.studies.layers_output import diagnostic_rows, sentence, summarize, write_outputs
    from nmpkit.studies.layers_search import search_floors
    from nmpkit.studies.tradeoff import load_classifier

    for name in ("timesteps", "threads", "batch", "max_passes"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    check_tolerance(args.tolerance)
    if args.v_dd is not None and not 0 < args.v_dd <= 5:
        raise UsageError(f"--v-dd must be volts in (0, 5], got {args.v_dd!r}")
    if args.v_neg is not None and any(not v <= 0 for v in args.v_neg):
        raise UsageError(f"--v-neg values must be <= 0, got {args.v_neg}")
    groups_spec = parse_groups(args.group)
    torch.set_num_threads(args.threads)
    cal = Calibration.load(args.calibration)
    levels = floor_levels(cal, args.v_neg)
    clf = load_classifier(network=args.network, weights=args.weights, dataset=args.dataset,
                          data_root=args.data_root, limit=args.limit)
    names = tuple(ly.name for ly in clf.net.layers)
    groups = make_groups(names, {g: _resolve(v, names) for g, v in groups_spec.items()})
    key = content_hash({"cal": cal.to_dict(), "clf": clf.info, "T": args.timesteps})[:16]
    out = Path(args.out)
    ev = Evaluator(cal, clf.net, clf.x, clf.y, groups=groups, levels=levels,
                   timesteps=args.timesteps, v_dd_volts=args.v_dd, batch=args.batch,
                   parts_dir=out / ".parts", parts_key=key, eta=args.eta,
                   array_size=args.array_size)
    quiet = bool(args.quiet) or bool(args.json)
    found = search_floors(ev, tolerance=args.tolerance, max_passes=args.max_passes,
                          progress=None if quiet else print)
    meta = {"network": args.network, "dataset": args.dataset, "ann_accuracy": clf.ann_accuracy,
            "provenance": provenance(command="nmpkit layers", calibration=args.calibration,
                                     calibration_sources=cal.sources, **clf.info,
                                     groups=groups_spec, v_neg=args.v_neg)}
    summary = summarize(ev, found, meta=meta)
    write_outputs(out, summary, diagnostic_rows(ev, found))
    if args.json:
        print(json.dumps({k: summary.get(k) for k in (
            "status", "allocation", "global_floor", "energy_saved_joules",
            "energy_saved_fraction", "needs_deep_floor", "simulations", "cache_hits")}))
    elif not args.quiet:
        print(sentence(summary))
        print(f"wrote {out / 'layers.json'} and {out / 'layers.csv'}")
    return 0
