"""`nmpkit report`: one self-contained HTML page (figures inline) from a run directory.

Reads the files the pipeline's stages write (see ``nmpkit/app/stages.py``), draws each figure with
matplotlib into an inline PNG, and copies every CSV beside the page. A figure whose data is
missing (a stage not run) is listed as missing, never drawn blank.
"""

from __future__ import annotations

import base64
import html
import io
import json
import shutil
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calib.io import atomic_write_text, provenance  # noqa: E402

FigureFn = Callable[[Path], "plt.Figure | None"]


def _csv(run: Path, rel: str) -> pd.DataFrame | None:
    p = run / rel
    return pd.read_csv(p) if p.is_file() else None


def _json(run: Path, rel: str) -> dict | None:
    p = run / rel
    return json.loads(p.read_text()) if p.is_file() else None


def fig_waveform(run: Path):
    df = _csv(run, "characterize/waveform.csv")
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if "v_dd_volts" in df.columns:  # one transient per V_DD: show the one nearest 1 V
        vdd = min(set(df["v_dd_volts"]), key=lambda v: abs(v - 1.0))
        df = df[df["v_dd_volts"] == vdd]
    t = df["time_seconds"] * 1e6
    ax.plot(t, df["v_mem_volts"], label="membrane V_mem")
    ax.plot(t, df["v_out_volts"], label="spike output", alpha=0.7)
    ax.set(xlabel="time (µs)", ylabel="volts", title="Neuron transient (default design)")
    ax.legend(loc="upper right")
    return fig


def fig_fi(run: Path):
    df = _csv(run, "characterize/fi.csv")
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    df = df[(df["i_exc_amps"] > 0) & (df["rate_hertz"] > 0)]  # log axes: the measured, firing range
    if df.empty:
        return None
    for (vdd, vneg), g in df.groupby(["v_dd_volts", "v_neg_volts"]):
        g = g.sort_values("i_exc_amps")
        ax.plot(g["i_exc_amps"] * 1e9, g["rate_hertz"] / 1e3, marker=".",
                label=f"V_DD={vdd:g} V, V_NEG={vneg:g} V")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(df["i_exc_amps"].min() * 1e9 / 1.2, df["i_exc_amps"].max() * 1e9 * 1.2)
    ax.set(xlabel="excitatory current (nA, log)", ylabel="firing rate (kHz, log)",
           title="f–I curves")
    ax.legend(fontsize=6, ncol=2)
    return fig


def fig_floor(run: Path):
    df = _csv(run, "characterize/floor.csv")
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for vdd, g in df.groupby("v_dd_volts"):
        g = g.groupby("v_neg_volts", as_index=False)["v_mem_min_volts"].min()
        ax.plot(g["v_neg_volts"], g["v_mem_min_volts"], marker="o", label=f"V_DD={vdd:g} V")
    lim = [df["v_neg_volts"].min(), 0]
    ax.plot(lim, lim, "k:", label="V_mem = V_NEG")
    ax.set(xlabel="V_NEG (V)", ylabel="membrane minimum (V)",
           title="Membrane floor under inhibition")
    ax.legend(fontsize=7)
    return fig


def fig_energy(run: Path):
    df = _csv(run, "characterize/energy.csv")
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    keys = [k for k in ("i_exc_amps", "v_neg_volts", "temp_celsius") if k in df]
    for _, g in df.groupby(keys):
        g = g.sort_values("v_dd_volts")
        ax.plot(g["v_dd_volts"], g["e_spike_vdd_joules"] * 1e12, color="0.8", lw=0.6, zorder=1)
    for regime, marker in (("quadratic", "o"), ("crowbar", "x")):
        r = df[df["regime"] == regime]
        if not r.empty:
            ax.scatter(r["v_dd_volts"], r["e_spike_vdd_joules"] * 1e12, marker=marker, s=14,
                       zorder=2, label=f"{regime} regime ({len(r)} points)")
    q = df[df["regime"] == "quadratic"].copy()
    if q["v_dd_volts"].nunique() >= 2:
        # one exponent for all quadratic curves, each with its own prefactor
        q["lx"], q["ly"] = np.log(q["v_dd_volts"]), np.log(q["e_spike_vdd_joules"])
        dm = q.groupby(keys)[["lx", "ly"]].transform(lambda c: c - c.mean())
        if float((dm["lx"] ** 2).sum()) > 0:
            k = float((dm["lx"] * dm["ly"]).sum() / (dm["lx"] ** 2).sum())
            ax.plot([], [], "k--", label=f"pooled fit: E ∝ V_DD^{k:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="V_DD (V)", ylabel="energy per spike from V_DD (pJ)",
           title="Energy per spike vs V_DD (grey: one current/V_NEG each)")
    ax.legend(fontsize=7)
    return fig


