"""MNIST seeds (issue 11 §3): the study's MNIST net trained with several seeds, NMP vs ZMP.

    flock /work/heavy.lock timeout 900 python results/mnist_seeds.py --seeds 0 1 2 3 4 \
        --epochs 1 --limit 1000 --timesteps 300 --budget 840

Resumable in pieces: each seed's training continues from its checkpoint (``--resume``), each
evaluation from its finished chunks (a larger ``--limit`` reuses the smaller one's), and a seed
whose results exist is skipped; ``--budget`` seconds stops starting new work. Weights go to
``runs/mnist_seeds/`` (not committed: 24 MB each; their sidecars are copied here), results to
``results/mnist_seeds/seed<S>_<nmp|zmp>.json`` and ``..._correct.npz``; the table to
``results/mnist_seeds.md`` (per-seed accuracy with Wilson 95% CI, NMP − ZMP with Newcombe's
paired CI and McNemar's exact p, mean ± sd over seeds), beside the study's numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "mnist_seeds"
WEIGHTS = ROOT / "runs" / "mnist_seeds"
DATA = ""  # MNIST .npz: --data, else $NMPKIT_DATA/mnist.npz (set in main)
STUDY = ("the study's MNIST figures as quoted in results/mnist10k.md: ANN 99.37%, NMP 99.43% "
         "best, ZMP 99.36% final / 99.42% best (its Fig. 2d–f has 10 seeds; their spread is not "
         "quoted in this repository)")


def train(seed: int, epochs: int, threads: int) -> Path:
    w = WEIGHTS / f"seed{seed}.pt"
    if w.is_file():
        return w
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "nmpkit", "train", "mnist", "--data-root", DATA,
                    "--out", str(w), "--epochs", str(epochs), "--seed", str(seed),
                    "--threads", str(threads), "--resume", "--checkpoint-seconds", "60", "-q"],
                   check=True, cwd=ROOT)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy2(w.with_suffix(".json"), OUT / f"seed{seed}_weights.json")
    return w


def evaluate(seed: int, w: Path, limit: int, timesteps: int) -> None:
    from nmpkit.studies.evaluate import EvalConfig, EvaluateConfig, run

    for label, lb in (("nmp", None), ("zmp", 0.0)):
        name = f"seed{seed}_{label}_n{limit}_T{timesteps}"
        if (OUT / f"{name}.json").is_file():
            continue
        sim = EvalConfig(timesteps=timesteps, lower_bound=lb, correlation_samples=0)
        res = run(EvaluateConfig(network="mnist", weights=str(w), sim=sim, data_root=DATA,
                                 limit=limit), parts_prefix=WEIGHTS / f"{name}.parts",
                  record={"argv": sys.argv})
        res.save(OUT, name)


def table(seeds: list[int], limit: int, timesteps: int, epochs: int) -> None:
    from calib.io import atomic_write_text
    from nmpkit.studies.evaluate_io import load_correct
    from nmpkit.studies.stats import accuracy, compare

    rows, acc = [], {"ann": [], "nmp": [], "zmp": [], "diff": []}
    flips = [0, 0]
    for s in seeds:
        names = {c: f"seed{s}_{c}_n{limit}_T{timesteps}" for c in ("nmp", "zmp")}
        if not all((OUT / f"{n}_correct.npz").is_file() for n in names.values()):
            continue
        m = {c: load_correct(OUT / f"{n}_correct.npz")[-1] for c, n in names.items()}
        a = {c: accuracy(v) for c, v in m.items()}
        d = compare(m["nmp"], m["zmp"])
        ann = json.loads((OUT / f"{names['nmp']}.json").read_text())["ann_accuracy"]
        for k, v in (("ann", ann), ("nmp", a["nmp"].estimate), ("zmp", a["zmp"].estimate),
                     ("diff", d.difference)):
            acc[k].append(100 * v)
        flips = [flips[0] + d.a_only, flips[1] + d.b_only]
        rows.append(f"| {s} | {100 * ann:.2f} | {a['nmp']} | {a['zmp']} | "
                    f"{100 * d.difference:+.2f} ({100 * d.ci_low:+.2f}…{100 * d.ci_high:+.2f}) "
                    f"| {d.a_only}/{d.b_only} | {d.p_value:.2g} |")

    def ms(v: list[float]) -> str:
        return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else "—"

    lines = ["# MNIST seeds: NMP vs ZMP per training seed (issue 11 §3)\n",
             f"Made by `python results/mnist_seeds.py --seeds {' '.join(map(str, seeds))} "
             f"--epochs {epochs} --limit {limit} --timesteps {timesteps}` (pieces under the "
             "heavy lock). The study's MNIST net (`nmpkit.ml.zoo` \"mnist\"), trained on "
             f"the 60,000 MNIST training images ({DATA}) for **{epochs} epoch(s)** per seed "
             "(the recipe's 4 epochs did not fit the time box; nmpkit/weights/mnist.pt has 4), "
             "Adam 1e-3, cosine, batch 128, wd 1e-4. SNN: `cosim.convert` (percentile 99.99, "
             f"1,000 training images), ideal IF neuron, T = {timesteps} (steady state), on the "
             f"first {limit:,} MNIST test images, the same images for NMP and ZMP.\n",
             "| seed | ANN % | NMP % (95% Wilson CI) | ZMP % (95% CI) | NMP − ZMP %p (95% "
             "Newcombe paired CI) | images only NMP / only ZMP right | McNemar exact p |",
             "|---|---|---|---|---|---|---|", *rows,
             f"\nOver {len(rows)} seeds (mean ± sd): ANN {ms(acc['ann'])} %, NMP "
             f"{ms(acc['nmp'])} %, ZMP {ms(acc['zmp'])} %, NMP − ZMP {ms(acc['diff'])} %p. "
             f"Pooled over the {len(rows)} seeds ({limit * len(rows):,} paired "
             f"image-seed cases): {flips[0]} right only under NMP, {flips[1]} only under ZMP.\n",
             f"Beside: {STUDY}; ours with the 4-epoch weights on all 10,000 images at T = 1000: "
             "NMP 99.24%, ZMP 99.23% (results/mnist10k.md).",
             *([f"Where we differ: our 1-epoch nets' mean ANN accuracy is "
                f"{99.37 - statistics.mean(acc['ann']):.2f} %p below the study's 99.37% (4 "
                "epochs would close part of it: 99.24% for seed 0 on all 10,000 images); the "
                "study's ZMP is 0.07 %p below its best NMP at t = 1000, ours at T = 300 differs "
                f"by {statistics.mean(acc['diff']):+.2f} %p on average — on MNIST the floor "
                "does not matter in either, which is what the study reports too.\n"]
               if acc["ann"] else [])]
    atomic_write_text(ROOT / "results" / "mnist_seeds.md", "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--timesteps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=840.0, help="seconds; no new work after")
    ap.add_argument("--only", choices=("train", "evaluate", "all"), default="all")
    ap.add_argument("--data", default=None, help="MNIST .npz (default: $NMPKIT_DATA/mnist.npz)")
    a = ap.parse_args()
    from nmpkit.ml.data import data_dir

    global DATA
    DATA = a.data or str(data_dir() / "mnist.npz")
    import torch

    torch.set_num_threads(a.threads)
    t0 = time.monotonic()
    for s in a.seeds:
        if time.monotonic() - t0 > a.budget:
            break
        w = WEIGHTS / f"seed{s}.pt"
        if a.only in ("train", "all"):
            w = train(s, a.epochs, a.threads)
        if a.only in ("evaluate", "all") and w.is_file():
            evaluate(s, w, a.limit, a.timesteps)
        print(f"seed {s} done at {time.monotonic() - t0:.0f} s", flush=True)
    table(a.seeds, a.limit, a.timesteps, a.epochs)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
