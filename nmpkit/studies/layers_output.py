"""``layers.json`` and ``layers.csv`` from a per-layer floor search (``layers_search``).

layers.json (schema ``nmpkit.layers/1``): the allocation (per group: layers, level, V_NEG, floor
θ, whether it sits at ZMP, whether it can live at ZMP alone), its accuracy (Wilson CI, samples),
its paired comparison against NMP (drop, Newcombe CI, McNemar p, flips each way), its energy per
inference (total and per group, the group's negative-supply share), the same for the best global
floor and for ZMP everywhere, the energy saved against the global floor, every evaluated
allocation, the simulations used (``simulations``; ``simulations_restored`` of them
read back from an interrupted run's parts) and cache hits, the decision rule, the method,
provenance.

layers.csv: the diagnostic, one row per (configuration, layer) for ZMP everywhere, the global
floor and the chosen allocation: the floor's discarded charge in θ per neuron per step (the
study's ε(t, v_lb) summed over the run), the fraction of neurons that hit the floor, spikes per
inference, the layer's energy and its negative-supply share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmpkit.studies import stats
from nmpkit.studies.layers import Alloc
from nmpkit.studies.layers_eval import Evaluation, Evaluator
from nmpkit.studies.layers_search import DECISION_RULE, SEARCH_METHOD

SCHEMA = "nmpkit.layers/1"


def _config(ev: Evaluator, alloc: Alloc, nmp: Evaluation, tolerance: float) -> dict[str, Any]:
    e = ev(alloc)
    cmp = stats.compare(nmp.correct, e.correct)
    groups = []
    for g, (name, members) in enumerate(zip(ev.groups.names, ev.groups.members, strict=True)):
        lv = ev.levels[alloc[g]]
        groups.append({
            "name": name, "layers": [ev.groups.layer_names[i] for i in members],
            "level": alloc[g], "v_neg_volts": lv.v_neg_volts, "floor_theta": lv.floor_theta,
            "at_zmp": alloc[g] == len(ev.levels) - 1 and lv.floor_theta == 0.0,
            "energy_joules": sum(e.layer_energy[i]["total_joules"] for i in members),
            "vneg_energy_joules": sum(e.layer_energy[i]["vneg_joules"] for i in members)})
    return {"groups": groups, "accuracy": e.accuracy.as_dict(), "vs_nmp": cmp.as_dict(),
            "non_inferior": stats.non_inferior(cmp, tolerance),
            "energy_joules": e.energy_joules}


def summarize(ev: Evaluator, found: dict[str, Any], *, meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready summary (see the module docstring)."""
    nmp, tol = found["nmp"], found["tolerance"]
    top = len(ev.levels) - 1
    out: dict[str, Any] = {
        "schema": SCHEMA, **meta, "timesteps": ev.timesteps, "samples": int(nmp.correct.size),
        "v_dd_volts": ev.v_dd_volts, "eta": ev.eta, "array_size": ev.array_size,
        "energy_model": ev.energy_note, "tolerance": tol, "decision_rule": DECISION_RULE,
        "search": SEARCH_METHOD, "passes": found["passes"],
        "levels": [{"level": k, "v_neg_volts": lv.v_neg_volts, "floor_theta": lv.floor_theta}
                   for k, lv in enumerate(ev.levels)],
        "groups": [{"name": n, "layers": [ev.groups.layer_names[i] for i in m]}
                   for n, m in zip(ev.groups.names, ev.groups.members, strict=True)],
        "nmp": {"accuracy": nmp.accuracy.as_dict(), "energy_joules": nmp.energy_joules,
                "energy_note": "NMP (no floor) priced at the calibration's V_NEG "
                               f"({ev.cal.v_neg_volts:g} V); no circuit realizes it"},
        "zmp": _config(ev, (top,) * len(ev.groups.names), nmp, tol),
    }
    glob, chosen = found["global"], found["chosen"]
    out["global_floor"] = None if glob is None else _config(ev, glob, nmp, tol)
    out["allocation"] = None if chosen is None else _config(ev, chosen, nmp, tol)
    if chosen is not None:
        for grp in out["allocation"]["groups"]:
            alloc, ok, cmp = found["zmp_checks"][grp["name"]]
            grp["can_live_at_zmp"] = bool(ok)
            grp["zmp_alone_vs_nmp"] = cmp.as_dict()
        e_g, e_c = ev(glob).energy_joules, ev(chosen).energy_joules
        out["energy_saved_joules"] = e_g - e_c
        out["energy_saved_fraction"] = (e_g - e_c) / e_g if e_g else None
        out["needs_deep_floor"] = [g["name"] for g in out["allocation"]["groups"]
                                   if not g["can_live_at_zmp"]]
        out["can_live_at_zmp"] = [g["name"] for g in out["allocation"]["groups"]
                                  if g["can_live_at_zmp"]]
        out["status"] = "resolved"
    else:
        deepest = found["uniform"][0][3]
        out["status"] = "unresolved"
        out["images_needed"] = stats.images_needed(deepest, tol)
        out["unresolved_note"] = (
            "no uniform floor is non-inferior to NMP at this sample size; images_needed says "
            "how many images would show it for the deepest floor if the observed flips held "
            "(null: the observed drop itself exceeds the tolerance)")
    out["evaluations"] = [
        {"floors_theta": [ev.levels[k].floor_theta for k in a],
         "v_neg_volts": [ev.levels[k].v_neg_volts for k in a],
         "accuracy": ev(a).accuracy.estimate, "drop_vs_nmp": cmp.difference,
         "drop_ci_high": cmp.ci_high, "p_vs_nmp": cmp.p_value, "feasible": bool(ok),
         "energy_joules": ev(a).energy_joules} for a, ok, cmp in found["trace"]]
    out["simulations"] = ev.simulations + ev.restored
    out["simulations_restored"] = ev.restored
    out["cache_hits"] = ev.cache_hits
    return out


