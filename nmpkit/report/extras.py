"""The report's per-network parts: one answer per network, every network's evaluation figures,
the per-layer floor diagnostic and the two presets side by side.

A run with several networks has ``evaluate/`` (the first) and ``evaluate-<name>/`` (the others),
``tradeoff/`` and ``tradeoff-<name>/`` for those with a trade-off; per-layer searches sit in
``layers/`` or ``layers-<name>/`` (``nmpkit layers --out``), optimizer studies in ``optimize/``
or ``optimize-<name>/``. Evaluations and trade-offs are read through their studies' results
per-layer searches and optimizer studies through their studies' results (`nmpkit.report.results`).
Everything here is drawn or stated only where its data exist.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nmpkit.report import results  # noqa: E402

DEFAULT_TOLERANCE = 0.005


def _dirs(run: Path, stem: str) -> list[Path]:
    """``stem/`` first, then ``stem-*/`` sorted."""
    first = [run / stem] if (run / stem).is_dir() else []
    return first + sorted(p for p in run.glob(f"{stem}-*") if p.is_dir())


def _recorded_network(d: Path, stem: str) -> str | None:
    """The network a stage folder's result names (None: it names none)."""
    if stem == "evaluate":
        if (sw := results.sweep(d)) is not None:
            return sw.network()
        nmp = results.evaluation(d, "nmp")  # a folder of conditions without the sweep's tables
        return None if nmp is None else nmp.summary.get("network")
    if stem == "tradeoff":
        res = results.tradeoff(d)
        return None if res is None else res.record.get("network")
    if stem == "layers":
        lay = results.layers(d)
        return None if lay is None else lay.summary.get("network")
    if stem == "optimize":
        opt = results.optimize(d)
        return None if opt is None else (opt.summary.get("classifier") or {}).get("network")
    return None


def network_of(d: Path, stem: str) -> str:
    """The network of stage folder ``d``: as its result records it, else from the folder name."""
    if name := _recorded_network(d, stem):
        return str(name)
    return d.name[len(stem) + 1:] if d.name.startswith(stem + "-") else d.name


def networks(run: Path) -> dict[str, dict[str, Path]]:
    """network -> {"evaluate", "tradeoff", "layers", "optimize": its folder}, in run order."""
    out: dict[str, dict[str, Path]] = {}
    for stem in ("evaluate", "tradeoff", "layers", "optimize"):
        for d in _dirs(run, stem):
            out.setdefault(network_of(d, stem), {}).setdefault(stem, d)
    return out


def evaluate_sentence(name: str, d: Path, tolerance: float) -> str | None:
    """The answer from the evaluation's paired comparisons at its largest T: how ZMP fares and
    the shallowest floor shown within ``tolerance`` of NMP at 95% confidence."""
    sw = results.sweep(d)
    df = None if sw is None else sw.comparisons
    if df is None or df.empty or "diff_ci_high" not in df:
        return None
    t = int(df["timesteps"].max())
    g = df[(df["timesteps"] == t) & (df["condition"] != "nmp")].copy()
    if g.empty:
        return None
    g["floor"] = [0.0 if c == "zmp" else float(str(c).removeprefix("floor")) if
                  str(c).startswith("floor") else np.nan for c in g["condition"]]
    n = int(g["samples"].iloc[0])
    head = f"{name} (n = {n:,} test images, T = {t}, ideal IF neuron, no energy priced): "
    z = g[g["condition"] == "zmp"]
    zs = ""
    if not z.empty:
        r = z.iloc[0]
        zs = (f"NMP − ZMP = {100 * r['nmp_minus']:+.2f} %p (95% CI {100 * r['diff_ci_low']:+.2f}"
              f" to {100 * r['diff_ci_high']:+.2f} %p; images only NMP / only ZMP gets right "
              f"{int(r['only_nmp_right'])}/"
              f"{int(r['only_this_right'])}, McNemar p = {r['p_vs_nmp']:.2g})")
    ok = g[(g["diff_ci_high"] <= tolerance) & g["floor"].notna()].sort_values(
        "floor", ascending=False)
    if ok.empty:
        tail = (f"; no tested floor is shown within {100 * tolerance:g} %p of NMP at 95% "
                "confidence by these images")
    else:
        r = ok.iloc[0]
        what = "ZMP itself" if r["floor"] == 0 else f"a floor of {r['floor']:g} θ"
        tail = (f"; the shallowest floor within {100 * tolerance:g} %p of NMP at 95% confidence"
                f" is {what} (accuracy {100 * r['accuracy']:.2f}%, 95% CI "
                f"{100 * r['accuracy_ci_low']:.2f}–{100 * r['accuracy_ci_high']:.2f}%; drop "
                f"{100 * r['nmp_minus']:+.2f} %p, CI up to {100 * r['diff_ci_high']:+.2f} %p)")
        if r["floor"] == 0:
            tail += ": the floor does not matter here"
    return head + zs + tail + "."


