"""results/calibrated_vs_ideal.md from every results/calibrated_vs_ideal/*.json
(`calibrated_vs_ideal.py` calls `write_report`; ``python results/calibrated_vs_ideal.py
--report-only`` redoes the page)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calib.io import atomic_write_text  # noqa: E402
from nmpkit.studies import stats  # noqa: E402
from nmpkit.studies.tradeoff_sim import unpack  # noqa: E402

STUDY = {"mnist": "The study: NMP and ZMP equal on MNIST (results/mnist10k.md: 99.43% / 99.42% "
                  "best)",
         "cifar10": "The study: ZMP ≈ 2.7 %p below NMP on CIFAR-10 (NMP 91.78% at t = 743)"}
PAIRS = [("calibrated NMP", "ideal NMP", "the calibrated neuron's effect, no floor"),
         ("calibrated ZMP", "ideal ZMP", "the calibrated neuron's effect, floor at V_NEG 0 V"),
         ("ideal NMP", "ideal ZMP", "the floor's cost, ideal IF"),
         ("calibrated NMP", "calibrated ZMP", "the floor's cost, calibrated neuron")]


def _pct(p) -> str:
    return f"{100 * p.estimate:.2f}% ({100 * p.ci_low:.2f}–{100 * p.ci_high:.2f})"


def _diff(c) -> str:
    return (f"{100 * c.difference:+.2f} ({100 * c.ci_low:+.2f} to {100 * c.ci_high:+.2f}) | "
            f"{c.a_only} / {c.b_only} | {c.p_value:.3g}")


def _reused(s: dict) -> str:
    r, c = s.get("chunks_reused", 0), s.get("chunks")
    return (f"; {r} of its {c} chunks of {s['images'] // c if c else '?'} images reused from an "
            "earlier run of the same settings (runs/calibrated_vs_ideal/), their time not in "
            "this figure" if r else "")


def _ordered(variants: dict) -> list[tuple[str, dict]]:
    """Ideal NMP, ideal ZMP, calibrated NMP, calibrated ZMP, then the extra floors deepening."""
    head = [p for p in ("ideal NMP", "ideal ZMP", "calibrated NMP", "calibrated ZMP")
            if p in variants]
    rest = sorted((k for k in variants if k not in head), key=lambda k: -float(k.split()[-1]))
    return [(k, variants[k]) for k in head + rest]


def _floor(s: dict) -> str:
    """The calibrated ZMP neuron's floor and start, as the JSON recorded them."""
    return (f"its floor at V_NEG 0 V: {s['calibrated_zmp_lower_bound']:+.4f} θ "
            "(`membrane_floor_theta(0)`: the membrane floors at ground, above the post-reset "
            "level v = 0, and only inhibition meets that floor), every membrane started at "
            f"{s['calibrated_start_theta']:+.4f} θ (ground, where the membrane controller "
            "sets it)")


def _section(s: dict) -> tuple[list[str], dict]:
    n, T, steps = s["images"], s["timesteps"], [str(t) for t in s["steps"]]
    corr = {k: {t: unpack(v["correct"][t]) for t in steps} for k, v in s["variants"].items()}
    ann = stats.proportion(int(round(s["ann_accuracy"] * n)), n)
    L = [f"## {s['network']}: {n:,} test images, T = {T}", "",
         f"Made by `{s['command']}` (under `flock /work/heavy.lock`; {s['wall_seconds']:.0f} s "
         f"wall{_reused(s)}, every variant in one `cosim.simulate_variants` pass per chunk). "
         "Weights "
         f"`{s['info']['weights']}` (sha256 {s['info']['weights_sha256'][:12]}…), "
         f"{s['info']['data_source']}, the first {n:,} test images; normalization percentile "
         f"{s['info']['percentile']:g} on {s['info']['calibration_samples']:,} training images. "
         f"Calibrated neuron: `{s['calibration']}` at V_DD {s['v_dd_volts']:g} V, nominal (no "
         f"mismatch); {_floor(s)}. ANN accuracy {_pct(ann)}.", "",
         "| neuron | " + " | ".join(f"accuracy at t={t} (95% CI)" for t in steps)
         + " | refractory steps | transfer curve |",
         "|---|" + "---|" * (len(steps) + 2)]
    for k, v in _ordered(s["variants"]):
        nd = v["neuron"]
        fl = "none" if nd["lower_bound"] is None else f"{nd['lower_bound']:.3g} θ"
        L.append(f"| {k} (floor {fl}) | "
                 + " | ".join(_pct(stats.accuracy(corr[k][t])) for t in steps)
                 + f" | {nd['refractory_steps']} | {'yes' if nd['transfer'] else 'no'} |")
    L += ["", "Paired on the same images (difference A − B in %p with Newcombe's 95% interval; "
          "images only A / only B gets right; McNemar's exact p):", "",
          "| A − B | what it measures | t | difference (%p) | only A / only B | McNemar p |",
          "|---|---|---|---|---|---|"]
    pairs = PAIRS + [("ideal NMP", k, "an ideal floor's cost") for k, _ in _ordered(s["variants"])
                     if k.startswith("ideal -")]
    found = {}
    for a, b, what in pairs:
        for t in steps:
            c = stats.compare(corr[a][t], corr[b][t])
            found[(a, b, t)] = c
            L.append(f"| {a} − {b} | {what} | {t} | {_diff(c)} |")
    L += ["", "Mean firing rate per spiking layer (spikes per neuron per step):", ""]
    L += [f"- {k}: " + ", ".join(f"{r:.4f}" for r in v["layer_rates"])
          for k, v in _ordered(s["variants"])]
    L += ["", _reading(s, found, str(T)), ""]
    return L, found


