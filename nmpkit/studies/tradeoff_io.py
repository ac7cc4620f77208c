"""The trade-off's result on disk: ``tradeoff.json``, ``tradeoff.csv``, ``recommendation.json``,
``tradeoff.png`` (all written atomically), and the accuracy-vs-energy figure the report draws too.

``tradeoff.csv`` has one row per operating point and budget T (NMP's rows first, unpriced), with
``network, preset, v_dd_volts, v_neg_volts, floor_theta, timesteps, samples, accuracy,
accuracy_ci_low, accuracy_ci_high, p_vs_nmp, flips_better, flips_worse, drop_vs_nmp, drop_ci_low,
drop_ci_high, non_inferior, images_needed, energy_joules`` and the energy terms.
``recommendation.json`` holds the answer at the headline budget (the largest T): the chosen point
with its intervals (or ``resolved: false`` and the images needed), the −2 θ rule and ZMP on the
same footing, one sentence each, the decision rule, tolerance, confidence, every budget's answer,
and provenance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmpkit.errors import ConfigError
from nmpkit.studies.tradeoff_decide import rule_sentence, sentence

RESULT_FILE = "tradeoff.json"
CSV_COLUMNS = ("network", "preset", "condition", "v_dd_volts", "v_neg_volts", "floor_theta",
               "timesteps", "samples", "correct", "accuracy", "accuracy_ci_low",
               "accuracy_ci_high", "p_vs_nmp", "flips_better", "flips_worse", "drop_vs_nmp",
               "drop_ci_low", "drop_ci_high", "non_inferior", "images_needed", "energy_joules",
               "energy_samples", "energy_spike_joules", "energy_synapse_joules",
               "energy_static_joules", "regime", "pareto", "neuron_v_dd_volts")


@dataclass(frozen=True, slots=True)
class TradeoffResult:
    """The study's record (what ``tradeoff.json`` holds): ``rows`` (one per point and T),
    ``budgets`` (the decision per T), ``tolerance``, ``headline_timesteps``, notes, provenance."""

    record: dict[str, Any]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self.record["rows"])

    @property
    def budgets(self) -> list[dict[str, Any]]:
        return list(self.record["budgets"])

    @property
    def headline(self) -> dict[str, Any]:
        """The decision at the headline budget (the largest T)."""
        t = self.record["headline_timesteps"]
        return next(b for b in self.budgets if b["timesteps"] == t)

    def recommendation(self) -> dict[str, Any]:
        """What ``recommendation.json`` holds."""
        r, tol = self.record, self.record["tolerance"]
        h = self.headline
        c = h["chosen"] or {}
        return {**{k: c.get(k) for k in ("v_dd_volts", "v_neg_volts", "floor_theta",
                                         "accuracy", "accuracy_ci_low", "accuracy_ci_high",
                                         "drop_vs_nmp", "drop_ci_low", "drop_ci_high",
                                         "p_vs_nmp", "energy_joules")},
                "network": r.get("network"), "preset": r.get("preset"),
                "timesteps": h["timesteps"], "resolved": h["resolved"], "chosen": h["chosen"],
                "nmp": h["nmp"], "rule": h["rule"], "zmp": h["zmp"],
                "images_needed": h["images_needed"],
                "closest_unresolved": h["closest_unresolved"],
                "text": sentence(h, tol), "rule_text": rule_sentence(h),
                "decision_rule": r["decision_rule"], "tolerance": tol,
                "confidence": r["confidence"],
                "per_budget": [{"timesteps": b["timesteps"], "resolved": b["resolved"],
                                "chosen": b["chosen"], "images_needed": b["images_needed"],
                                "text": sentence(b, tol)} for b in self.budgets],
                "notes": r.get("notes", []), "provenance": r.get("provenance", {})}

    def frame(self):
        """``tradeoff.csv`` as a DataFrame."""
        import pandas as pd

        df = pd.DataFrame(self.rows)
        df.insert(0, "network", self.record.get("network", ""))
        df.insert(1, "preset", self.record.get("preset", ""))
        for c in CSV_COLUMNS:
            if c not in df:
                df[c] = None
        return df[list(CSV_COLUMNS)]

    def save(self, out_dir: str | Path) -> list[Path]:
        """``tradeoff.json``, ``tradeoff.csv``, ``recommendation.json``, ``tradeoff.png``."""
        from calib.io import atomic_write, atomic_write_csv, atomic_write_json

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        df = self.frame()
        paths = [atomic_write_json(out / RESULT_FILE, self.record),
                 atomic_write_csv(out / "tradeoff.csv", df),
                 atomic_write_json(out / "recommendation.json", self.recommendation())]
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = curves_figure(df, self.recommendation())
        if fig is not None:
            atomic_write(out / "tradeoff.png",
                         lambda tmp: fig.savefig(tmp, format="png", dpi=120))
            plt.close(fig)
            paths.append(out / "tradeoff.png")
        return paths

    @classmethod
    def load(cls, out_dir: str | Path) -> TradeoffResult:
        """The result `save` wrote into ``out_dir``."""
        path = Path(out_dir) / RESULT_FILE
        if not path.is_file():
            raise ConfigError(f"{path}: no trade-off result here")
        return cls(json.loads(path.read_text(encoding="utf-8")))


def curves_figure(df, rec: Mapping[str, Any] | None = None):
    """Accuracy vs energy per inference: one curve per floor (at the recommendation's V_DD, else
    the lowest priced one), T along each curve, Wilson 95% bars; NMP's accuracy per T as ticks on
    the right. None when nothing is priced."""
    import matplotlib.pyplot as plt
    import numpy as np

    rec = rec or {}
    d = df[(df["condition"] == "floor") & df["energy_joules"].notna()].copy()
    if d.empty:
        return None
    vdd = rec.get("v_dd_volts") or float(d["v_dd_volts"].min())
    d = d[np.isclose(d["v_dd_volts"].astype(float), float(vdd))]
    fig, ax = plt.subplots(figsize=(7, 4.4))
    floors = sorted(d["floor_theta"].unique(), reverse=True)
    cmap = plt.get_cmap("viridis", max(2, len(floors)))
    for i, f in enumerate(floors):
        g = d[d["floor_theta"] == f].sort_values("timesteps")
        e, a = g["energy_joules"] * 1e9, 100 * g["accuracy"]
        err = [a - 100 * g["accuracy_ci_low"], 100 * g["accuracy_ci_high"] - a]
        ax.errorbar(e, a, yerr=err, marker="o", ms=4, capsize=2, color=cmap(i),
                    label=f"floor {f:.2f} θ (V_NEG {g['v_neg_volts'].iloc[0]:.3g} V)")
        for x, y, t in zip(e, a, g["timesteps"], strict=True):
            ax.annotate(f"{t}", (x, y), textcoords="offset points", xytext=(3, -9), fontsize=6,
                        color=cmap(i))
    nmp = df[df["condition"] == "nmp"].sort_values("timesteps")
    for _, r in nmp.iterrows():
        ax.axhline(100 * r["accuracy"], color="0.6", lw=0.6, ls=":")
        ax.annotate(f"NMP T={r['timesteps']}", (1.0, 100 * r["accuracy"]), fontsize=6,
                    xycoords=("axes fraction", "data"), ha="right", va="bottom", color="0.4")
    if rec.get("energy_joules") is not None:
        ax.plot(rec["energy_joules"] * 1e9, 100 * rec["accuracy"], "r*", ms=14,
                label=f"recommended (T = {rec.get('timesteps')})")
    ax.set_xscale("log")
    ax.set(xlabel="energy per inference (nJ, log)", ylabel="accuracy (%)",
           title=f"Accuracy vs energy at V_DD = {float(vdd):g} V (numbers: T)")
    ax.legend(fontsize=6, loc="lower right")
    return fig


__all__ = ["CSV_COLUMNS", "RESULT_FILE", "TradeoffResult", "curves_figure"]
