"""The ZMP factor study's report: tables from the per-network records, the rule's fit and test.

Input: the ``record.json`` of each network written by ``results/what_makes_zmp_hurt.py``.
Output: ``results/what_makes_zmp_hurt.md`` and the fitted default rule (``zmp_rule_fit.py``).
The rule (the diffusion surrogate) has one free number, κ, chosen on the networks whose role
is "fit"; every other candidate statistic gets a least-squares line on the same nets; all are
judged on the "test" nets only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from scipy import stats as st

from calib.io import atomic_write_text
from nmpkit.studies.zmp_rule import ZmpRule, fit_rule

Record = dict


def _sum_rel(values: Sequence[float], rates: Sequence[float]) -> float:
    return float(sum(v / r for v, r in zip(values[1:], rates[1:], strict=True) if r > 0))


CANDIDATES: dict[str, tuple[str, Callable[[Record], float]]] = {
    "score": ("Σ_l≥1 cancelled drive / rate (ANN only: `zmp_score`)", lambda r: r["score"]),
    "cancelled": ("Σ_l≥1 cancelled drive, θ/step (ANN only)",
                  lambda r: sum(d["cancelled"] for d in r["drive"])),
    "excited_negative": ("Σ_l≥1 fraction of neurons with 0 < P < N (ANN only)",
                         lambda r: sum(d["negative_but_excited"] for d in r["drive"])),
    "discard": ("Σ_l≥1 discarded charge / rate, ZMP at short T (simulated)",
                lambda r: _sum_rel(r["short_run"]["zmp"]["floor_charge"],
                                   r["short_run"]["zmp"]["layer_rates"])),
    "excess": ("Σ_l≥1 (ZMP − NMP rate) / NMP rate at short T (simulated)",
               lambda r: _sum_rel([z - n for z, n in zip(r["short_run"]["zmp"]["layer_rates"],
                                                         r["short_run"]["nmp"]["layer_rates"],
                                                         strict=True)],
                                  r["short_run"]["nmp"]["layer_rates"])),
    "depth": ("number of spiking layers", lambda r: float(len(r["layers"]))),
}


def _pp(x: float) -> str:
    return f"{100 * x:+.2f}"


def _acc(a: dict) -> str:
    return f"{100 * a['estimate']:.2f} ({100 * a['ci_low']:.1f}–{100 * a['ci_high']:.1f})"


def _diff(c: dict) -> str:
    return (f"{_pp(c['difference'])} ({_pp(c['ci_low'])}…{_pp(c['ci_high'])}) "
            f"{c['a_only']}/{c['b_only']}, p={c['p_value']:.2g}")


def loss(r: Record, t: int) -> float:
    return float(r["nmp_minus_zmp"][str(t)]["difference"])


def main_table(recs: Sequence[Record]) -> list[str]:
    out = ["| net | factor | role | ANN % (95% CI) | NMP T=100 | ZMP T=100 | NMP − ZMP T=100 "
           "%p (95% CI) flips NMP/ZMP, McNemar p | NMP T=300 | ZMP T=300 | NMP − ZMP T=300 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        a, c = r["accuracy"], r["nmp_minus_zmp"]
        out.append(f"| {r['name']} | {r['factor']} | {r['role']} | {_acc(r['ann'])} | "
                   f"{_acc(a['nmp']['100'])} | {_acc(a['zmp']['100'])} | {_diff(c['100'])} | "
                   f"{_acc(a['nmp']['300'])} | {_acc(a['zmp']['300'])} | {_diff(c['300'])} |")
    return out


def diag_table(recs: Sequence[Record]) -> list[str]:
    def fmt(v: Sequence[float], scale: float = 1.0) -> str:
        return " / ".join(f"{scale * x:.3f}" for x in v)

    out = ["| net | discarded charge, θ/neuron/step (ZMP, short T), per layer | fraction at the "
           "floor (short T) | rate NMP → ZMP, spikes/step, last hidden + output | cancelled "
           "drive / rate per layer (ANN) | score |", "|---|---|---|---|---|---|"]
    for r in recs:
        s = r["short_run"]
        zn, nn_ = s["zmp"]["layer_rates"], s["nmp"]["layer_rates"]
        rates = f"{nn_[-2]:.3f} → {zn[-2]:.3f}; {nn_[-1]:.3f} → {zn[-1]:.3f}"
        out.append(f"| {r['name']} | {fmt(s['zmp']['floor_charge'])} | "
                   f"{fmt(s['zmp']['floor_hit_fraction'])} | {rates} | "
                   f"{fmt([d['relative'] for d in r['drive']])} | {r['score']:.2f} |")
    return out


def _line_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(slope), float(intercept)


def rule_section(recs: Sequence[Record], t: int) -> tuple[list[str], ZmpRule | None]:
    fit = [r for r in recs if r["role"] == "fit"]
    test = [r for r in recs if r["role"] == "test"]
    if len(fit) < 3:
        return [f"\n(only {len(fit)} fit nets: no rule yet)"], None
    y_fit = [loss(r, t) for r in fit]
    meas = [loss(r, t) for r in test]
    rule = fit_rule([r["surrogate"]["loss"] for r in fit], y_fit, [r["name"] for r in fit], t,
                    tuple(fit[0]["surrogate"]["kappa"]))
    k = fit[0]["surrogate"]["kappa"].index(rule.kappa)

    def covered(r: Record, p: float) -> bool:
        c = r["nmp_minus_zmp"][str(t)]
        return c["ci_low"] <= p <= c["ci_high"]

    out = [f"\n### T = {t}: fitted on {len(fit)} nets ({', '.join(rule.fitted_on)}), tested on "
           f"{len(test)}\n",
           "| statistic | Pearson r (fit nets) | mean abs. error on test nets (%p) | Spearman ρ "
           "on test nets | test nets whose measured 95% CI covers the prediction |",
           "|---|---|---|---|---|"]
    sur = [r["surrogate"]["loss"][k] for r in test]
    rows = [("**diffusion surrogate, κ = " + f"{rule.kappa:g}** (the rule)",
             [r["surrogate"]["loss"][k] for r in fit], sur, None)]
    for key, (label, f) in CANDIDATES.items():
        xs = [f(r) for r in fit]
        if np.ptp(xs) > 0:
            rows.append((label, xs, [f(r) for r in test], _line_fit(xs, y_fit)))
    for label, xs, xt, line in rows:
        pred = xt if line is None else [max(0.0, line[0] * v + line[1]) for v in xt]
        cov = sum(covered(r, p) for r, p in zip(test, pred, strict=True))
        rho = st.spearmanr(pred, meas).statistic if len(test) > 2 else float("nan")
        mae = float(np.mean(np.abs(np.subtract(pred, meas)))) if test else float("nan")
        out.append(f"| {label} | {st.pearsonr(xs, y_fit).statistic:.2f} | {100 * mae:.1f} | "
                   f"{rho:.2f} | {cov} / {len(test)} |")
    out += ["\n(other statistics: a least-squares line on the fit nets; the surrogate is used "
            "as it is, only κ fitted)\n",
            "| net | role | predicted NMP − ZMP %p | measured %p (95% CI) | inside CI |",
            "|---|---|---|---|---|"]
    for r in recs:
        p, c = r["surrogate"]["loss"][k], r["nmp_minus_zmp"][str(t)]
        out.append(f"| {r['name']} | {r['role']} | {100 * p:.1f} | {_pp(c['difference'])} "
                   f"({_pp(c['ci_low'])}…{_pp(c['ci_high'])}) | "
                   f"{'yes' if covered(r, p) else 'no'} |")
    return out, rule


def rule_module(rule: ZmpRule, run: Path) -> str:
    """The source of ``zmp_rule_fit.py``: the fit as plain data (``FITTED``, the fields of
    `ZmpRule`), which `nmpkit.studies.zmp_rule` turns into ``DEFAULT_RULE``."""
    return (f'"""The rule\'s fitted κ (written by ``results/what_makes_zmp_hurt.py``; do not '
            f'edit by hand).\n\nFitted at T = {rule.timesteps} on {len(rule.fitted_on)} nets of '
            f'the ZMP factor study\n(results/what_makes_zmp_hurt.md, run {run.name}/):\n'
            f'{", ".join(rule.fitted_on)}.\n`nmpkit.studies.zmp_rule.DEFAULT_RULE` is '
            f'``ZmpRule(**FITTED)``.\n"""\n\nFITTED = {{"kappa": {rule.kappa!r}, '
            f'"timesteps": {rule.timesteps}, "residual_sd": {rule.residual_sd!r},\n'
            f'          "fitted_on": ('
            + "".join(f"\n              {n!r}," for n in rule.fitted_on)
            + ')}\n\n__all__ = ["FITTED"]\n')


