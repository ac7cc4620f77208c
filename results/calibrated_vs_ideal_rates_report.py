"""The rate-deficit section of results/calibrated_vs_ideal.md from
results/calibrated_vs_ideal_rates/*.json (`calibrated_vs_ideal_report.write_report` calls
`sections`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nmpkit.studies import stats  # noqa: E402
from nmpkit.studies.tradeoff_sim import unpack  # noqa: E402


def _floor(c: dict) -> str:
    """The calibrated neuron's floor at V_NEG 0 and its start, as the JSON recorded them."""
    return (f"{c['membrane_floor_theta_v_neg0']:+.4f} θ (ground, above the post-reset level; "
            f"only inhibition meets it); every membrane starts at {c['start_theta']:+.4f} θ "
            "(the membrane controller's level)")

PAIRS = [("calibrated NMP", "ideal NMP"), ("uniform gain s", "ideal NMP"),
         ("linear s, inh r", "uniform gain s"), ("calibrated NMP", "linear s, inh r"),
         ("calibrated NMP ÷ s", "calibrated NMP"), ("calibrated NMP ÷ s", "ideal NMP"),
         ("calibrated NMP ÷ s, inh r·s", "ideal NMP"), ("calibrated ZMP", "ideal ZMP"),
         ("calibrated ZMP ÷ s", "calibrated ZMP"), ("calibrated ZMP ÷ s", "ideal ZMP")]


def _section(s: dict) -> list[str]:
    n, T, c = s["images"], s["timesteps"], s["curve"]
    v = s["variants"]
    corr = {k: unpack(x["correct"])[:n] for k, x in v.items()}
    base = v["ideal NMP"]["spikes_per_layer"]
    title = f"## The calibrated neuron's rates, part by part ({s['network']}, {n} images, T = {T})"
    L = [title, "",
         f"Made by `{s['command']}` (under `flock /work/heavy.lock`; {s['wall_seconds']:.0f} s "
         f"wall; provenance and per-image correctness in results/calibrated_vs_ideal_rates/). "
         f"The calibrated neuron ({s['calibration']}, V_DD {s['v_dd_volts']:g} V, nominal) is "
         f"the ideal IF with threshold {c['threshold']:g}, gain {c['gain']:g}, reset subtract, "
         f"{c['refractory_steps']} refractory steps (spike width {c['spike_width_steps']:.3f} "
         f"steps) and one transfer curve T on each step's net input x. Its parts:", "",
         f"- excitation: T(x)/x = {c['slope_small']:.4f} at small x, {c['slope_min_used']:.4f}–"
         f"{c['slope_max_used']:.4f} over 0 < x ≤ 1.06 (the range of a neuron that fires at "
         f"most once a step); s = T(1) = {c['s']:.4f}; one spike per step needs x = "
         f"{c['x_for_one_spike_per_step']:.4f} instead of 1;",
         f"- inhibition (x < 0): slope {c['inh_slope']:.4f} (the mirror-gain ratio; "
         f"{c['inh_gain_ratio_v_neg0']:.4f} at V_NEG 0) — not multiplied by s, so inhibition "
         f"weighs {c['inh_slope'] / c['s']:.3f}× what the same excitatory charge does;",
         f"- saturation: T is flat from x = {c['x_saturation']:.2f} (T = {c['y_saturation']:.2f}"
         f", i.e. far above the one-spike-per-step ceiling both neurons share); threshold/reset "
         f"offset: none (threshold 1, subtract); floor at V_NEG 0: {_floor(c)}.",
         "", "Spikes per layer relative to the ideal NMP IF (all images; the variants keep one "
         "part of T at a time):", "",
         "| variant | " + " | ".join(f"L{i + 1}" for i in range(len(base))) + " |",
         "|---|" + "---|" * len(base)]
    for k, x in v.items():
        if k == "ideal NMP":
            continue
        L.append(f"| {k} | " + " | ".join(f"{100 * (a / b - 1):+.1f}%" if b else "–"
                                          for a, b in zip(x["spikes_per_layer"], base,
                                                          strict=True)) + " |")
    d = s["deciles"]
    L += ["", f"Calibrated/ideal NMP spike ratio per decile of the normalized ANN activation a "
          f"(neurons with a > 0, first {s['diag_images']} images; in brackets the "
          "constant-current prediction min(T(a), 1)/min(a, 1)); a > 1: the share of neurons the "
          "ANN drives above one spike per step:", "",
          "| layer | active | a median / p99 | a > 1 | " + " | ".join(
              f"D{k + 1}" for k in range(10)) + " |", "|---|---|---|---|" + "---|" * 10]
    for ly in d:
        cells = [f"{b['ratio']:.3f} ({b['predicted_ratio']:.3f})" if b["ratio"] else "–"
                 for b in ly["bins"]]
        L.append(f"| L{ly['layer'] + 1} | {100 * ly['frac_active']:.0f}% | "
                 f"{ly['a_p50']:.3f} / {ly['a_p99']:.2f} | {100 * ly['frac_a_above_1']:.2f}% | "
                 + " | ".join(cells + ["–"] * (10 - len(cells))) + " |")
    L += ["", f"Accuracy at t = {T} (Wilson 95%) and pairs (A − B, Newcombe 95%, McNemar):", "",
          "| variant | accuracy |", "|---|---|"]
    for k in v:
        p = stats.accuracy(corr[k])
        L.append(f"| {k} | {100 * p.estimate:.2f}% ({100 * p.ci_low:.2f}–"
                 f"{100 * p.ci_high:.2f}) |")
    L += ["", "| A − B | difference (%p) | only A / only B | McNemar p |", "|---|---|---|---|"]
    for a, b in PAIRS:
        if a in corr and b in corr:
            cmp = stats.compare(corr[a], corr[b])
            L.append(f"| {a} − {b} | {100 * cmp.difference:+.2f} ({100 * cmp.ci_low:+.2f} to "
                     f"{100 * cmp.ci_high:+.2f}) | {cmp.a_only} / {cmp.b_only} | "
                     f"{cmp.p_value:.3g} |")
    return L + [""]


def sections(folder: Path) -> list[str]:
    """Every JSON in ``folder``, one section each (none: nothing)."""
    out: list[str] = []
    for p in sorted(folder.glob("*.json")):
        out += _section(json.loads(p.read_text()))
    return out


__all__ = ["sections"]