def fig_accuracy(run: Path, sub: str = "evaluate"):
    df = _csv(run, f"{sub}/accuracy_per_step.csv")
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    metric = "accuracy" if "accuracy" in df else "mse"
    for cond in ("nmp", "zmp"):
        g = df[df["condition"] == cond]
        if not g.empty:
            ax.plot(g["t"], g[metric] * (100 if metric == "accuracy" else 1), label=cond.upper())
    ann = _json(run, f"{sub}/nmp.json")  # the ANN on the same test images as the SNN
    if ann and metric == "accuracy" and ann.get("ann_accuracy") is not None:
        ax.axhline(100 * ann["ann_accuracy"], color="k", ls=":", label="ANN (same images)")
    ax.set(xlabel="timestep t", ylabel="accuracy (%)" if metric == "accuracy" else "MSE",
           title="SNN accuracy vs time: NMP vs ZMP")
    if metric == "accuracy":
        top = df[metric].max() * 100
        ax.set_ylim(max(0, top - 30), min(100, top + 2))
    ax.legend()
    return fig


def fig_correlation(run: Path, sub: str = "evaluate"):
    df = _csv(run, f"{sub}/correlation.csv")
    if df is None or df.empty:
        return None
    conds = [c for c in ("nmp", "zmp") if c in set(df["condition"])]
    fig, axes = plt.subplots(1, len(conds), figsize=(4 * len(conds), 3.8), squeeze=False)
    for ax, cond in zip(axes[0], conds, strict=True):
        g = df[df["condition"] == cond]
        for layer, gl in g.groupby("layer"):
            ax.scatter(gl["ann_activation"], gl["snn_rate"], s=2, alpha=0.4, label=str(layer))
        hi = float(max(g["ann_activation"].max(), g["snn_rate"].max(), 1e-3))
        ax.plot([0, hi], [0, hi], "k:")
        ax.set(xlabel="ANN activation (normalized)", ylabel="SNN rate (spikes/step)",
               title=f"{cond.upper()}: ANN vs SNN")
        ax.legend(fontsize=6, markerscale=4)
    return fig


def fig_floors(run: Path, sub: str = "evaluate"):
    df = _csv(run, f"{sub}/floors.csv")
    if df is None or df.empty:
        return None
    d = df[df["lower_bound"].notna()].sort_values("lower_bound")
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    col = "final_accuracy" if "final_accuracy" in d else "final_mse"
    ax.plot(d["lower_bound"], d[col] * (100 if "accuracy" in col else 1), "o-",
            label="finite floor")
    nmp = df[df["lower_bound"].isna()]
    if not nmp.empty:
        ax.axhline(float(nmp[col].iloc[0]) * (100 if "accuracy" in col else 1), color="g",
                   ls="--", label="NMP (no floor)")
    ax.set(xlabel="membrane floor (threshold units)",
           ylabel="final accuracy (%)" if "accuracy" in col else "final MSE",
           title="Floor sweep")
    ax.legend()
    return fig


def fig_pareto(run: Path):
    from nmpkit.report.answer import tradeoff_result
    from nmpkit.studies.tradeoff_io import curves_figure

    res = tradeoff_result(run)
    if res is None:
        return None
    df = res.frame()
    if df.empty or "condition" not in df:
        return None
    return curves_figure(df, res.recommendation())


def fig_modulation(run: Path):
    df = _csv(run, "modulate/modulation.csv")
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for col, label in (("accuracy_ideal", "ideal weights"),
                       ("accuracy_before", "with variation"),
                       ("accuracy_after", "after weight modulation")):
        if col in df:
            ax.plot(df["sigma"] * 100, df[col] * 100, "o-", label=label)
    ax.set(xlabel="device variation σ (%)", ylabel="accuracy (%)",
           title="Variation before/after modulation")
    ax.legend()
    return fig


def fig_cosim(run: Path):
    df = _csv(run, "cosim_check/counts.csv")
    if df is None or df.empty:
        return None
    vnegs = sorted(df["v_neg_volts"].unique())
    fig, axes = plt.subplots(1, len(vnegs), figsize=(4.2 * len(vnegs), 3.8), squeeze=False)
    for ax, v in zip(axes[0], vnegs, strict=True):
        g = df[df["v_neg_volts"] == v]
        ax.scatter(g["count_spice"], g["count_calibrated"], s=12, label="calibrated cosim")
        ax.scatter(g["count_spice"], g["count_ideal"], s=12, marker="x", label="ideal IF")
        hi = float(max(g[["count_spice", "count_calibrated", "count_ideal"]].max().max(), 1))
        ax.plot([0, hi], [0, hi], "k:")
        ax.set(xlabel="spike count, ngspice", ylabel="spike count, cosim",
               title=f"Co-simulation, V_NEG={v:g} V")
        ax.legend(fontsize=7)
    return fig