def write_report(recs: Sequence[Record], run: Path, md: Path, rule_py: Path,
                 header: str = "", findings: str = "") -> None:
    if not recs:
        raise ValueError(f"no network records in {run}: run the study first")
    n = sorted({r["images"] for r in recs})
    lines = [header or "# What makes ZMP hurt (issue 11 §1)\n", findings,
             f"\n## Accuracy (first {', '.join(map(str, n))} Fashion-MNIST test images, the "
             "same images for every condition; % with Wilson 95% CI; NMP − ZMP with Newcombe's "
             "paired 95% CI, images only NMP / only ZMP gets right, McNemar exact p)\n",
             *main_table(recs),
             "\n## Per-layer diagnostics (layers input side first, output last)\n",
             *diag_table(recs), "\n## The rule: fit on some nets, test on the others"]
    rule = None
    for t in (300, 100):
        sec, r = rule_section(recs, t)
        lines += sec
        rule = r if t == 300 else rule
    atomic_write_text(md, "\n".join(lines) + "\n")
    if rule is not None:
        atomic_write_text(rule_py, rule_module(rule, run))


# ----- the rule's line in every run's report ----------------------------------------------------

RULE_SAMPLES = 500
"""Test images the report's rule check runs the surrogate on (the first of those evaluated)."""


