"""The default run's network stages (train + evaluate per network), then their paired tables.

    flock /work/heavy.lock .venv/bin/python results/default_networks.py RUN_DIR [--limit N]

Runs exactly the ``train*``/``evaluate*`` stages `nmpkit run` runs with the embedded default
config (Fashion-MNIST; mnist trained here for 1 epoch, allconv28 from its shipped weights), with
every network's ``eval_limit`` set to N (default: the config's), into RUN_DIR (resumable: the
stages and their simulated chunks are kept there), and prints the Markdown tables of
results/default_networks.md from each ``evaluate*/comparisons.csv``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nmpkit.app.config import load_config  # noqa: E402
from nmpkit.app.pipeline import run_stages  # noqa: E402
from nmpkit.app.stages import network_stages  # noqa: E402

LABELS = {"nmp": "NMP", "zmp": "ZMP (floor 0)"}


def table(stage_dir: Path) -> str:
    rec = json.loads((stage_dir / "stage.json").read_text())
    df = pd.read_csv(stage_dir / "comparisons.csv")
    nmp = json.loads((stage_dir / "nmp.json").read_text())
    out = [f"\n### {rec['inputs']['network']} ({stage_dir.name}/, {rec['seconds']:.0f} s for "
           f"{df.condition.nunique()} bounds)\n",
           f"ANN on the same {nmp['samples']:,} images: {100 * nmp['ann_accuracy']:.2f}%\n",
           "| bound | T | accuracy (95% CI) | NMP − bound (95% CI) | only NMP right / only bound "
           "right | McNemar p |", "|---|---|---|---|---|---|"]
    for r in df.itertuples():
        lab = LABELS.get(r.condition, r.condition.replace("floor", "floor ") + " θ")
        same = r.condition == "nmp"
        diff = "—" if same else (f"{100 * r.nmp_minus:+.2f} %p ({100 * r.diff_ci_low:+.2f} … "
                                 f"{100 * r.diff_ci_high:+.2f})")
        flips = "—" if same else f"{r.only_nmp_right} / {r.only_this_right}"
        p = "—" if same else f"{r.p_vs_nmp:.2g}"
        acc = (f"{100 * r.accuracy:.2f}% ({100 * r.accuracy_ci_low:.2f}–"
               f"{100 * r.accuracy_ci_high:.2f})")
        out.append(f"| {lab} | {r.timesteps} | {acc} | {diff} | {flips} | {p} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--limit", type=int, default=None, help="test images per network")
    args = ap.parse_args()
    cfg = load_config(None)
    if args.limit is not None:
        cfg = dataclasses.replace(cfg, networks=tuple(
            dataclasses.replace(n, eval_limit=args.limit) for n in cfg.networks))
    stages, _ = network_stages(cfg)
    for o in run_stages(stages, cfg, args.run_dir, quiet=True, log=print):
        print(o.name, o.status, f"{o.seconds:.1f} s", flush=True)
    for d in sorted(Path(args.run_dir).glob("evaluate*")):
        print(table(d))


if __name__ == "__main__":
    main()