FIGURES: tuple[tuple[str, str, FigureFn], ...] = (
    ("pareto", "Accuracy vs energy per inference, one curve per floor, the latency budget T "
     "along each curve (bars: Wilson 95% intervals; dotted: NMP at each T). Read: the cheapest "
     "curve that reaches NMP's line at your T; a floor whose bars overlap NMP's is not shown "
     "worse by these images.", fig_pareto),
    ("accuracy", "Accuracy vs time, NMP and ZMP. Read: how many steps each needs to converge "
     "(the latency a floor buys or costs).", fig_accuracy),
    ("floors", "Accuracy vs membrane floor at the evaluation's T. Read: how deep a floor must be "
     "before accuracy meets NMP's line.", fig_floors),
    ("waveform", "The neuron's transient: membrane and spike output. Read: the membrane ramps "
     "to threshold, spikes and resets by one charge packet.", fig_waveform),
    ("fi", "Firing rate vs excitatory current (f–I), log axes over the measured range. Read: "
     "the linear (slope-1) range the conversion relies on and where the rate saturates.",
     fig_fi),
    ("floor", "Membrane floor vs negative supply. Read: the V_NEG that reaches a given floor "
     "(points on the dotted line: the floor follows V_NEG).", fig_floor),
    ("energy", "Energy per spike vs V_DD, with the V_DD-law fit. Read: the exponent of the "
     "quadratic regime and where the crowbar regime begins.", fig_energy),
    ("correlation", "Correlation: ANN activation vs SNN firing rate. Read: points off the "
     "diagonal are neurons the floor (or its absence) distorts.", fig_correlation),
    ("modulation", "Device variation before and after weight modulation. Read: how much "
     "accuracy the closed loop recovers at each σ.", fig_modulation),
    ("cosim", "Co-simulation agreement: ngspice network vs calibrated cosim. Read: points on "
     "the diagonal mean the calibrated model counts the circuit's spikes.", fig_cosim),
)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


_CHECK_JS = """
window.addEventListener('load', () => {
  const imgs = Array.from(document.querySelectorAll('img.figure'));
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0));
  document.title = 'nmpkit report: ' + (imgs.length - bad.length) + '/' + imgs.length + ' figures';
  document.body.dataset.figuresOk = String(bad.length === 0);
});
"""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (and the run's CSVs beside it) for ``run_dir``; return its path."""
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"run directory {str(run)!r} does not exist")
    out_dir = Path(out) if out else run / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    missing: list[str] = []
    from nmpkit.report.extras import extra_figures

    drawn = [(key, caption, lambda fn=fn: fn(run)) for key, caption, fn in FIGURES]
    for key, caption, fig_fn in drawn + extra_figures(run):
        fig = fig_fn()
        if fig is None:
            missing.append(caption)
            continue
        fid, alt = html.escape(key, quote=True), html.escape(caption, quote=True)
        parts.append(f'<figure id="{fid}"><img class="figure" alt="{alt}" '
                     f'src="data:image/png;base64,{_png(fig)}"><figcaption>'
                     f"{html.escape(caption)}</figcaption></figure>")
    csv_links = []
    for csv in sorted(run.glob("*/*.csv")):
        if csv.parent == out_dir or csv.parent.name in ("report", "cache"):
            continue
        dest = out_dir / f"{csv.parent.name}__{csv.name}"
        shutil.copyfile(csv, dest)
        href = html.escape(urllib.parse.quote(dest.name), quote=True)
        csv_links.append(f'<li><a href="{href}">{html.escape(dest.name)}</a></li>')
    from nmpkit.report.answer import answer_html, later_sections_html, stage_table_html
    from nmpkit.report.calibration import calibration_html
    from nmpkit.report.extras import networks_answer_html, presets_html
    from nmpkit.report.zmp_rule import zmp_rule_html

    rec_html = (networks_answer_html(run) + zmp_rule_html(run) + answer_html(run)
                + later_sections_html(run) + presets_html(run) + calibration_html(run))
    miss = "".join(f"<li>{html.escape(m)}</li>" for m in missing)
    prov = html.escape(json.dumps(provenance(run_dir=str(run.resolve())), indent=1))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nmpkit report</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 90%; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }}
td.num {{ text-align: right; white-space: nowrap; }} .small {{ font-size: 85%; color: #555; }}
.rec {{ background: #eef6ee; padding: .6em; font-size: 110%; }}
.unresolved {{ background: #fbeee6; }} .rule {{ background: #f4f4f8; padding: .5em; }}
figcaption {{ font-size: 90%; color: #333; }} pre {{ font-size: 75%; background: #f6f6f6; }}
</style></head><body>
<h1>nmpkit report</h1>
{rec_html}
<p class="small">How deep must the membrane floor be, and what does the negative supply
cost? Circuit
characterization (ngspice), calibration, converted-network accuracy (NMP vs ZMP and finite
floors), energy, device variation and the co-simulation check of run
<code>{html.escape(str(run.resolve()))}</code>.</p>
<h2>Stages</h2>{stage_table_html(run)}
<h2>Figures</h2>
{''.join(parts)}
{'<h2>Not in this run</h2><ul>' + miss + '</ul>' if missing else ''}
<h2>Data</h2><ul>{''.join(csv_links)}</ul>
<h2>Provenance</h2><pre>{prov}</pre>
<script>{_CHECK_JS}</script>
</body></html>
"""
    return atomic_write_text(out_dir / "report.html", page)
