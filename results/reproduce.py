"""Reproduce the reference study's tables and figures with `nmpkit evaluate`.

    python results/reproduce.py SECTION [--limit N] [--timesteps T] [--sweep-timesteps T2]

SECTION: mnist | fashion | cifar10 | autoencoder. The autoencoder is handed to
results/autoencoder_study.py (its options; per-patch bootstrap intervals, the whole image).
Each other section runs `nmpkit evaluate` for NMP,
ZMP and the floor sweep (resumable: finished chunks are kept under results/SECTION/), then writes
results/SECTION.md (tables, the study's numbers beside ours, the exact commands) and the plots
results/SECTION_*.png. Run heavy sections under the machine's lock, e.g.
``flock /work/heavy.lock python results/reproduce.py mnist --limit 2000``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from calib.io import atomic_write_text  # noqa: E402

SECTIONS = {
    "mnist": dict(
        network="mnist",
        dataset="mnist",
        weights="nmpkit/weights/mnist.pt",
        data="mnist.npz",
        floors=[-0.1, -0.2, -0.3, -0.4, -0.5],
        metric="accuracy",
        study={
            "ANN": "99.37%",
            "NMP best": "99.43%",
            "ZMP best": "99.42%",
            "ZMP final (t=1000)": "99.36%",
        },
    ),
    "fashion": dict(
        network="mnist",
        dataset="fashion-mnist",
        weights="nmpkit/weights/mnist_fashion.pt",
        data="/usr/share/datasets/fashion-mnist",  # Debian's dataset-fashion-mnist,
        floors=[-0.1, -0.2, -0.3, -0.4, -0.5],
        metric="accuracy",
        study={},
    ),
    "cifar10": dict(
        network="cifar10",
        dataset="cifar10",
        weights="nmpkit/weights/cifar10.pt",
        data="cifar10.npz",
        floors=[-0.1, -0.2, -0.3, -0.4, -0.5],
        metric="accuracy",
        study={
            "ANN": "91.70%",
            "NMP best": "91.78% (t=743)",
            "NMP reaches 99% of ANN": "t=180",
            "ZMP": "≈ 2.7 %p below NMP",
        },
    ),
    "autoencoder": dict(
        network="autoencoder",
        dataset="cifar10",
        weights="nmpkit/weights/autoencoder.pt",
        data="cifar10.npz",
        floors=[round(-0.2 * k, 1) for k in range(1, 11)],
        metric="mse",
        study={"ZMP / NMP MSE at t=750": "≈ 10×", "ZMP reconstruction": "image not restored"},
    ),
}
# the same networks on other sample counts, each with its own table (chosen by --limit):
# mnist10k = the whole MNIST test set to T = 1000; cifar10_1000 = CIFAR-10's first 1,000
SECTIONS["mnist10k"] = SECTIONS["mnist"]
SECTIONS["cifar10_1000"] = SECTIONS["cifar10"]


def data_root(sec: dict, args) -> Path:
    """The section's dataset: ``sec["data"]`` under --data-dir / $NMPKIT_DATA (or absolute)."""
    from nmpkit.ml.data import data_dir

    return Path(sec["data"]) if Path(sec["data"]).is_absolute() else \
        data_dir(args.data_dir) / sec["data"]


def bound_name(b: str | float) -> str:
    return b if isinstance(b, str) else f"floor{b:+.1f}"


