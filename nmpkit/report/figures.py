"""The report's figures: one function per figure, ``run directory -> matplotlib Figure | None``
(None: its data are not in this run), and `FIGURES`, their order with a caption each.

Every figure reads its data through `nmpkit.report.results` (the studies' own ``XResult.load``,
the circuit tables by kind), never by a result's file name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nmpkit.report import results  # noqa: E402

FigureFn = Callable[[Path], "plt.Figure | None"]


def fig_waveform(run: Path):
    df = results.table(run, "waveform")
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
    df = results.table(run, "fi")
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
    df = results.table(run, "floor")
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
    df = results.table(run, "energy")
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
    sw = results.sweep(run / sub)
    df = None if sw is None else sw.curves
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    metric = "accuracy" if "accuracy" in df else "mse"
    for cond in ("nmp", "zmp"):
        g = df[df["condition"] == cond]
        if not g.empty:
            ax.plot(g["t"], g[metric] * (100 if metric == "accuracy" else 1), label=cond.upper())
    ann = sw.summary("nmp")  # the ANN on the same test images as the SNN
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
    sw = results.sweep(run / sub)
    df = None if sw is None else sw.correlation
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
    sw = results.sweep(run / sub)
    df = None if sw is None else sw.finals
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
    from nmpkit.studies.tradeoff_io import curves_figure

    res = results.tradeoff(run / "tradeoff")
    if res is None:
        return None
    df = res.frame()
    if df.empty or "condition" not in df:
        return None
    return curves_figure(df, res.recommendation())


def fig_modulation(run: Path):
    res = results.modulation(run)
    df = None if res is None else pd.DataFrame(res.per_sigma())
    if df is None or df.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for col, label in (("accuracy_ideal", "ideal weights"),
                       ("accuracy_before", "with variation"),
                       ("accuracy_after", "after weight modulation")):
        if col not in df:
            continue
        if f"{col}_ci_low" in df:  # Wilson 95% bars (records from this version on)
            err = [(df[col] - df[f"{col}_ci_low"]) * 100, (df[f"{col}_ci_high"] - df[col]) * 100]
            ax.errorbar(df["sigma"] * 100, df[col] * 100, yerr=err, fmt="o-", capsize=3,
                        label=label)
        else:
            ax.plot(df["sigma"] * 100, df[col] * 100, "o-", label=label)
    n = f", n = {int(df['samples'].iloc[0]):,} images" if "samples" in df else ""
    ax.set(xlabel="device variation σ (%)", ylabel="accuracy (%)",
           title=f"Variation before/after modulation{n}")
    ax.legend()
    return fig


def fig_cosim(run: Path):
    res = results.cosim_check(run)
    df = None if res is None else pd.DataFrame(res.counts)
    if df is None or df.empty:
        return None
    vnegs = sorted(df["v_neg_volts"].unique())
    fig, axes = plt.subplots(1, len(vnegs), figsize=(4.2 * len(vnegs), 3.8), squeeze=False)
    for ax, v in zip(axes[0], vnegs, strict=True):
        g = df[df["v_neg_volts"] == v]
        ax.scatter(g["count_spice"], g["count_calibrated"], s=12, label="calibrated, step model")
        cols = ["count_spice", "count_calibrated", "count_ideal"]
        if "count_substep" in g:  # results before the sub-stepped model have no such column
            ax.scatter(g["count_spice"], g["count_substep"], s=12, marker="^",
                       label="calibrated, sub-stepped (gated)")
            cols.append("count_substep")
        ax.scatter(g["count_spice"], g["count_ideal"], s=12, marker="x", label="ideal IF")
        hi = float(max(g[cols].max().max(), 1))
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
    ("modulation", "Device variation before and after weight modulation (bars: Wilson 95% "
     "intervals; the paired gain, its interval and McNemar p are in the stage table and "
     "modulation.csv). Read: how much accuracy the closed loop recovers at each σ.",
     fig_modulation),
    ("cosim", "Co-simulation agreement: ngspice network vs calibrated cosim, on the step grid "
     "and sub-stepped (the gated model). Read: points on the diagonal mean the calibrated "
     "model counts the circuit's spikes.", fig_cosim),
)


__all__ = ["FIGURES", "FigureFn", "fig_accuracy", "fig_correlation", "fig_cosim", "fig_energy",
           "fig_fi", "fig_floor", "fig_floors", "fig_modulation", "fig_pareto", "fig_waveform"]