def _weights_path(run: Path, summary: dict) -> Path | None:
    """The evaluation's weights file, as recorded (relative to the cwd of the run) or found again
    under ``run`` (the run folder moved), accepted only if its sha256 matches the record."""
    from calib.io import file_digest

    rec = Path(str(summary.get("weights", "")))
    cands = [rec, run.parent / rec]
    if run.name in rec.parts:
        cands.append(run.joinpath(*rec.parts[rec.parts.index(run.name) + 1:]))
    for c in cands:
        if c.is_file() and file_digest(c) == summary.get("weights_sha256"):
            return c
    return None


def measured_loss(evaluate_dir: Path, timesteps: int) -> dict | None:
    """The run's own NMP − ZMP row of ``comparisons.csv`` at ``timesteps``, else at the run's
    latency nearest to it (the longer of two equally near)."""
    import pandas as pd

    p = evaluate_dir / "comparisons.csv"
    if not p.is_file():
        return None
    df = pd.read_csv(p)
    z = df[df["condition"] == "zmp"] if "condition" in df else df.iloc[0:0]
    if z.empty:
        return None
    ts = z["timesteps"].astype(int)
    nearest = min(ts.unique(), key=lambda t: (abs(int(t) - timesteps), -int(t)))
    return dict(z[ts == nearest].iloc[0])


def rule_line(run: Path, name: str, evaluate_dir: Path, samples: int = RULE_SAMPLES
              ) -> str | None:
    """"<name>: this network's predicted ZMP loss …, measured …" for one evaluated classifier of
    ``run``: the rule (``predict_zmp_loss``, the study's κ) on the run's own converted net (its
    weights, data and normalization settings, as recorded in ``nmp.json``) and the run's own
    paired NMP − ZMP comparison. None when the network is not a classifier or its weights or data
    cannot be found again."""
    import json

    from nmpkit.ml.data import load_dataset, to_tensor
    from nmpkit.ml.train import load_weights
    from nmpkit.ml.zoo import get_network
    from nmpkit.studies.evaluate_parts import EvalConfig, convert_normalized
    from nmpkit.studies.zmp_rule import predict_zmp_loss

    try:
        summ = json.loads((evaluate_dir / "nmp.json").read_text())
    except (OSError, ValueError):
        return None
    if summ.get("metric") != "accuracy":
        return None
    weights = _weights_path(run, summ)
    src = Path(str(summ.get("data_source", "")))
    if weights is None or not src.exists():
        return f"{name}: ZMP rule not checked (weights or data of the evaluation not found)"
    spec = get_network(str(summ["network"]))
    cfg = summ.get("config", {})
    sim = EvalConfig(timesteps=int(summ["timesteps"]), lower_bound=None,
                     percentile=float(cfg.get("percentile", 99.99)),
                     calibration_samples=int(cfg.get("calibration_samples", 1000)))
    mean, std = spec.norm_for(str(summ["dataset"]))
    data = load_dataset(str(summ["dataset"]), src)
    n = min(int(samples), int(summ["samples"]))
    net = convert_normalized(load_weights(spec, weights),
                             to_tensor(data.x_train[: sim.calibration_samples], mean, std), sim)
    pred = predict_zmp_loss(net, to_tensor(data.x_test[:n], mean, std),
                            data.y_test[:n].astype("int64"))
    evaluated = int(summ["samples"])
    on = (f"the rule on all {n:,} evaluated test images" if n == evaluated
          else f"the rule on the first {n:,} of its {evaluated:,} evaluated test images")
    text = f"{name} ({on}): {pred.line()}"
    m = measured_loss(evaluate_dir, pred.rule.timesteps)
    if m is None:
        return text + "; measured: no NMP − ZMP comparison in this run"
    t_meas = int(m["timesteps"])
    lo, hi = float(m["diff_ci_low"]), float(m["diff_ci_high"])
    where = ("inside" if lo <= pred.predicted_loss <= hi
             else "below" if pred.predicted_loss < lo else "above")
    latency = ("" if t_meas == pred.rule.timesteps else
               f" (the rule is fitted at T = {pred.rule.timesteps}, which this run did not "
               f"simulate; T = {t_meas} is its measurement nearest to it)")
    return (text + f"; measured at T = {t_meas}: {100 * float(m['nmp_minus']):+.2f} %p "
            f"(95% CI {100 * lo:+.2f} to {100 * hi:+.2f} %p, n = {int(m['samples']):,}, "
            f"McNemar p = {float(m['p_vs_nmp']):.2g}){latency}; the prediction is {where} the "
            "measured interval")


__all__ = ["CANDIDATES", "RULE_SAMPLES", "loss", "measured_loss", "rule_line", "write_report"]