def evaluate(sec: dict, name: str, bound: str | float, T: int, args, *, corr: bool) -> dict:
    """Run (or resume) one `nmpkit evaluate`; returns its sidecar."""
    from nmpkit.app.cli import main

    out = HERE / name / f"{bound_name(bound)}_T{T}.csv"
    argv = [
        "--quiet",
        "evaluate",
        sec["network"],
        "--weights",
        str(REPO / sec["weights"]),
        "--lower-bound",
        str(bound),
        "--timesteps",
        str(T),
        "--dataset",
        sec["dataset"],
        "--data-root",
        str(data_root(sec, args)),
        "--out",
        str(out),
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
    ]
    if args.device != "cpu":
        argv += ["--device", args.device, "--memory-gb", str(args.memory_gb)]
    if args.limit:
        argv += ["--limit", str(args.limit)]
    if args.crop and sec["network"] == "autoencoder":
        argv += ["--crop", str(args.crop)]
    if not corr:
        argv += ["--correlation-samples", "0", "--snapshots", ""]
    cmd = "nmpkit " + " ".join(shlex.quote(a) for a in argv)
    print(cmd, flush=True)
    if not (out.is_file() and out.with_suffix(".json").is_file()) or args.force:
        rc = main(argv)
        if rc != 0:
            raise SystemExit(f"evaluate failed ({rc}): {cmd}")
    meta = json.loads(out.with_suffix(".json").read_text())
    made = meta.get("provenance", {}).get("argv", {})
    if made.get("device", "cpu") != args.device:  # kept from an earlier run elsewhere
        cmd += f"  # this file: made with --device {made.get('device', 'cpu')}"
        if made.get("limit") != args.limit:
            cmd += f" --limit {made.get('limit')}"
    meta["_csv"], meta["_cmd"] = out, cmd.replace(str(REPO) + "/", "")
    return meta


def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def write_section(name: str, sec: dict, runs: dict, sweep: dict, args) -> None:
    metric = sec["metric"]
    fmt = _pct if metric == "accuracy" else (lambda v: f"{v:.5f}")
    lines = [
        f"# {name}: SNN {metric} vs timestep, NMP vs ZMP, floor sweep",
        "",
        f"Made by `python results/reproduce.py {name} {args.argv_text}`.",
        "",
        f"Weights: `{sec['weights']}` (see its .json sidecar for how it was trained).",
        "",
    ]
    nmp, zmp = runs["nmp"], runs["zmp"]
    lines += [
        f"Samples: {nmp['samples']} ({nmp['data_source']}); T = {nmp['timesteps']}; "
        f"normalization percentile {nmp['config']['percentile']} on "
        f"{nmp['config']['calibration_samples']} training samples.",
        "",
    ]
    lines += ["| quantity | ours | study |", "|---|---|---|"]
    lines.append(f"| ANN {metric} | {fmt(nmp[f'ann_{metric}'])} | {sec['study'].get('ANN', '—')} |")
    for lab, r in (("NMP", nmp), ("ZMP", zmp)):
        lines.append(
            f"| {lab} best {metric} | {fmt(r[f'best_{metric}'])} (t={r['best_t']}) | "
            f"{sec['study'].get(f'{lab} best', '—')} |"
        )
        lines.append(
            f"| {lab} final {metric} (t={r['timesteps']}) | {fmt(r[f'final_{metric}'])} | "
            f"{sec['study'].get(f'{lab} final (t=1000)', '—')} |"
        )
    if metric == "accuracy":
        for lab, r in (("NMP", nmp), ("ZMP", zmp)):
            df = pd.read_csv(r["_csv"])
            hit = df[df.accuracy >= 0.99 * r["ann_accuracy"]]
            t99 = int(hit.t.iloc[0]) if len(hit) else None
            lines.append(
                f"| {lab} first t with ≥ 99% of ANN accuracy | {t99 or 'not reached'} | "
                f"{sec['study'].get(f'{lab} reaches 99% of ANN', '—')} |"
            )
    else:
        a = pd.read_csv(nmp["_csv"]).set_index("t").mse
        b = pd.read_csv(zmp["_csv"]).set_index("t").mse
        t750 = min(750, int(a.index.max()))
        lines.append(
            f"| ZMP / NMP MSE at t={t750} | {b[t750] / a[t750]:.1f}× | "
            f"{sec['study'].get('ZMP / NMP MSE at t=750', '—')} |"
        )
    for k, v in sec["study"].items():
        if k not in {
            "ANN",
            "NMP best",
            "ZMP best",
            "ZMP final (t=1000)",
            "NMP reaches 99% of ANN",
            "ZMP / NMP MSE at t=750",
        }:
            lines.append(f"| {k} | see plots | {v} |")
    lines += ["", "Mean firing rate per spiking layer (spikes per neuron per step):", ""]
    for lab, r in (("NMP", nmp), ("ZMP", zmp)):
        lines.append(f"- {lab}: " + ", ".join(f"{x:.4f}" for x in r["layer_rates"]))
    if sweep:
        T2 = min(r["timesteps"] for r in sweep.values())
        lines += [
            "",
            f"## Floor sweep (T = {T2})",
            "",
            f"| lower bound (θ) | final {metric} | best {metric} (t) |",
            "|---|---|---|",
        ]
        marks = [t for t in (50, 100, 200) if t < T2] + [T2]
        lines[-2] = "| lower bound (θ) | " + " | ".join(f"{metric} at t={t}" for t in marks)
        lines[-2] += f" | best {metric} for t ≤ {T2} (t) | mean rate per spiking layer (run's T) |"
        lines[-1] = "|---" * (len(marks) + 3) + "|"
        for b, r in sweep.items():
            df = pd.read_csv(r["_csv"]).set_index("t")[metric].loc[:T2]
            best_t = int(df.idxmax() if metric == "accuracy" else df.idxmin())
            cells = " | ".join(fmt(df.loc[t]) for t in marks)
            rates = ", ".join(f"{x:.4f}" for x in r["layer_rates"])
            lines.append(
                f"| {b} | {cells} | {fmt(df.loc[best_t])} (t={best_t}) | "
                f"{rates} (T={r['timesteps']}) |"
            )
    for lab, r in (("NMP", nmp), ("ZMP", zmp)):
        if "correlation" in r:
            c = r["correlation"]
            lines += [
                "",
                f"Correlation ANN activation vs SNN rate, {lab}, t={c['t']}, "
                f"{c['samples']} samples:",
                "",
                "| spiking layer (shape) | Pearson r | mean abs. difference |",
                "|---|---|---|",
            ]
            for L in c["layers"]:
                lines.append(
                    f"| {L['layer']} {tuple(L['shape'])} | {L['pearson_r']:.4f} | "
                    f"{L['mean_abs_diff']:.4f} |"
                )
    if any("correlation" in r for r in (nmp, zmp)):
        lines += [
            "",
            "ANN activation = the layer's ANN output / its normalization scale; SNN rate = "
            "spikes / t. Pearson r and the mean absolute difference |clip(ANN, 0, 1) − rate| are "
            "over every neuron of the samples; the scatter plots show a random 3000 per layer. "
            "The output layer's ANN values include negative logits, which an IF neuron renders "
            "as rate 0, hence its lower r.",
        ]
    lines += (
        ["", "## Commands", "", "```"]
        + [r["_cmd"] for r in list(runs.values()) + list(sweep.values())]
        + ["```", ""]
    )
    atomic_write_text(HERE / f"{name}.md", "\n".join(lines))
    plot_section(name, sec, runs, sweep)


