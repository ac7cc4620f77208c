"""`nmpkit export-nir`: a trained zoo network, converted (and calibrated), as a NIR file.

Also holds `nmpkit evaluate --nir FILE` (``run_evaluate``): a NIR file — written here or by
another tool — simulated on a test set, accuracy after every step as CSV plus a JSON sidecar.
"""

from __future__ import annotations

import argparse

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
    p.add_argument("--percentile", type=float, default=99.99,
                   help="normalization percentile (default: %(default)s)")
    p.add_argument("--calibration-samples", type=int, default=1000,
                   help="training samples in the normalization batch (default: %(default)s)")
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


def _calibration_batch(spec, dataset: str, root: str, n: int):
    from nmpkit.data import load_dataset, to_tensor

    mean, std = spec.norm_for(dataset)
    data = load_dataset(dataset, root)
    return to_tensor(data.x_train[:n], mean, std), data


def _write_atomic(graph, out) -> None:
    import os
    import tempfile

    import nir

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        nir.write(tmp, graph)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a network file is meant to be shared
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    import cosim
    from cosim.nir import calibration_provenance
    from nmpkit import evaluate as ev
    from nmpkit.errors import UsageError
    from nmpkit.provenance import provenance
    from nmpkit.train import load_weights
    from nmpkit.zoo import get_network

    spec = get_network(args.network)
    dataset = args.dataset or spec.datasets[0]
    if dataset not in spec.datasets:
        raise UsageError(f"--dataset for {spec.name} must be one of {', '.join(spec.datasets)}, "
                         f"got {dataset!r}")
    if args.calibration_samples < 1:
        raise UsageError(f"--calibration-samples must be >= 1, got {args.calibration_samples}")
    if args.calibration is None and (args.v_neg is not None or args.mismatch_seed is not None):
        raise UsageError("--v-neg and --mismatch-seed need --calibration FILE")
    if args.calibration is not None and args.v_neg is None:
        raise UsageError("--calibration needs --v-neg VOLTS (the supply whose floor to export)")
    if args.calibration is not None and args.lower_bound != "nmp":
        raise UsageError("--lower-bound does not apply with --calibration: the floor comes from "
                         f"--v-neg, got --lower-bound {args.lower_bound!r}")
    lb = ev.parse_lower_bound(args.lower_bound)
    cfg = ev.EvalConfig(timesteps=1, lower_bound=lb, percentile=args.percentile,
                        calibration_samples=args.calibration_samples)
    model = load_weights(spec, args.weights)
    calib_x, data = _calibration_batch(spec, dataset, args.data_root, cfg.calibration_samples)
    net = ev.convert(model, calib_x, cfg)
    prov = None
    if args.calibration is not None:
        from calib import Calibration

        cal = Calibration.load(args.calibration)
        gen = None if args.mismatch_seed is None else \
            torch.Generator().manual_seed(args.mismatch_seed)
        neuron = cosim.calibrated_neurons(
            cal, [ly.shape for ly in net.layers], v_neg_volts=args.v_neg, generator=gen,
            transfer=not args.no_transfer, refractory=not args.no_refractory)
        if args.reset != "subtract":
            from dataclasses import replace

            neuron = [replace(n, reset=args.reset) for n in neuron]
        prov = calibration_provenance(cal, v_neg_volts=args.v_neg, path=args.calibration,
                                      seed=args.mismatch_seed, transfer=not args.no_transfer,
                                      refractory=not args.no_refractory)
    else:
        neuron = cosim.IFNeuron(lower_bound=lb, reset=args.reset)
    source = {"network": spec.name, "dataset": dataset, "data_source": data.source,
              "weights": str(args.weights), "weights_sha256": ev.file_sha256(args.weights),
              "percentile": cfg.percentile, "calibration_samples": len(calib_x),
              "provenance": provenance(command="nmpkit export-nir")}
    graph = cosim.to_nir(net, neuron, provenance=prov, source=source)
    out = Path(args.out)
    _write_atomic(graph, out)
    summary = {"nir": str(out), "network": spec.name, "dataset": dataset,
               "layers": [list(ly.shape) for ly in net.layers],
               "lower_bound": net_floor(neuron), "reset": args.reset,
               "calibrated": args.calibration is not None}
    if getattr(args, "json", False):
        print(json.dumps(summary))
    elif not getattr(args, "quiet", False):
        print(f"wrote {out}: {spec.name}, {len(net.layers)} spiking layers, floor "
              f"{summary['lower_bound']}, reset {args.reset}"
              + (f", calibrated at V_NEG {args.v_neg} V" if prov else ""))
    return 0


def net_floor(neuron) -> str:
    import cosim

    ns = [neuron] if isinstance(neuron, cosim.IFNeuron) else list(neuron)
    lbs = sorted({"none" if n.lower_bound is None else f"{n.lower_bound:g}" for n in ns})
    return ", ".join(lbs)