def _reading(s: dict, f: dict, T: str) -> str:
    def d(a, b):
        c = f[(a, b, T)]
        return (f"{100 * c.difference:+.2f} %p ({100 * c.ci_low:+.2f} to {100 * c.ci_high:+.2f},"
                f" McNemar p = {c.p_value:.3g})")

    return (f"**Reading at t = {T}** (n = {s['images']:,}): the calibrated neuron changes NMP by "
            f"{d('calibrated NMP', 'ideal NMP')} and ZMP by {d('calibrated ZMP', 'ideal ZMP')} "
            f"against the ideal IF; NMP − ZMP (the floor's cost; negative: ZMP ahead) is "
            f"{d('ideal NMP', 'ideal ZMP')} with the ideal IF and "
            f"{d('calibrated NMP', 'calibrated ZMP')} with the calibrated neuron. "
            f"{_rate_change(s)} {STUDY.get(s['network'], '')}.")


def _rate_change(s: dict) -> str:
    """The calibrated NMP neuron's firing rate per layer relative to the ideal IF's."""
    v = s["variants"]
    rel = [100 * (c / i - 1) if i > 0 else 0.0 for c, i in zip(
        v["calibrated NMP"]["layer_rates"], v["ideal NMP"]["layer_rates"], strict=True)]
    return ("Its firing rates per spiking layer (NMP, against the ideal IF): "
            + ", ".join(f"{r:+.1f}%" for r in rel)
            + " (the measured f–I transfer curve in place of the ideal linear one).")


HISTORY = (
    "**History.** Until session 25 the calibration took θ as C × the waveform's threshold swing, "
    "4.9% below the charge one spike removes (2.228e-13 against 2.336e-13 C at V_DD 1 V), so a "
    "unit input fired at a gain of 0.953. On that calibration (session 23/24 runs, same weights "
    "and images) CIFAR-10 lost accuracy to the circuit: 300 images, T = 300, calibrated NMP "
    "88.33% (84.21–91.49) against ideal NMP 92.00% (88.37–94.57), −3.67 %p (−6.36 to −1.34), "
    "McNemar p = 0.0034, the calibrated neuron firing 5–19% less per layer; and on 100 images the "
    "decomposition below showed that a uniform gain s = T(1) = 0.947 alone gave the whole loss "
    "(89% against 97%, 0 / 8 flips, p = 0.0078) while dividing the input by s restored 97% and "
    "every layer's count to within 1.3% of the ideal IF. `calib.fit` now takes θ from the f–I "
    "curve's low-rate charge per spike (gain 1.000 at small x); the sections below are rerun on "
    "that calibration.")


def write_report(out: Path, page: Path | None = None) -> None:
    """The page from every JSON in ``out`` (one section per network and run)."""
    files = sorted(out.glob("*.json"))
    L = ["# The calibrated neuron vs the ideal IF: NMP and ZMP on the same images (issue 11 §3)",
         "", "What the study-faithful circuit changes when its calibrated neuron (results/"
         "calibration/calibration-default.json: the transfer nonlinearity and saturation of its "
         "f–I curve, the inhibitory mirror's gain, the refractory time, the measured floor at "
         "V_NEG 0 V) replaces the ideal IF of every other page, with the same weights, "
         "conversion and images. Accuracies: Wilson 95% intervals; comparisons paired "
         "(Newcombe, McNemar). Per-image correctness and provenance: "
         "results/calibrated_vs_ideal/*.json.", "", HISTORY, ""]
    for p in files:
        L += _section(json.loads(p.read_text()))[0]
    if not files:
        L.append("No runs yet.")
    from calibrated_vs_ideal_rates_report import sections

    L += sections(out.parent / "calibrated_vs_ideal_rates")
    atomic_write_text(page or out.parent / "calibrated_vs_ideal.md", "\n".join(L) + "\n")


__all__ = ["write_report"]

if __name__ == "__main__":
    write_report(ROOT / "results" / "calibrated_vs_ideal")