def networks_answer_html(run: Path) -> str:
    """First screen: one sentence per network, with its interval."""
    nets = networks(run)
    if len(nets) == 0:
        return ""
    items = []
    recs = {name: (None if "tradeoff" not in dirs or (res := results.tradeoff(dirs["tradeoff"]))
                   is None else res.recommendation()) for name, dirs in nets.items()}
    # a network without a trade-off is judged at the run's trade-off tolerance (the first found)
    run_tol = next((float(r["tolerance"]) for r in recs.values()
                    if isinstance(r, dict) and r.get("tolerance")), DEFAULT_TOLERANCE)
    for name, dirs in nets.items():
        rec = recs[name]
        tol = float((rec or {}).get("tolerance") or run_tol)
        if isinstance(rec, dict) and rec.get("text"):
            text = f"{name} (trade-off, circuit neuron, priced): {rec['text']}"
        elif "evaluate" in dirs:
            text = evaluate_sentence(name, dirs["evaluate"], tol)
        else:
            text = None
        if text:
            items.append(f"<li>{html.escape(text)}</li>")
    if not items:
        return ""
    return ("<div class='rec'><b>Answer per network.</b><ul>" + "".join(items) + "</ul></div>")


def fig_layers(run: Path):
    """Per layer: discarded charge ε and the fraction of neurons at the floor (per-layer search),
    beside the ANN–SNN correlation deviation (evaluation), one row per network."""
    nets = [(n, d, lay) for n, d in networks(run).items() if "layers" in d
            and (lay := results.layers(d["layers"])) is not None and lay.rows]
    if not nets:
        return None
    fig, axes = plt.subplots(len(nets), 3, figsize=(12, 3.4 * len(nets)), squeeze=False)
    for row, (name, dirs, lay) in zip(axes, nets, strict=True):
        df = lay.frame()
        if "layer_index" not in df:
            df["layer_index"] = df.groupby("config").cumcount()
        for k, (col, label) in enumerate((("discarded_theta_per_neuron_step",
                                          "discarded charge ε (θ/neuron/step)"),
                                         ("hit_fraction", "neurons at the floor (fraction)"))):
            ax = row[k]
            configs = list(dict.fromkeys(df["config"]))
            w = 0.8 / max(len(configs), 1)
            for j, cfg in enumerate(configs):
                g = df[df["config"] == cfg].sort_values("layer_index")
                ax.bar(g["layer_index"] + (j - (len(configs) - 1) / 2) * w, g[col], width=w,
                       label=cfg)
            ticks = df.drop_duplicates("layer_index").sort_values("layer_index")
            ax.set_xticks(ticks["layer_index"], ticks["layer"].astype(str))
            ax.set(xlabel="spiking layer", ylabel=label, title=f"{name}: {label.split(' (')[0]}")
            ax.legend(fontsize=7)
        ax = row[2]
        sw = results.sweep(dirs["evaluate"]) if "evaluate" in dirs else None
        c = None if sw is None else sw.correlation
        lay_ds = lay.summary.get("dataset")
        ev_ds = (sw.summary("nmp") or {}).get("dataset") if sw is not None else None
        if lay_ds and ev_ds and lay_ds != ev_ds:
            c = None  # another data set: its deviation would not belong beside this search
        if c is not None:
            c = c.copy()
            c["dev2"] = (c["snn_rate"] - c["ann_activation"]) ** 2
            for cond, g in c.groupby("condition"):
                rms = g.groupby("layer")["dev2"].mean() ** 0.5
                ax.plot(rms.index, rms.values, "o-", label=str(cond).upper())
            ax.set(xlabel="spiking layer (index)", ylabel="RMS(SNN rate − ANN act.)",
                   title=f"{name}: correlation deviation ({ev_ds or 'evaluation'})")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no evaluation correlation data\nfor this network and data set",
                    ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
    return fig