def plot_section(name: str, sec: dict, runs: dict, sweep: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = sec["metric"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for lab, r, style in (("NMP", runs["nmp"], "-"), ("ZMP", runs["zmp"], "--")):
        df = pd.read_csv(r["_csv"])
        ax.plot(df.t, df[metric] * (100 if metric == "accuracy" else 1), style, label=lab)
    for b, r in sweep.items():
        if "ZMP" in b or "NMP" in b:
            continue
        df = pd.read_csv(r["_csv"])
        ax.plot(
            df.t,
            df[metric] * (100 if metric == "accuracy" else 1),
            lw=0.8,
            alpha=0.7,
            label=f"floor {b}",
        )
    if metric == "accuracy":
        ann = 100 * runs["nmp"]["ann_accuracy"]
        ax.axhline(ann, color="k", lw=0.6, ls=":", label="ANN")
        ax.set_ylim(max(0, ann - 10), min(100, ann + 1.5))
        ax.set_ylabel("accuracy (%)")
    else:
        ax.set_yscale("log")
        ax.set_ylabel("MSE")
    ax.set_xscale("log")
    ax.set_xlabel("timestep t (log scale)")
    ax.set_title(f"{name}: converted SNN")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(HERE / f"{name}_{metric}.png", dpi=120)
    plt.close(fig)
    for lab in ("nmp", "zmp"):
        r = runs[lab]
        if "correlation" not in r:
            continue
        corr = pd.read_csv(r["_csv"].with_name(r["_csv"].stem + "_corr.csv"))
        layers = sorted(corr.layer.unique())
        fig, axes = plt.subplots(1, len(layers), figsize=(3 * len(layers), 3), squeeze=False)
        for a, L in zip(axes[0], layers, strict=True):
            d = corr[corr.layer == L]
            a.scatter(d.ann_activation, d.snn_rate, s=2, alpha=0.4)
            hi = max(1.0, float(d.ann_activation.max()))
            a.plot([0, hi], [0, hi], "k:", lw=0.6)
            a.set_title(f"layer {L}", fontsize=8)
            a.set_xlabel("ANN activation / scale", fontsize=7)
        axes[0][0].set_ylabel("SNN rate (spikes/step)", fontsize=7)
        fig.suptitle(f"{name} {lab.upper()} t={r['correlation']['t']}", fontsize=9)
        fig.tight_layout()
        fig.savefig(HERE / f"{name}_corr_{lab}.png", dpi=110)
        plt.close(fig)
    recon = {
        lab: runs[lab]["_csv"].with_name(runs[lab]["_csv"].stem + "_recon.npz")
        for lab in ("nmp", "zmp")
    }
    if all(p.is_file() for p in recon.values()):
        with np.load(recon["nmp"]) as f:
            keys = [k for k in f.files if k != "target"]
        keys = sorted(keys, key=lambda k: int(k[1:]))
        fig, axes = plt.subplots(2, len(keys) + 1, figsize=(2.2 * (len(keys) + 1), 4.6))
        for row, lab in enumerate(("nmp", "zmp")):
            with np.load(recon[lab]) as f:
                axes[row][0].imshow(f["target"].transpose(1, 2, 0))
                axes[row][0].set_title("target", fontsize=8)
                for j, k in enumerate(keys, start=1):
                    axes[row][j].imshow(np.clip(f[k].transpose(1, 2, 0), 0, 1))
                    axes[row][j].set_title(f"{lab.upper()} t={k[1:]}", fontsize=8)
        for a in axes.flat:
            a.axis("off")
        fig.tight_layout()
        fig.savefig(HERE / f"{name}_reconstructions.png", dpi=110)
        plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("section", choices=list(SECTIONS))
    p.add_argument("--limit", type=int, default=None, help="first N test samples")
    p.add_argument("--data-dir", default=None,
                   help="folder holding mnist.npz, cifar10.npz (default: $NMPKIT_DATA)")
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--sweep-timesteps", type=int, default=None, help="T of the floor sweep")
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--crop", type=int, default=None, help="autoencoder: center crop of the image")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--force", action="store_true", help="rerun even if the CSV exists")
    p.add_argument("--device", default="cpu", help="cpu or cuda (nmpkit evaluate --device)")
    p.add_argument("--memory-gb", type=float, default=1.0, help="nmpkit evaluate --memory-gb")
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    args.argv_text = " ".join(shlex.quote(a) for a in argv if a not in (args.section, "--force"))
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["autoencoder"]:  # per-patch intervals: results/autoencoder_study.py
        import autoencoder_study

        return autoencoder_study.main(argv[1:])
    args = parse_args(argv)
    sec = SECTIONS[args.section]
    runs = {
        b: evaluate(sec, args.section, b, args.timesteps, args, corr=True) for b in ("nmp", "zmp")
    }
    sweep = {}
    if not args.no_sweep:
        T2 = args.sweep_timesteps or args.timesteps
        # a run to T contains every shorter run: step t of it is a run with T = t (causality)
        sweep["0 (ZMP)"] = runs["zmp"]
        for f in sec["floors"]:
            sweep[f"{f:g}"] = evaluate(sec, args.section, f, T2, args, corr=False)
        sweep["none (NMP)"] = runs["nmp"]
    write_section(args.section, sec, runs, sweep, args)
    print(f"wrote {HERE / (args.section + '.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
