"""The trade-off's statistics and decision, per latency budget.

Every operating point (V_DD, V_NEG) at every budget T is compared with NMP (no floor) at the same
T on the same images (`nmpkit.studies.stats.compare`: McNemar's exact p and the Newcombe interval
of the drop ``acc_NMP - acc_point``). The recommended point at T is the least-energy priced point
whose drop is, at 95% confidence, no larger than the tolerance (``stats.non_inferior``). When no
point can be shown so with these images, the budget is *unresolved* and ``images_needed`` says how
many images would show the most promising point (the fewest over the points whose observed drop is
below the tolerance). The study's rule (a floor of −2 θ) and ZMP (floor 0) are put on the same
footing: same T, same V_DD as the recommendation, same statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nmpkit.studies.stats import compare, images_needed, non_inferior, proportion

STUDY_RULE_FLOOR = -2.0  # θ
ZMP_FLOOR = 0.0
EXACT_FLOOR = 0.05  # θ: a point within this of a target floor is that floor
CONFIDENCE = 0.95
DECISION_RULE = ("least-energy operating point whose accuracy drop against NMP (same images, same "
                 "T) has the upper end of its two-sided 95% Newcombe interval at or below the "
                 "tolerance (non-inferiority at one-sided 97.5%)")


def point_rows(nmp: Mapping[int, np.ndarray], points: Sequence[Mapping[str, Any]],
               tolerance: float) -> list[dict[str, Any]]:
    """One row per operating point and T (NMP's own rows first), every statistic filled.

    ``nmp``: T -> (n,) bool correctness. Each point: ``v_dd_volts``, ``v_neg_volts``,
    ``floor_theta``, ``correct`` (T -> (n,) bool), ``energy`` (T -> price dict or None).
    """
    rows: list[dict[str, Any]] = []
    for t in sorted(nmp):
        p = proportion(int(nmp[t].sum()), int(nmp[t].size))
        rows.append({"condition": "nmp", "v_dd_volts": None, "v_neg_volts": None,
                     "floor_theta": None, "timesteps": t, "samples": p.n, "correct": p.k,
                     "accuracy": p.estimate, "accuracy_ci_low": p.ci_low,
                     "accuracy_ci_high": p.ci_high, "p_vs_nmp": 1.0, "flips_better": 0,
                     "flips_worse": 0, "drop_vs_nmp": 0.0, "drop_ci_low": 0.0,
                     "drop_ci_high": 0.0, "non_inferior": True, "images_needed": None,
                     "energy_joules": None, "pareto": False})
    for pt in points:
        for t in sorted(nmp):
            ok = pt["correct"][t]
            p = proportion(int(ok.sum()), int(ok.size))
            cmp = compare(nmp[t], ok)
            need = images_needed(cmp, tolerance)
            e = (pt.get("energy") or {}).get(t) or {}
            rows.append({
                "condition": "floor", "v_dd_volts": pt["v_dd_volts"],
                "v_neg_volts": pt["v_neg_volts"], "floor_theta": pt["floor_theta"],
                "neuron_v_dd_volts": pt.get("neuron_v_dd_volts"), "timesteps": t,
                "samples": p.n, "correct": p.k, "accuracy": p.estimate,
                "accuracy_ci_low": p.ci_low, "accuracy_ci_high": p.ci_high,
                "p_vs_nmp": cmp.p_value, "flips_better": cmp.b_only, "flips_worse": cmp.a_only,
                "drop_vs_nmp": cmp.difference, "drop_ci_low": cmp.ci_low,
                "drop_ci_high": cmp.ci_high, "non_inferior": shown(cmp, tolerance, need),
                "images_needed": need,
                "energy_joules": e.get("joules"), "energy_samples": e.get("samples"),
                "energy_spike_joules": e.get("spike_joules"),
                "energy_synapse_joules": e.get("synapse_joules"),
                "energy_static_joules": e.get("static_joules"), "regime": e.get("regime"),
                "pareto": False})
    _mark_pareto(rows)
    return rows


def shown(cmp: Any, tolerance: float, need: int | None) -> bool:
    """``stats.non_inferior`` (which, with no image flipping either way, bounds the drop by the
    flip-free rate z²/(n+z²) instead of Newcombe's collapsed [0, 0]); ``need`` is kept for the
    callers and agrees with it (``images_needed <= n``)."""
    return non_inferior(cmp, tolerance)


def _mark_pareto(rows: list[dict[str, Any]]) -> None:
    for t in {r["timesteps"] for r in rows}:
        priced = [r for r in rows if r["timesteps"] == t and r["energy_joules"] is not None]
        for r in priced:
            r["pareto"] = not any(
                q["energy_joules"] <= r["energy_joules"] and q["accuracy"] >= r["accuracy"]
                and (q["energy_joules"] < r["energy_joules"] or q["accuracy"] > r["accuracy"])
                for q in priced)


def _brief(r: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if r is None:
        return None
    keys = ("v_dd_volts", "v_neg_volts", "floor_theta", "timesteps", "samples", "accuracy",
            "accuracy_ci_low", "accuracy_ci_high", "drop_vs_nmp", "drop_ci_low", "drop_ci_high",
            "p_vs_nmp", "flips_better", "flips_worse", "non_inferior", "images_needed",
            "energy_joules", "energy_samples")
    return {k: r.get(k) for k in keys}


def _near(rows: Sequence[Mapping[str, Any]], t: int, v_dd: float,
          floor: float) -> dict[str, Any] | None:
    cand = [r for r in rows if r["condition"] == "floor" and r["timesteps"] == t
            and abs(r["v_dd_volts"] - v_dd) < 1e-9]
    if not cand:
        return None
    best = min(cand, key=lambda r: abs(r["floor_theta"] - floor))
    return _brief(best) | {"target_floor_theta": floor,
                           "exact": abs(best["floor_theta"] - floor) <= EXACT_FLOOR}


def decide(rows: Sequence[Mapping[str, Any]], *, tolerance: float,
           default_v_dd: float) -> list[dict[str, Any]]:
    """Per budget T: the recommendation (or why none), the −2 θ rule and ZMP beside it."""
    out = []
    for t in sorted({r["timesteps"] for r in rows}):
        nmp = next(r for r in rows if r["condition"] == "nmp" and r["timesteps"] == t)
        pts = [r for r in rows if r["condition"] == "floor" and r["timesteps"] == t]
        priced = [r for r in pts if r["energy_joules"] is not None]
        ok = [r for r in priced if r["non_inferior"]]
        chosen = min(ok, key=lambda r: r["energy_joules"]) if ok else None
        need = [r for r in priced if r["images_needed"] is not None]
        closest = min(need, key=lambda r: (r["images_needed"], r["energy_joules"])) \
            if need and chosen is None else None
        v_dd = chosen["v_dd_volts"] if chosen else default_v_dd
        rule, zmp = _near(rows, t, v_dd, STUDY_RULE_FLOOR), _near(rows, t, v_dd, ZMP_FLOOR)
        rec: dict[str, Any] = {
            "timesteps": t, "resolved": chosen is not None,
            "nmp": {k: nmp[k] for k in ("samples", "accuracy", "accuracy_ci_low",
                                        "accuracy_ci_high")},
            "chosen": _brief(chosen), "rule": rule, "zmp": zmp,
            "closest_unresolved": _brief(closest),
            "images_needed": closest["images_needed"] if closest else None}
        if chosen and zmp and zmp.get("energy_joules"):
            rec["energy_vs_zmp"] = chosen["energy_joules"] / zmp["energy_joules"] - 1
        if chosen and rule and rule.get("energy_joules"):
            rec["energy_vs_rule"] = chosen["energy_joules"] / rule["energy_joules"] - 1
        out.append(rec)
    return out


def sentence(rec: Mapping[str, Any], tolerance: float) -> str:
    """The budget's answer in one sentence (the report's first line)."""
    t, tol = rec["timesteps"], 100 * tolerance
    c, z = rec.get("chosen"), rec.get("zmp")
    if c is None:
        text = (f"Unresolved at T = {t}: no operating point can be shown to keep accuracy "
                f"within {tol:g} %p of NMP ({_pct(rec['nmp'])}) with {rec['nmp']['samples']:,} "
                "test images")
        cl = rec.get("closest_unresolved")
        if cl and rec.get("images_needed"):
            text += (f"; the most promising, floor {cl['floor_theta']:.2f} θ (V_NEG = "
                     f"{cl['v_neg_volts']:.3g} V at V_DD = {cl['v_dd_volts']:g} V), drops "
                     f"{_pp(cl)}, and would need about {rec['images_needed']:,} images")
        else:
            text += "; every priced point's observed drop already exceeds the tolerance"
        return text + "."
    where = (f"(V_NEG = {c['v_neg_volts']:.3g} V at V_DD = {c['v_dd_volts']:g} V)")
    is_zmp = bool(z) and (z.get("v_neg_volts"), z.get("v_dd_volts")) == (
        c["v_neg_volts"], c["v_dd_volts"])
    if _better(c):  # short latency: the clipped neuron converges faster than NMP
        head = ("ZMP suffices" if is_zmp else f"Floor {c['floor_theta']:.2f} θ suffices")
        text = (f"{head} at T = {t} {where}: it beats NMP, {_pct(c)}, "
                f"{_gain(c)}, for {_nj(c['energy_joules'])} per inference")
    else:
        text = (f"Floor {c['floor_theta']:.2f} θ {where} keeps accuracy within {tol:g} %p of "
                f"NMP at T = {t}: {_pct(c)}, drop {_pp(c)}, for {_nj(c['energy_joules'])} "
                "per inference")
    if z and z.get("energy_joules") and "energy_vs_zmp" in rec and not is_zmp:
        verb = f"which is {_gain(z)}" if _better(z) else f"which loses {_pp(z)}"
        text += (f", {100 * rec['energy_vs_zmp']:+.1f}% energy vs ZMP, {verb} "
                 f"(McNemar p = {z['p_vs_nmp']:.2g})")
    elif is_zmp and z.get("p_vs_nmp") is not None:
        text += f" (McNemar p = {z['p_vs_nmp']:.2g} vs NMP)"
    return text + "."


def _better(r: Mapping[str, Any]) -> bool:
    """More accurate than NMP at 95% confidence (the whole drop interval below zero)."""
    return r.get("drop_ci_high") is not None and r["drop_ci_high"] < 0


def _gain(r: Mapping[str, Any]) -> str:
    return (f"{-100 * r['drop_vs_nmp']:.2f} %p more accurate than NMP (95% CI "
            f"{-100 * r['drop_ci_high']:.2f} to {-100 * r['drop_ci_low']:.2f} %p)")


def rule_sentence(rec: Mapping[str, Any]) -> str:
    """The study's −2 θ rule at the same T and V_DD, on the same footing."""
    r = rec.get("rule")
    if not r:
        return f"The study's −2 θ rule: no point at T = {rec['timesteps']}."
    where = "" if r["exact"] else f" (nearest reachable floor {r['floor_theta']:.2f} θ)"
    text = (f"The study's −2 θ rule{where}: V_NEG = {r['v_neg_volts']:.3g} V at V_DD = "
            f"{r['v_dd_volts']:g} V, T = {r['timesteps']}: {_pct(r)}, drop {_pp(r)}, "
            f"{_nj(r['energy_joules'])} per inference")
    if "energy_vs_rule" in rec:
        d = 100 * rec["energy_vs_rule"]
        text += (f"; the recommendation costs {abs(d):.1f}% {'less' if d < 0 else 'more'} "
                 "than the rule" if abs(d) >= 0.05 else "; the recommendation costs the same")
    return text + "."


def _pct(r: Mapping[str, Any]) -> str:
    return (f"{100 * r['accuracy']:.2f}% (95% CI {100 * r['accuracy_ci_low']:.2f}–"
            f"{100 * r['accuracy_ci_high']:.2f}%, n = {r['samples']:,})")


def _pp(r: Mapping[str, Any]) -> str:
    return (f"{100 * r['drop_vs_nmp']:.2f} %p (95% CI {100 * r['drop_ci_low']:.2f} to "
            f"{100 * r['drop_ci_high']:.2f} %p)")


def _nj(j: float | None) -> str:
    return "unpriced" if j is None else f"{j * 1e9:.4g} nJ"


__all__ = ["CONFIDENCE", "DECISION_RULE", "STUDY_RULE_FLOOR", "decide", "point_rows",
           "rule_sentence", "sentence"]