def preset_frame(run: Path) -> pd.DataFrame:
    """Every source with the preset as a dimension (`nmpkit.studies.tradeoff_presets`)."""
    from nmpkit.studies import tradeoff_presets as tp

    frames = []
    for d in _dirs(run, "optimize"):
        opt = results.optimize(d)
        if opt is not None and opt.rows and (t := opt.timesteps()):
            frames.append(tp.from_optimize(opt.frame(), t))
    tr = [res.frame() for d in _dirs(run, "tradeoff") if (res := results.tradeoff(d))]
    if tr:
        t = pd.concat(tr, ignore_index=True)
        if "preset" in t and t["preset"].nunique() >= 2:
            frames.append(tp.from_tradeoff(t))
    frames = [f for f in frames if not f.empty and f["preset"].nunique() >= 2]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fig_presets(run: Path):
    """Energy vs accuracy of every design, one colour per preset, feasible ones filled."""
    df = preset_frame(run)
    if df.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = {p: f"C{i}" for i, p in enumerate(sorted(df["preset"].unique()))}
    for (preset, src), g in df.groupby(["preset", "source"]):
        for feas, marker in ((True, "o"), (False, "x")):
            h = g[g["feasible"] == feas]
            if h.empty:
                continue
            lo = (h["accuracy"] - h["accuracy_ci_low"]).fillna(0).clip(lower=0)
            hi = (h["accuracy_ci_high"] - h["accuracy"]).fillna(0).clip(lower=0)
            ax.errorbar(h["energy_joules"] * 1e9, 100 * h["accuracy"],
                        yerr=[100 * lo, 100 * hi], fmt=marker, ms=6, capsize=2, alpha=0.8,
                        color=colours[preset],
                        label=f"{preset} ({src}; {'meets' if feas else 'misses'} the target)")
    ax.set_xscale("log")
    ax.set(xlabel="energy per inference (nJ, log)", ylabel="accuracy (%)",
           title="The two presets: energy vs accuracy per design")
    ax.legend(fontsize=7)
    return fig


def presets_html(run: Path) -> str:
    from nmpkit.studies import tradeoff_presets as tp

    df = preset_frame(run)
    if df.empty:
        return ""
    lines = tp.sentences(tp.cheapest(df))
    return ("<h2>The two presets side by side</h2><ul>"
            + "".join(f"<li>{html.escape(s)}</li>" for s in lines) + "</ul>") if lines else ""


def extra_figures(run: Path) -> list[tuple[str, str, Callable[[], Any]]]:
    """(key, caption, draw) for every network past the first, the per-layer diagnostic and the
    presets, each only where its data exist."""
    from nmpkit.report import figures as rf

    out: list[tuple[str, str, Callable[[], Any]]] = []
    for d in _dirs(run, "evaluate")[1:]:
        name = network_of(d, "evaluate")
        key = html.escape(d.name)
        for tag, fn, what in (("accuracy", rf.fig_accuracy, "accuracy vs time, NMP and ZMP"),
                              ("floors", rf.fig_floors, "accuracy vs membrane floor"),
                              ("correlation", rf.fig_correlation, "ANN vs SNN correlation")):
            def draw(fn=fn, sub=d.name, name=name):
                fig = fn(run, sub)
                if fig is not None:
                    fig.suptitle(f"network: {name}", fontsize=9)
                return fig
            out.append((f"{key}-{tag}", f"{name}: {what} (from {d.name}/). Read it as the "
                        "first network's figure of the same kind.", draw))
    if any("layers" in d for d in networks(run).values()):
        out.append(("layers-diagnostic", "Per-layer floor diagnostic: the charge each layer's "
                    "floor discards (ε, θ per neuron per step) and the fraction of its neurons "
                    "that hit the floor, for ZMP everywhere, the best global floor and the "
                    "per-layer allocation; right: the ANN–SNN rate deviation per layer. Read: "
                    "layers that discard much charge at ZMP and deviate most are the ones that "
                    "need a deep floor.", lambda: fig_layers(run)))
    if not preset_frame(run).empty:
        out.append(("presets", "The two neuron presets: energy per inference vs accuracy of "
                    "every design (bars: Wilson 95% intervals; filled: meets the accuracy "
                    "requirement). Read: the leftmost filled point of each colour is that "
                    "preset's cheapest design at this T.", lambda: fig_presets(run)))
    return out


__all__ = ["evaluate_sentence", "extra_figures", "fig_layers", "fig_presets", "network_of",
           "networks", "networks_answer_html", "preset_frame", "presets_html"]