def run_evaluate(args: argparse.Namespace) -> int:
    """`nmpkit evaluate --nir FILE`: simulate a NIR file on a classifier's test set."""
    import json
    import warnings
    from pathlib import Path

    import nir
    import pandas as pd
    import torch
    from tqdm import tqdm

    import cosim
    from cosim.nir import nir_metadata, with_neuron
    from nmpkit import evaluate as ev
    from nmpkit.data import load_dataset, to_tensor
    from nmpkit.errors import UsageError
    from nmpkit.provenance import provenance, write_json_atomic
    from nmpkit.stats import wilson
    from nmpkit.zoo import get_network

    path = Path(args.nir)
    if not path.is_file():
        raise UsageError(f"--nir file {str(path)!r} not found")
    try:
        graph = nir.read(str(path))
    except (OSError, KeyError, ValueError) as err:
        raise UsageError(f"--nir {str(path)!r} is not a readable NIR file ({err})") from err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", cosim.nir.NIRImportWarning)
        net = cosim.from_nir(graph)
    notes = [str(w.message) for w in caught if issubclass(w.category, cosim.nir.NIRImportWarning)]
    meta = nir_metadata(graph) or {}
    src = meta.get("source", {})
    name = args.network or src.get("network")
    if name is None:
        raise UsageError("the NIR file names no network: give NETWORK (it sets the input "
                         "normalization), e.g. `nmpkit evaluate mnist --nir FILE ...`")
    spec = get_network(name)
    if spec.task != "classify":
        raise UsageError(f"evaluate --nir runs classifiers; {spec.name} is a {spec.task} network")
    dataset = args.dataset or src.get("dataset") or spec.datasets[0]
    if args.data_root is None:
        raise UsageError("--data-root is required with --nir")
    if args.timesteps is None or args.timesteps < 1:
        raise UsageError(f"--timesteps must be >= 1, got {args.timesteps}")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
    if args.lower_bound is not None:  # override the file's floor (nmp: remove it)
        net = with_neuron(net, lower_bound=ev.parse_lower_bound(args.lower_bound))
    cfg = ev.EvalConfig(timesteps=args.timesteps, lower_bound=None, batch_size=args.batch_size,
                        device=args.device, memory_budget_gb=args.memory_gb)
    mean, std = spec.norm_for(dataset)
    data = load_dataset(dataset, args.data_root)
    x = to_tensor(data.x_test[: args.limit], mean, std)
    y = torch.from_numpy(data.y_test[: args.limit])
    if tuple(x.shape[1:]) != tuple(net.input_shape):
        raise UsageError(f"{dataset} samples have shape {tuple(x.shape[1:])} but the NIR "
                         f"network takes {tuple(net.input_shape)}")
    floor = net_floor(net.neuron)
    out = Path(args.out or f"eval_nir_{path.stem}_T{cfg.timesteps}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    sha = ev.file_sha256(path)
    key = ev.config_key(nir=sha, floor=floor, T=cfg.timesteps, batch=cfg.batch_size,
                        source=data.source, device=torch.device(args.device).type)
    bar = tqdm(total=len(x), desc=f"{path.name} T={cfg.timesteps}", unit="sample",
               disable=getattr(args, "quiet", False), dynamic_ncols=True)
    res = ev.run_chunks(net, x, y, cfg, task="classify",
                        parts_dir=out.with_name(f"{out.name}.parts-{key}"), progress=bar.update)
    bar.close()
    df = pd.DataFrame({"t": range(1, cfg.timesteps + 1), "accuracy": res["metric"]})
    tmp = out.with_name(out.name + ".tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(out)
    n = len(x)
    final = float(df.accuracy.iloc[-1])
    summary = {"nir": str(path), "nir_sha256": sha, "network": spec.name, "dataset": dataset,
               "data_source": data.source, "timesteps": cfg.timesteps, "samples": n,
               "floor": floor, "reset": ", ".join(sorted({nn.reset for nn in net.neuron})),
               "final_accuracy": final, "final_accuracy_95ci": wilson(round(final * n), n),
               "layer_rates": res["layer_rates"], "notes": notes,
               "nir_source": src, "nir_calibration": meta.get("calibration")}
    write_json_atomic(out.with_suffix(".json"), {**summary, "provenance": provenance(
        command="nmpkit evaluate --nir", argv={k: v for k, v in vars(args).items()
                                               if k != "_run"})})
    if getattr(args, "json", False):
        print(json.dumps(summary, default=str))
    elif not getattr(args, "quiet", False):
        for note in notes:
            print(f"note: {note}")
        lo, hi = summary["final_accuracy_95ci"]
        print(f"wrote {out}: SNN accuracy {final:.4f} at t={cfg.timesteps} on {n} samples "
              f"(95% CI {lo:.4f}-{hi:.4f}), floor {floor}")
    return 0