def diagnostic_rows(ev: Evaluator, found: dict[str, Any]) -> list[dict[str, Any]]:
    """layers.csv rows: per configuration (zmp, global, chosen) and layer."""
    top = len(ev.levels) - 1
    configs = [("zmp", (top,) * len(ev.groups.names)), ("global", found["global"]),
               ("chosen", found["chosen"])]
    rows = []
    for label, alloc in configs:
        if alloc is None:
            continue
        e = ev(alloc)
        for i, name in enumerate(ev.groups.layer_names):
            g = ev.groups.group_of(i)
            lv = ev.levels[alloc[g]]
            rows.append({
                "config": label, "layer": name, "layer_index": i, "group": ev.groups.names[g],
                "v_neg_volts": lv.v_neg_volts, "floor_theta": lv.floor_theta,
                "discarded_theta_per_neuron_step": e.floor_charge[i],
                "hit_fraction": e.floor_hit_fraction[i],
                "spikes_per_inference": e.spikes_per_inference[i],
                "energy_joules": e.layer_energy[i]["total_joules"],
                "vneg_energy_joules": e.layer_energy[i]["vneg_joules"],
                "bias_energy_joules": e.layer_energy[i].get("bias_joules", 0.0),
                "samples": int(e.correct.size), "timesteps": ev.timesteps})
    return rows


def sentence(summary: dict[str, Any]) -> str:
    """One line for the console and the report."""
    a, g = summary.get("allocation"), summary.get("global_floor")
    if a is None:
        need = summary.get("images_needed")
        return ("no floor allocation is non-inferior to NMP within "
                f"{100 * summary['tolerance']:g} %p at {summary['samples']:,} images"
                + (f" (about {need:,} images would show it for the deepest floor)" if need
                   else ""))
    acc = stats.Proportion(**a["accuracy"])
    floors = ", ".join(f"{grp['name']} {grp['floor_theta']:.2f} θ ({grp['v_neg_volts']:g} V)"
                       for grp in a["groups"])
    gf = g["groups"][0]
    deep = summary["needs_deep_floor"]
    return (f"per-layer floors [{floors}]: accuracy {acc}, drop vs NMP "
            f"{100 * a['vs_nmp']['difference']:+.2f} %p (95% CI up to "
            f"{100 * a['vs_nmp']['ci_high']:.2f} %p, McNemar p = {a['vs_nmp']['p_value']:.3g}), "
            f"{a['energy_joules']:.4g} J per inference vs {g['energy_joules']:.4g} J for one "
            f"global floor of {gf['floor_theta']:.2f} θ (saved "
            f"{100 * (summary['energy_saved_fraction'] or 0):.2f}%); need a floor below ZMP: "
            f"{', '.join(deep) if deep else 'none'}; {summary['simulations']} simulations")


def write_outputs(out: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> list[Path]:
    """layers.json and layers.csv in ``out``, each written atomically."""
    import pandas as pd

    from calib.io import atomic_write_csv, atomic_write_json

    out.mkdir(parents=True, exist_ok=True)
    summary = {**summary, "text": summary.get("text") or sentence(summary)}
    return [atomic_write_json(out / "layers.json", summary),
            atomic_write_csv(out / "layers.csv", pd.DataFrame(rows))]


__all__ = ["SCHEMA", "diagnostic_rows", "sentence", "summarize", "write_outputs"]
