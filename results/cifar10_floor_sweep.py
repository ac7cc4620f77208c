"""The CIFAR-10 floor sweep 0 → −0.5 θ with intervals (issue 11 §3): every floor in one pass.

    flock /work/heavy.lock .venv/bin/python results/cifar10_floor_sweep.py \\
        --data-dir /work/shared/datasets --limit 1000 --timesteps 1000 [--out RUN_DIR]

The study's CIFAR-10 all-conv net (`nmpkit/weights/cifar10.pt`), converted with data-based
normalization (99.99th percentile of 1,000 training images), ideal IF neurons with reset by
subtraction, constant-current input; NMP (no floor) and the floors 0 (ZMP), −0.1, …, −0.5 θ as the
K variants of one `cosim.simulate_variants` pass per batch (results equal separate calls). Per
batch, each image's correctness at every reported T is kept in RUN_DIR/parts/ (written
atomically; a rerun skips what is there, so a killed run resumes). Then per T and floor: the
accuracy with its Wilson 95% interval, and against NMP on the same images the paired difference
(Newcombe's interval), the flips each way and McNemar's exact p. Writes RUN_DIR/sweep.json (with
provenance) and results/cifar10_floor_sweep.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOORS: tuple[float | None, ...] = (None, 0.0, -0.1, -0.2, -0.3, -0.4, -0.5)
REPORT_T = (50, 100, 200, 300, 500, 1000)
STUDY = {"ann": 91.70, "nmp": 91.78, "zmp_gap_pp": 2.7}


def label(floor: float | None) -> str:
    return "NMP" if floor is None else ("ZMP (0 θ)" if floor == 0 else f"{floor:+.1f} θ")


def timing(meta: dict) -> str:
    """The simulation seconds the parts recorded (each part its own batch), and the kernel
    builds (instruction sets) that simulated them."""
    if not meta["parts_timed"]:
        return "not recorded in the parts"
    left = meta["parts"] - meta["parts_timed"]
    builds = ", ".join(f"{k}: {v} part(s)" for k, v in sorted(meta["kernels"].items()))
    return (
        f"{meta['part_seconds']:.0f} s over {meta['parts_timed']} timed part(s)"
        + (f" ({left} part(s) untimed)" if left else "")
        + f"; {builds}"
    )


def run_batches(args: argparse.Namespace, out: Path) -> dict:
    import cosim
    from calib.io import atomic_write_npz
    from nmpkit.studies.batched import batch_slices
    from nmpkit.studies.classifier import load_classifier
    from nmpkit.studies.tradeoff_sim import correct_at

    data = Path(args.data_dir or os.environ.get("NMPKIT_DATA", ""))
    clf = load_classifier(
        network="cifar10",
        weights=ROOT / "nmpkit/weights/cifar10.pt",
        dataset="cifar10",
        data_root=data / "cifar10.npz",
        limit=args.limit,
    )
    steps = [t for t in REPORT_T if t <= args.timesteps]
    if args.timesteps not in steps:
        steps.append(args.timesteps)
    neurons = [cosim.IFNeuron(lower_bound=f) for f in FLOORS]
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    n, t0, simulated = int(clf.x.shape[0]), time.time(), 0
    for sl in batch_slices(n, args.batch):
        f = parts / f"T{args.timesteps}_{sl.start:05d}_{sl.stop:05d}.npz"
        try:
            with np.load(f) as z:
                if list(z["steps"]) == steps and z["correct"].shape[0] == len(FLOORS):
                    continue
        except (OSError, ValueError, KeyError):
            pass  # absent or corrupt: recompute
        tb = time.time()
        res = cosim.simulate_variants(
            clf.net,
            clf.x[sl],
            timesteps=args.timesteps,
            neurons=neurons,
            memory_budget_bytes=int(args.memory_gb * 2**30),
        )
        ok = np.stack([correct_at(r.output_spikes, clf.y[sl], steps) for r in res])
        took = np.array(time.time() - tb)
        atomic_write_npz(
            f,
            {
                "correct": ok,
                "seconds": took,
                "steps": np.array(steps),
                "kernels": np.array(cosim.kernels.status()),
            },
        )
        simulated += sl.stop - sl.start
        print(f"images {sl.stop}/{n}: {time.time() - t0:.0f} s", flush=True)
    files = sorted(parts.glob(f"T{args.timesteps}_*.npz"))
    files = [p for p in files if int(p.stem.split("_")[2]) <= n]
    blocks, timed, builds = [], [], collections.Counter()
    for p in files:  # each part read once: its correctness and, where recorded, seconds, build
        with np.load(p) as z:
            blocks.append(z["correct"])
            if "seconds" in z.files:
                timed.append(float(z["seconds"]))
            builds[str(z["kernels"]) if "kernels" in z.files else "kernels not recorded"] += 1
    correct = np.concatenate(blocks, axis=2)[:, :, :n]
    return {
        "part_seconds": sum(timed),
        "kernels": dict(builds),
        "parts_timed": len(timed),
        "parts": len(files),
        "clf": clf,
        "steps": steps,
        "correct": correct,
        "seconds": time.time() - t0,
        "simulated": simulated,
    }


def summarize(correct: np.ndarray, steps: list[int]) -> list[dict]:
    from nmpkit.studies.stats.intervals import accuracy
    from nmpkit.studies.stats.paired import compare

    rows = []
    for i, t in enumerate(steps):
        nmp = correct[0, i]
        for k, floor in enumerate(FLOORS):
            acc = accuracy(correct[k, i])
            cmp = compare(nmp, correct[k, i])
            rows.append(
                {
                    "timesteps": t,
                    "floor_theta": floor,
                    "n": acc.n,
                    "accuracy": acc.estimate,
                    "ci_low": acc.ci_low,
                    "ci_high": acc.ci_high,
                    "nmp_minus": cmp.difference,
                    "diff_ci_low": cmp.ci_low,
                    "diff_ci_high": cmp.ci_high,
                    "nmp_only": cmp.a_only,
                    "floor_only": cmp.b_only,
                    "mcnemar_p": cmp.p_value,
                }
            )
    return rows


def markdown(rows: list[dict], meta: dict, command: str) -> str:
    n = rows[0]["n"]
    lines = [
        f"# CIFAR-10: the floor sweep 0 → −0.5 θ, {n:,} test images, T to {meta['timesteps']}",
        "",
        f"The study's all-conv CIFAR-10 net (`nmpkit/weights/cifar10.pt`, ANN "
        f"{100 * meta['ann_accuracy']:.2f}% on these {n:,} images; study: ANN {STUDY['ann']}%, NMP "
        f"{STUDY['nmp']}%, ZMP ≈ {STUDY['zmp_gap_pp']} %p below NMP), ideal IF neurons, reset by "
        "subtraction, constant-current input; every floor in one `cosim.simulate_variants` pass "
        f"per batch of {meta['batch']}. Simulation time {timing(meta)}; this run simulated "
        f"{meta['simulated']:,} images in {meta['seconds']:.0f} s wall on {meta['threads']} "
        f"thread(s), main at {meta['provenance']['git_revision'][:7]}.",
        "",
        "```",
        command,
        "```",
        "",
        "Accuracy with its Wilson 95% interval; NMP − floor is the paired difference on the same "
        "images (Newcombe's 95% interval), flips = images right under NMP only / under the floor "
        "only, p = McNemar's exact test.",
        "",
    ]
    for t in sorted({r["timesteps"] for r in rows}):
        lines += [
            f"## T = {t}",
            "",
            "| floor | accuracy (95% CI) | NMP − floor (95% CI) | flips | McNemar p |",
            "|---|---|---|---|---|",
        ]
        for r in (r for r in rows if r["timesteps"] == t):
            diff = (
                ""
                if r["floor_theta"] is None
                else f"{100 * r['nmp_minus']:+.2f} %p ({100 * r['diff_ci_low']:+.2f} to "
                f"{100 * r['diff_ci_high']:+.2f})"
            )
            flips = "" if r["floor_theta"] is None else f"{r['nmp_only']} / {r['floor_only']}"
            p = "" if r["floor_theta"] is None else f"{r['mcnemar_p']:.3g}"
            lines.append(
                f"| {label(r['floor_theta'])} | {100 * r['accuracy']:.2f}% "
                f"({100 * r['ci_low']:.2f}–{100 * r['ci_high']:.2f}) | {diff} | {flips} "
                f"| {p} |"
            )
        lines.append("")
    lines += _finding(rows)
    return "\n".join(lines) + "\n"


def _finding(rows: list[dict]) -> list[str]:
    last = max(r["timesteps"] for r in rows)
    zmp = next(r for r in rows if r["timesteps"] == last and r["floor_theta"] == 0.0)
    resolved = [
        r
        for r in rows
        if r["timesteps"] == last and r["floor_theta"] is not None and r["mcnemar_p"] < 0.05
    ]
    early = min(r["timesteps"] for r in rows)
    z_early = next(r for r in rows if r["timesteps"] == early and r["floor_theta"] == 0.0)
    out = [
        "## What it says",
        "",
        f"At T = {last}, NMP − ZMP = {100 * zmp['nmp_minus']:+.2f} %p (95% CI "
        f"{100 * zmp['diff_ci_low']:+.2f} to {100 * zmp['diff_ci_high']:+.2f} %p, McNemar p = "
        f"{zmp['mcnemar_p']:.3g}, n = {zmp['n']:,}; negative: ZMP ahead); the study reports "
        f"NMP − ZMP ≈ +{STUDY['zmp_gap_pp']} %p. "
        + (
            "No floor differs from NMP at p < 0.05 at this T."
            if not resolved
            else "Floors that differ from NMP at p < 0.05 at this T: "
            + ", ".join(label(r["floor_theta"]) for r in resolved)
            + "."
        ),
        f"At T = {early}, NMP − ZMP = {100 * z_early['nmp_minus']:+.2f} %p (95% CI "
        f"{100 * z_early['diff_ci_low']:+.2f} to {100 * z_early['diff_ci_high']:+.2f} %p): "
        "a negative difference means the floor converges faster than NMP early on.",
        "",
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--data-dir", default=None, help="folder holding cifar10.npz (default: $NMPKIT_DATA)"
    )
    p.add_argument("--limit", type=int, default=1000, help="first N test images (0 = all)")
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100, help="images per simulate_variants call")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory-gb", type=float, default=3.0)
    p.add_argument("--out", default="runs/cifar10_floor_sweep", help="run folder (parts, json)")
    p.add_argument(
        "--md",
        default=str(ROOT / "results/cifar10_floor_sweep.md"),
        help="markdown to write ('' = none)",
    )
    args = p.parse_args(argv)
    if not (args.data_dir or os.environ.get("NMPKIT_DATA")):
        p.error("--data-dir or $NMPKIT_DATA is required")
    torch.set_num_threads(args.threads)
    from calib.io import atomic_write_json, atomic_write_text, provenance

    out = Path(args.out)
    run = run_batches(args, out)
    rows = summarize(run["correct"], run["steps"])
    meta = {
        "timesteps": args.timesteps,
        "batch": args.batch,
        "threads": args.threads,
        "seconds": run["seconds"],
        "simulated": run["simulated"],
        "part_seconds": run["part_seconds"],
        "parts_timed": run["parts_timed"],
        "parts": run["parts"],
        "kernels": run["kernels"],
        "ann_accuracy": run["clf"].ann_accuracy,
        "floors": list(FLOORS),
        "provenance": provenance(
            script="results/cifar10_floor_sweep.py", argv=sys.argv[1:], **run["clf"].info
        ),
    }
    atomic_write_json(out / "sweep.json", {"meta": meta, "rows": rows})
    if args.md:
        command = (
            "flock /work/heavy.lock .venv/bin/python results/cifar10_floor_sweep.py "
            + " ".join(sys.argv[1:] if argv is None else argv)
        )
        atomic_write_text(args.md, markdown(rows, meta, command))
    for r in rows:
        if r["timesteps"] == args.timesteps:
            print(
                f"T={r['timesteps']} {label(r['floor_theta'])}: {100 * r['accuracy']:.2f}% "
                f"NMP−floor {100 * r['nmp_minus']:+.2f} %p p={r['mcnemar_p']:.3g}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
