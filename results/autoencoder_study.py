"""The autoencoder as the study ran it (issue 11 §2): the whole image in 32×32 patches, NMP vs ZMP.

    flock /work/heavy.lock .venv/bin/python results/autoencoder_study.py [--image PATH]
        [--crop SIDE] [--timesteps 750] [--sweep-timesteps 100 [750 ...]] [--sweep-every 4 [8 ...]]
        [--sweep-floors default [0,-0.25,-0.5 ...]] [--sweep-only] [--memory-gb 2]
        [--batch-size 16] [--threads 2]

(also ``python results/reproduce.py autoencoder ...`` with the same options). The image
(default ``skimage.data.astronaut()``, 512×512 → 256 patches; ``--crop``: its central square, for
quick runs) is converted patch by patch through the zoo autoencoder
(nmpkit/weights/autoencoder.pt; `cosim.convert`, 99.99th percentile of each layer on the first
1,000 CIFAR-10 training images) and simulated with NMP (no floor) and ZMP (floor 0) to T, keeping
each patch's MSE after every step (`nmpkit.studies.patch_mse`), the reconstructions at t = 50, 100,
150, 200, 750 and the spike counts of the first 16 patches (correlation diagrams at t = T). The
floor sweeps run to their own T on every K-th patch (one sweep per ``--sweep-timesteps``
value; ``--sweep-every`` and ``--sweep-floors`` give one value per sweep or one for all; floors
``default`` = −0.2 … −2.0 θ in −0.2 steps, else a comma list of floors ≤ 0 such as
``0,-0.25,-1``; a list that starts with a minus needs ``--sweep-floors=-0.25,-1``). ZMP (floor 0)
and NMP rows of every sweep are step T2 of the main runs on the same patches, never rerun (the
simulation is causal). Intervals: BCa bootstrap over patches
(`nmpkit.studies.stats.mean_interval`, paired ``ratio_interval`` for ZMP/NMP), 9,999 resamples.
The sweeps run every floor as one neuron variant of a single ``cosim.simulate_variants`` pass per
chunk (results/autoencoder_sweep.py); ``--sweep-only`` runs just them, paired with the NMP / ZMP
runs saved in --out. Finished chunks are kept under runs/autoencoder/ (a killed run resumes). Writes
results/autoencoder/summary.json (+ per_patch_mse.npz, mse_per_step.csv) and, through
results/autoencoder_report.py, results/autoencoder.md and results/autoencoder_*.png.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calib.io import atomic_write_json, atomic_write_npz, content_hash, file_digest, provenance  # noqa: E402,E501
from nmpkit.ml.data import (  # noqa: E402
    data_dir,
    image_to_patches,
    load_dataset,
    load_test_image,
    patches_to_image,
    to_tensor,
)
from nmpkit.ml.train import load_weights  # noqa: E402
from nmpkit.ml.zoo import get_network  # noqa: E402
from nmpkit.studies import stats  # noqa: E402
from nmpkit.studies.evaluate_corr import ann_activations, layer_scales  # noqa: E402
from nmpkit.studies.evaluate_parts import EvalConfig, convert_normalized  # noqa: E402
from nmpkit.studies.patch_mse import patch_mse_run  # noqa: E402

sys.path.insert(0, str(ROOT / "results"))
from autoencoder_sweep import load_main_runs, sweep_variants, write_sweep_only  # noqa: E402

OUT = ROOT / "results" / "autoencoder"
SNAPSHOTS = (50, 100, 150, 200, 750)
FLOORS = [round(-0.2 * k, 1) for k in range(1, 11)]
CORR_PATCHES = 16
RESAMPLES = 9999


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a = p.add_argument
    a("--image", default=None, help="test image (default: skimage.data.astronaut)")
    a("--crop", type=int, default=None, help="use the central CROP×CROP square (multiple of 32)")
    a("--weights", default="nmpkit/weights/autoencoder.pt")
    a("--data", default=None, help="CIFAR-10 (.npz or folder) whose first 1,000 training images "
      "normalize the layers (default: $NMPKIT_DATA/cifar10.npz)")
    a("--timesteps", type=int, default=750)
    a("--sweep-timesteps", type=int, nargs="+", default=[100], help="T of each floor sweep")
    a("--sweep-every", type=int, nargs="+", default=[1],
      help="each sweep on every K-th patch only (row-major; K = 4 on 16×16 patches: 64 spread "
           "over the whole image), to fit the CPU budget")
    a("--sweep-floors", nargs="+", default=["default"],
      help="floors (θ) of each sweep: 'default' (-0.2 ... -2.0) or a comma list like 0,-0.25,-1")
    a("--no-sweep", action="store_true")
    a("--sweep-only", action="store_true",
      help="run only the sweeps, paired with the NMP / ZMP runs saved in --out (not rerun); a "
           "saved sweep at another T is kept, one at the same T replaced")
    a("--memory-gb", type=float, default=2.0, help="working-memory bound of each simulate call")
    a("--batch-size", type=int, default=16, help="patches per cosim.simulate call")
    a("--threads", type=int, default=2)
    a("--run-dir", default="runs/autoencoder", help="finished chunks (resume)")
    a("--out", default=str(OUT), help="folder for summary.json and the per-patch arrays")
    a("--report-dir", default=str(ROOT / "results"), help="where autoencoder.md and the PNGs go")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def parse_sweeps(ts: list[int], ks: list[int], floors: list[str], T: int,
                 n: int) -> list[tuple[int, int, list[float]]]:
    """(T2, K, floors) per sweep from the three option lists (each of length 1 or the longest);
    floors sorted shallow → deep, 0 dropped (the ZMP row is always the main run's)."""
    m = max(len(ts), len(ks), len(floors))
    for name, v in (("--sweep-timesteps", ts), ("--sweep-every", ks), ("--sweep-floors", floors)):
        if len(v) not in (1, m):
            raise SystemExit(f"{name}: expected 1 or {m} values (one per sweep), got {len(v)}")
    out = []
    for i in range(m):
        t2, k, f = ts[i % len(ts)], ks[i % len(ks)], floors[i % len(floors)]
        if not 1 <= t2 <= T:
            raise SystemExit(f"--sweep-timesteps: expected 1..{T} (--timesteps), got {t2}")
        if not 1 <= k <= max(n // 2, 1):
            raise SystemExit(f"--sweep-every: expected 1..{max(n // 2, 1)}, got {k}")
        fl = FLOORS if f == "default" else [_floor(v) for v in f.split(",")]
        out.append((t2, k, sorted({v for v in fl if v != 0}, reverse=True)))
    return out


def _floor(v: str) -> float:
    try:
        f = float(v)
    except ValueError:
        f = float("nan")
    if not -1e3 <= f <= 0:
        raise SystemExit(f"--sweep-floors: expected 'default' or a comma list of floors <= 0 "
                         f"(θ), got {v!r}")
    return round(f, 6)


def smallest_within(rows: list[dict], t: int, tol: float = 0.05) -> dict:
    """The shallowest floor whose MSE / NMP MSE at step ``t`` is ≤ 1 + ``tol`` by the estimate
    and by the upper end of its 95% interval (None where no floor of ``rows`` is)."""
    fl = sorted((r for r in rows if r["lower_bound"] is not None), key=lambda r: -r["lower_bound"])

    def first(key: str) -> float | None:
        return next((r["lower_bound"] for r in fl
                     if r["ratio_to_nmp"][str(t)][key] <= 1 + tol), None)

    return {"tolerance": tol, "t": t, "by_estimate": first("estimate"),
            "by_ci_high": first("ci_high")}


def _steps(T: int) -> list[int]:
    """Steps at which the MSE curve gets a bootstrap interval: ~40 log-spaced ones + snapshots."""
    s = set(np.unique(np.geomspace(1, T, 40).round().astype(int)).tolist())
    return sorted(s | {t for t in SNAPSHOTS if t <= T} | {T})


def correlation(model, x, counts, t, calib_x, percentile) -> list[dict]:
    """Per spiking layer: Pearson r and mean |clip(ANN/scale, 0, 1) − rate| at step ``t`` over
    all neurons of ``x`` (the patches ``counts`` were recorded on), and 3000 sampled points."""
    acts = ann_activations(model, x)
    scales = layer_scales(model, calib_x, percentile)
    gen = np.random.default_rng(0)
    out, used = [], 0
    for li, c in enumerate(counts):
        match = next((j for j in range(used, len(acts)) if tuple(acts[j].shape) == c.shape), None)
        if match is None:
            continue
        used = match + 1
        ann = (acts[match] / scales[match]).flatten().numpy().astype(np.float64)
        snn = c.reshape(-1).astype(np.float64) / t
        pick = np.sort(gen.choice(ann.size, size=min(3000, ann.size), replace=False))
        out.append({"layer": li, "shape": list(c.shape[1:]),
                    "pearson_r": float(np.corrcoef(ann, snn)[0, 1]),
                    "mean_abs_diff": float(np.abs(np.clip(ann, 0, 1) - snn).mean()),
                    "points_ann": ann[pick].round(5).tolist(),
                    "points_snn": snn[pick].round(5).tolist()})
    return out


def stitch(patches: np.ndarray, side: int) -> np.ndarray:
    """(N, 3, 32, 32) decoded patches → the (3, side, side) image in [0, 1]."""
    return patches_to_image(np.clip(patches, 0, 1).reshape(-1, 3, 32, 32), side, side)


def _save_npz(path: Path, arrays: dict) -> None:
    atomic_write_npz(path, arrays, compressed=True)


def _interval(v: np.ndarray) -> dict:
    return stats.mean_interval(v, n_resamples=RESAMPLES).as_dict()


def sweep_rows(T2: int, K: int, runs: dict, main_runs: dict) -> dict:
    """One sweep's record: per floor (ZMP and NMP from the main runs, patches ``::K``) the MSE at
    t = 50, 100, 200, T2 and the ratio to NMP on the same patches, both with 95% intervals."""
    nmp_k, zmp_k = main_runs["nmp"].mse[:, ::K], main_runs["zmp"].mse[:, ::K]
    ts = sorted({t for t in (50, 100, 200, T2) if t <= T2})
    rows = []
    for name, lb, mse in [("0 (ZMP)", 0.0, zmp_k)] + [
            (f"{f:g}", f, r.mse) for f, r in runs.items()] + [("none (NMP)", None, nmp_k)]:
        rows.append({"floor": name, "lower_bound": lb, "patches": int(mse.shape[1]),
                     "mse": {str(t): _interval(mse[t - 1]) for t in ts},
                     "ratio_to_nmp": {str(t): stats.ratio_interval(
                         mse[t - 1], nmp_k[t - 1], n_resamples=RESAMPLES).as_dict()
                         for t in ts if lb is not None},
                     "layer_rates": (runs[lb].layer_rates if lb in runs
                                     else main_runs["zmp" if lb == 0 else "nmp"].layer_rates)})
    return {"timesteps": T2, "every": K, "patches": int(nmp_k.shape[1]), "steps": ts,
            "rows": rows, "within_5pct": smallest_within(rows, T2)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    spec = get_network("autoencoder")
    model = load_weights(spec, args.weights)
    img = load_test_image(args.image)
    if args.crop:
        top = (img.shape[1] - args.crop) // 2
        img = img[:, top:top + args.crop, top:top + args.crop]
    x = torch.from_numpy(image_to_patches(img))
    plans = [] if args.no_sweep else parse_sweeps(args.sweep_timesteps, args.sweep_every,
                                                  args.sweep_floors, args.timesteps, len(x))
    data = load_dataset("cifar10", args.data or data_dir() / "cifar10.npz")
    mean, std = spec.norm_for("cifar10")
    calib_x = to_tensor(data.x_train[:1000], mean, std)
    base = EvalConfig(timesteps=args.timesteps, lower_bound=None, batch_size=args.batch_size,
                      correlation_samples=0)
    net = convert_normalized(model, calib_x, base)
    with torch.no_grad():
        ann_out = model.eval()(x).double()
    ann_mse = ((ann_out - x.double()) ** 2).flatten(1).mean(1).numpy()
    ann_clip = ((ann_out.clamp(0, 1) - x.double()) ** 2).flatten(1).mean(1).numpy()
    wsha = file_digest(args.weights)

    def run(lb: float | None, T: int, snaps: tuple[int, ...], keep: int, xs=x, tag=""):
        cfg = EvalConfig(timesteps=T, lower_bound=lb, batch_size=args.batch_size,
                         correlation_samples=0)
        key = content_hash({"w": wsha, "img": args.image, "crop": args.crop, "lb": lb, "T": T,
                            "b": args.batch_size, "pct": cfg.percentile, "src": data.source,
                            "snaps": snaps, "keep": keep, "tag": tag})[:12]
        label = "nmp" if lb is None else ("zmp" if lb == 0 else f"floor{lb:g}")
        t0 = time.perf_counter()
        res = patch_mse_run(net, xs, cfg, snapshots=snaps, keep_counts=keep,
                            parts_dir=Path(args.run_dir) / f"{label}_T{T}{tag}-{key}")
        print(f"{label} T={T}: {len(xs)} patches, {time.perf_counter() - t0:.1f} s, "
              f"MSE(T) {res.mse[-1].mean():.5f}", flush=True)
        return res

    def sweep(T2: int, K: int, fl: list[float]) -> dict:
        key = content_hash({"w": wsha, "img": args.image, "crop": args.crop, "fl": fl, "T": T2,
                            "b": args.batch_size, "pct": base.percentile, "src": data.source,
                            "K": K})[:12]
        t0 = time.perf_counter()
        res = sweep_variants(net, x[::K], fl, T2, batch_size=args.batch_size,
                             memory_gb=args.memory_gb,
                             parts_dir=Path(args.run_dir) / f"sweep_T{T2}_every{K}-{key}")
        dt = time.perf_counter() - t0
        print(f"sweep T={T2} every {K}: {len(fl)} floors x {len(x[::K])} patches in one "
              f"K-variant pass per chunk, {dt:.1f} s", flush=True)
        times.append(dt)
        return res

    T, times = args.timesteps, []
    if args.sweep_only:
        saved, main_runs = load_main_runs(Path(args.out))
        if saved["timesteps"] != T or saved["patches"] != len(x):
            raise SystemExit(f"--sweep-only: the saved run is T = {saved['timesteps']} on "
                             f"{saved['patches']} patches, expected T = {T} on {len(x)}")
    else:
        main_runs = {b: run(lb, T, SNAPSHOTS, CORR_PATCHES)
                     for b, lb in (("nmp", None), ("zmp", 0.0))}
    sweep_runs = [sweep(T2, K, fl) for T2, K, fl in plans]

    steps = _steps(T)
    nmp, zmp = main_runs["nmp"].mse, main_runs["zmp"].mse
    curve = {b: {str(t): _interval(r.mse[t - 1]) for t in steps} for b, r in main_runs.items()}
    ratio = {str(t): stats.ratio_interval(zmp[t - 1], nmp[t - 1], n_resamples=RESAMPLES).as_dict()
             for t in sorted({t for t in SNAPSHOTS if t <= T} | {T})}
    sweeps = [sweep_rows(T2, K, sr, main_runs) | {
        "command": "python results/autoencoder_study.py " + shlex.join(args.argv),
        "seconds": round(dt, 1), "engine": "cosim.simulate_variants, one pass per chunk",
        "provenance": provenance(command="results/autoencoder_study.py", argv=args.argv)}
        for (T2, K, _), sr, dt in zip(plans, sweep_runs, times, strict=True)]
    if args.sweep_only:
        new_ts = {w["timesteps"] for w in sweeps}
        sweeps = sorted([w for w in saved["sweeps"] if w["timesteps"] not in new_ts] + sweeps,
                        key=lambda w: w["timesteps"])
        write_sweep_only(Path(args.out), saved, sweeps, plans, sweep_runs)
        from autoencoder_report import write_report

        write_report(Path(args.out), Path(args.report_dir), None)
        print(f"wrote {Path(args.out) / 'summary.json'} (sweeps only) and the report")
        return 0
    corr = {b: correlation(model, x[:CORR_PATCHES], r.spike_counts, T, calib_x, base.percentile)
            for b, r in main_runs.items()}
    side = img.shape[1]
    summary = {
        "image": args.image or "skimage.data.astronaut", "crop": args.crop, "side": side,
        "patches": len(x), "timesteps": T, "sweeps": sweeps, "weights": args.weights,
        "weights_sha256": wsha, "calibration": f"{data.source}: first 1000 training images",
        "percentile": base.percentile,
        "ann": {"mse": _interval(ann_mse), "mse_clipped": _interval(ann_clip),
                "psnr_db": float(10 * np.log10(1 / ann_mse.mean())),
                "psnr_clipped_db": float(10 * np.log10(1 / ann_clip.mean()))},
        "curve": curve, "ratio_zmp_nmp": ratio, "correlation": corr,
        "layer_rates": {b: r.layer_rates for b, r in main_runs.items()},
        "best": {b: {"t": int(r.mse.mean(1).argmin()) + 1, "mse": float(r.mse.mean(1).min())}
                 for b, r in main_runs.items()},
        "command": "python results/autoencoder_study.py " + shlex.join(args.argv),
        "provenance": provenance(command="results/autoencoder_study.py", argv=args.argv),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "summary.json", summary)
    arrays = {f"{b}_mse": r.mse.astype(np.float32) for b, r in main_runs.items()}
    arrays |= {f"sweep_T{T2}_every{K}_floor{f:g}_mse": r.mse.astype(np.float32)
               for (T2, K, _), sr in zip(plans, sweep_runs, strict=True) for f, r in sr.items()}
    arrays["ann_mse"] = ann_mse.astype(np.float32)
    _save_npz(out / "per_patch_mse.npz", arrays)
    images = {"target": img, "ann": stitch(ann_out.float().numpy(), side)}
    images |= {f"{b}_t{t}": stitch(v, side) for b, r in main_runs.items()
               for t, v in r.snapshots.items()}
    _save_npz(Path(args.run_dir) / f"reconstructions_{summary['image'].replace('/', '_')}"
              f"_{side}.npz", images)
    from autoencoder_report import write_report  # results/ is on sys.path when run as a script

    write_report(out, Path(args.report_dir), images)
    print(f"wrote {out / 'summary.json'} and {Path(args.report_dir) / 'autoencoder.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
