"""results/NAME.md, the trade-off page, from an `nmpkit tradeoff --out` folder (the ``tradeoff``
kind of ``results/answer_md.py``, which is the command to run; see there).

The page's command is rebuilt from the run's own record (``tradeoff.json``'s ``config``: the values
of every option, `tradeoff_command`); the run's CSV and recommendation are copied to
results/NAME/ beside the page.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent


def tradeoff_command(config: dict[str, Any]) -> str:
    """The `nmpkit tradeoff` command line of a run's recorded ``TradeoffConfig`` (its
    ``config``), ``--out OUT``; every option spelled out."""
    flags = {"calibration": "--calibration", "network": "--network", "weights": "--weights",
             "dataset": "--dataset", "data_root": "--data-root", "limit": "--limit",
             "timesteps": "--timesteps", "v_neg_volts": "--v-neg", "v_dd_volts": "--v-dd",
             "tolerance": "--tolerance", "energy_samples": "--energy-samples",
             "batch": "--batch", "eta": "--eta", "array_size": "--array-size"}
    words = ["python", "-m", "nmpkit", "tradeoff"]
    for key, flag in flags.items():
        v = config.get(key)
        if v is None:  # array_size None = the whole network; eta None has no flag
            continue
        words += [flag, *(map(str, v) if isinstance(v, list | tuple) else [str(v)])]
    if config.get("ideal"):
        words.append("--ideal")
    return shlex.join(words + ["--out", "OUT"])


def tradeoff_page(out: Path, extrapolation: str | None = None, *, name: str = "tradeoff_mnist",
                  intro: str = "", commands: list[str] | None = None) -> str:
    """The trade-off table per T with Wilson CIs and the paired drop vs NMP; the run's files are
    copied to results/NAME/."""
    rec = json.loads((out / "recommendation.json").read_text())
    df = pd.read_csv(out / "tradeoff.csv")
    full = out / "tradeoff.json"
    record = json.loads(full.read_text()) if full.is_file() else {}
    if commands is None:
        if not record.get("config"):
            raise SystemExit(f"{full} (with the run's config) is missing: pass --command")
        commands = [tradeoff_command(record["config"])]
    dest = HERE / name
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("tradeoff.csv", "recommendation.json"):
        shutil.copyfile(out / f, dest / f)
    p = rec.get("provenance") or record.get("provenance", {})
    n = int(df["samples"].iloc[0])
    lines = [f"# The {rec.get('network')} net's trade-off per latency budget: {n:,} test images",
             ""] + ([intro, ""] if intro else []) + [
             f"`{rec.get('network')}` on the first {n:,} {p.get('dataset', '?')} test images, "
             f"preset `{rec.get('preset')}`, calibration `{p.get('calibration', '?')}`"
             + (f", circuit energy model (η = {record['config']['eta']:g})."
                if (record.get("config") or {}).get("eta") else "."),
             "", "```", *commands, f"python results/answer_md.py tradeoff OUT --name {name}"
             + (" --intro TEXT" if intro else "")
             + ("" if extrapolation else " --extrapolation ''"),
             "```", "", f"**{rec['text']}**", "", rec.get("rule_text", ""), ""]
    for t, g in df.groupby("timesteps"):
        lines += [f"## T = {t}", "", "| point | accuracy (95% CI) | NMP − point (95% CI) | "
                  "flips (NMP only / point only) | McNemar p | within tolerance | energy (nJ) |",
                  "|---|---|---|---|---|---|---|"]
        for r in g.sort_values(["condition", "v_dd_volts", "v_neg_volts"]).itertuples():
            label = ("NMP" if r.condition == "nmp" else
                     f"V_DD {r.v_dd_volts:g} V, V_NEG {r.v_neg_volts:.3g} V "
                     f"({r.floor_theta:.2f} θ)")
            e = "" if pd.isna(r.energy_joules) else f"{1e9 * r.energy_joules:.4g}"
            lines.append(f"| {label} | {100 * r.accuracy:.2f}% ({100 * r.accuracy_ci_low:.2f}–"
                         f"{100 * r.accuracy_ci_high:.2f}) | {100 * r.drop_vs_nmp:+.2f} %p "
                         f"({100 * r.drop_ci_low:+.2f} to {100 * r.drop_ci_high:+.2f}) | "
                         f"{r.flips_worse} / {r.flips_better} | {r.p_vs_nmp:.2g} | "
                         f"{'yes' if r.non_inferior else 'no'} | {e} |")
        lines.append("")
    if extrapolation:
        lines += ["## 10,000 images", "", extrapolation, ""]
    lines += [f"Provenance: `{p.get('command')}`, git {str(p.get('git_revision'))[:12]}, "
              f"{p.get('created_utc')}. Files: `results/{name}/`.", ""]
    return "\n".join(lines)


EXTRAPOLATION = (
    "Not run. Measured here: the calibrated MNIST net simulates about 7,700 image-steps/s on "
    "2 cores (the per-layer search: 300 images × T = 200 in 7.8 s per configuration). The "
    "trade-off above needs one run per neuron (NMP + every (V_DD, V_NEG) with its own neuron, "
    "16 here) to the largest T, plus energy runs of the energy sample to each shorter T. For "
    "10,000 images to T = 200 that is 16 × 2.0 M image-steps ≈ 70 min, plus 16 × "
    "1,000 × 150 image-steps for the energy at the shorter budgets ≈ 5 min: about 75 min of "
    "both cores (the issue's default budget list to T = 1,000: about 5× that, ≈ 6 h). "
    "Resumable: each neuron's result is a part file in OUT/.parts.")


__all__ = ["EXTRAPOLATION", "tradeoff_command", "tradeoff_page"]
