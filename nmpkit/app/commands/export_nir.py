"""`nmpkit export-nir`: a trained zoo network, converted (and calibrated), as a NIR file
(arguments → `nmpkit.studies.export_nir.ExportConfig` → ``run`` → ``save`` → one line).

`nmpkit evaluate --nir FILE`, which reads such a file back, is in
`nmpkit.app.commands.evaluate_nir`.
"""

from __future__ import annotations

import argparse

from nmpkit.app.commands import args as common

NAME = "export-nir"
HELP = ("convert a trained network to an SNN and write it as a NIR graph, with its floor, reset "
        "and (optionally) calibrated neurons and their provenance in the metadata")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", help="zoo network: mnist | svhn | cifar10 | autoencoder")
    p.add_argument("--weights", required=True, help="state_dict written by `nmpkit train`")
    p.add_argument("--data-root", required=True,
                   help="dataset folder or .npz (training samples for the normalization batch)")
    p.add_argument("--dataset", default=None, help="dataset name (default: the network's own)")
    p.add_argument("--out", required=True, help="NIR file to write (e.g. net.nir)")
    p.add_argument("--lower-bound", default="nmp",
                   help="nmp (default), zmp or a float <= 0 in threshold units (ideal neurons)")
    p.add_argument("--reset", default="subtract", choices=("subtract", "zero"))
    common.add_normalization(p)
    p.add_argument("--calibration", default=None,
                   help="calibration JSON (nmpkit calibrate): export calibrated neurons")
    p.add_argument("--v-neg", type=float, default=None,
                   help="with --calibration: the negative supply in volts whose floor the "
                   "neurons get (required with --calibration)")
    p.add_argument("--mismatch-seed", type=int, default=None,
                   help="with --calibration: draw per-neuron gain/threshold with this seed")
    p.add_argument("--no-transfer", action="store_true",
                   help="with --calibration: leave out the transfer nonlinearity")
    p.add_argument("--no-refractory", action="store_true",
                   help="with --calibration: leave out the refractory period")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from nmpkit.studies.export_nir import ExportConfig
    from nmpkit.studies.export_nir import run as run_export

    cfg = ExportConfig(
        network=args.network, weights=args.weights, data_root=args.data_root,
        dataset=args.dataset, lower_bound=args.lower_bound, reset=args.reset,
        percentile=args.percentile, calibration_samples=args.calibration_samples,
        calibration=args.calibration, v_neg_volts=args.v_neg, mismatch_seed=args.mismatch_seed,
        transfer=not args.no_transfer, refractory=not args.no_refractory)
    res = run_export(cfg)
    out = res.save(Path(args.out))
    s = {"nir": str(out), **res.summary}
    if args.json:
        print(json.dumps(s))
    elif not args.quiet:
        print(f"wrote {out}: {s['network']}, {len(s['layers'])} spiking layers, floor "
              f"{s['lower_bound']}, reset {s['reset']}"
              + (f", calibrated at V_NEG {cfg.v_neg_volts} V" if s["calibrated"] else ""))
    return 0
