"""The two neuron presets side by side: which one is cheaper at the same accuracy and T.

Sources, both with the preset as a dimension:

* an optimizer study (``optimize.csv``, `nmpkit optimize` with ``preset=default,raised_rest`` in
  its space): every trial is judged against ONE reference (the default design's NMP, same images,
  same T), so "feasible" means the same accuracy requirement for both presets;
* trade-off results (``tradeoff.csv``), one per preset (``tradeoff/`` with the study neuron's
  calibration, ``tradeoff-<name>/`` with the other's): each point is non-inferior to its own
  preset's NMP on the same images.

Per budget T and preset the cheapest design that meets the accuracy requirement (the optimizer's
constraint, or the trade-off's non-inferiority at 95% confidence) is taken; where both presets
have one, the sentence says which is cheaper and by how much, with each accuracy's Wilson 95%
interval and sample count beside it. A preset with no feasible design at T is said so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

COLUMNS = ("source", "preset", "timesteps", "feasible", "energy_joules", "accuracy",
           "accuracy_ci_low", "accuracy_ci_high", "samples", "design")


def _preset_name(p: Any) -> str:
    p = str(p)
    return "study" if p in ("default", "study") else p


def from_optimize(df: pd.DataFrame, timesteps: int) -> pd.DataFrame:
    """Evaluated trials of an ``optimize.csv`` in the common frame (``COLUMNS``)."""
    need = {"preset", "feasible", "energy_joules", "accuracy"}
    if df is None or df.empty or not need <= set(df.columns):
        return pd.DataFrame(columns=COLUMNS)
    d = df[df["energy_joules"].notna() & df["accuracy"].notna()].copy()
    d["feasible"] = d["feasible"].astype(str).str.lower().isin(("true", "1", "1.0"))
    design = [f"trial {int(r.number)}: V_DD {r.v_dd_volts:.3g} V, V_NEG {r.v_neg_volts:.3g} V"
              if {"number", "v_dd_volts", "v_neg_volts"} <= set(d.columns) else ""
              for r in d.itertuples()]
    return pd.DataFrame({
        "source": "optimize", "preset": d["preset"].map(_preset_name),
        "timesteps": int(timesteps), "feasible": d["feasible"],
        "energy_joules": d["energy_joules"].astype(float), "accuracy": d["accuracy"],
        "accuracy_ci_low": d.get("accuracy_ci_low"), "accuracy_ci_high": d.get("accuracy_ci_high"),
        "samples": d.get("samples"), "design": design})


def from_tradeoff(df: pd.DataFrame) -> pd.DataFrame:
    """Priced points of one or more ``tradeoff.csv`` (concatenated) in the common frame."""
    need = {"preset", "condition", "timesteps", "non_inferior", "energy_joules"}
    if df is None or df.empty or not need <= set(df.columns):
        return pd.DataFrame(columns=COLUMNS)
    d = df[(df["condition"] != "nmp") & df["energy_joules"].notna()].copy()
    design = [f"V_DD {r.v_dd_volts:.3g} V, V_NEG {r.v_neg_volts:.3g} V "
              f"(floor {r.floor_theta:.2f} θ)" for r in d.itertuples()]
    feas = d["non_inferior"].astype(str).str.lower().isin(("true", "1", "1.0"))
    return pd.DataFrame({
        "source": "tradeoff", "preset": d["preset"].map(_preset_name),
        "timesteps": d["timesteps"].astype(int), "feasible": feas,
        "energy_joules": d["energy_joules"].astype(float), "accuracy": d["accuracy"],
        "accuracy_ci_low": d["accuracy_ci_low"], "accuracy_ci_high": d["accuracy_ci_high"],
        "samples": d["samples"], "design": design})


def cheapest(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per (T, preset): the least-energy feasible design (None fields where the preset has
    none), sorted by T then preset."""
    out = []
    for (t, preset), g in frame.groupby(["timesteps", "preset"], sort=True):
        ok = g[g["feasible"]]
        row = {"timesteps": int(t), "preset": str(preset), "designs": int(len(g)),
               "feasible_designs": int(len(ok))}
        if not ok.empty:
            best = ok.loc[ok["energy_joules"].idxmin()]
            row |= {k: (None if pd.isna(best[k]) else best[k].item()
                        if hasattr(best[k], "item") else best[k])
                    for k in ("energy_joules", "accuracy", "accuracy_ci_low", "accuracy_ci_high",
                              "samples", "design", "source")}
        out.append(row)
    return out


def _acc(r: dict[str, Any]) -> str:
    n = r.get("samples")
    ci = ("" if r.get("accuracy_ci_low") is None else
          f" (95% CI {100 * r['accuracy_ci_low']:.2f}–{100 * r['accuracy_ci_high']:.2f}%"
          + (f", n = {int(n):,}" if n is not None else "") + ")")
    return f"{100 * r['accuracy']:.2f}%{ci}"


def sentences(best: list[dict[str, Any]]) -> list[str]:
    """One sentence per T that has at least two presets."""
    by_t: dict[int, list[dict[str, Any]]] = {}
    for r in best:
        by_t.setdefault(r["timesteps"], []).append(r)
    out = []
    for t, rows in sorted(by_t.items()):
        if len({r["preset"] for r in rows}) < 2:
            continue
        ok = sorted((r for r in rows if r.get("energy_joules") is not None),
                    key=lambda r: r["energy_joules"])
        lost = [r["preset"] for r in rows if r.get("energy_joules") is None]
        src = rows[0].get("source") or next((r.get("source") for r in ok), "")
        rule = ("meeting the optimizer's accuracy constraint" if src == "optimize"
                else "non-inferior to its NMP at 95% confidence")
        if len(ok) >= 2:
            a, b = ok[0], ok[1]
            saving = 100 * (1 - a["energy_joules"] / b["energy_joules"])
            text = (f"T = {t}: the {a['preset']} neuron is cheaper at the same accuracy "
                    f"requirement ({rule}): {a['energy_joules'] * 1e9:.4g} nJ per inference, "
                    f"{_acc(a)}, {a.get('design', '')}; vs {b['preset']} "
                    f"{b['energy_joules'] * 1e9:.4g} nJ, {_acc(b)}, {b.get('design', '')} "
                    f"({saving:.1f}% less energy).")
        elif ok:
            tried = sum(r["designs"] for r in rows if r["preset"] in lost)
            text = (f"T = {t}: only the {ok[0]['preset']} neuron has a design {rule} "
                    f"({ok[0]['energy_joules'] * 1e9:.4g} nJ, {_acc(ok[0])}); "
                    f"{', '.join(lost)}: none among its {tried} designs.")
        else:
            text = f"T = {t}: neither preset has a design {rule}."
        out.append(text)
    return out


__all__ = ["COLUMNS", "cheapest", "from_optimize", "from_tradeoff", "sentences"]
