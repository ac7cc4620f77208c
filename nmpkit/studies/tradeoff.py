"""Accuracy vs energy over the negative supply (hence the floor) and V_DD, for a trained network.

For every V_NEG the network runs once with the calibrated neuron (floor and transfer curve at that
V_NEG); every V_DD then prices the same spikes (``cosim.energy``). NMP (no floor) is the accuracy
reference. The least-energy point whose accuracy is within ``tolerance`` (0.1 %p) of NMP is named
and set beside the study's rule, a floor of −2 θ (its V_NEG from the calibration's floor table).

V_DD changes energy only, not spikes: the calibration's transfer curve is the one measured at its
own V_DD (a limitation the output states).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from calib.calibration import Calibration
from calib.errors import CalibrationError

STUDY_RULE_FLOOR = -2.0  # θ
REPORT_FLOORS = (0.0, -0.5, -1.0, -2.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Classifier:
    """A converted classifier with its evaluation data."""

    net: Any
    x: torch.Tensor
    y: torch.Tensor
    ann_accuracy: float
    info: dict[str, Any]


def load_classifier(*, network: str, weights: str | Path, dataset: str, data_root: str | Path,
                    limit: int, calibration_samples: int = 1000,
                    percentile: float = 99.99) -> Classifier:
    """Load a zoo network's weights and data, convert with data-based normalization."""
    import cosim
    from nmpkit.ml.data import load_dataset, to_tensor
    from nmpkit.ml.train import load_weights
    from nmpkit.ml.zoo import get_network

    spec = get_network(network)
    model = load_weights(spec, weights).eval()
    ds = load_dataset(dataset, data_root)
    mean, std = spec.norm_for(dataset)
    calib_x = to_tensor(ds.x_train[:calibration_samples], mean, std)
    n = len(ds.x_test) if limit <= 0 else min(limit, len(ds.x_test))
    x = to_tensor(ds.x_test[:n], mean, std)
    y = torch.as_tensor(ds.y_test[:n])
    with torch.no_grad():
        ann = float((model(x).argmax(1) == y).double().mean())
    net = cosim.convert(model, calib_x, percentile=percentile)
    info = {"network": network, "weights": str(weights), "dataset": dataset,
            "data_source": ds.source, "test_samples": n, "percentile": percentile,
            "calibration_samples": calibration_samples}
    return Classifier(net=net, x=x, y=y, ann_accuracy=ann, info=info)


def sweep_points(cal: Calibration, v_neg_volts: Sequence[float]) -> list[float]:
    """The sweep's V_NEG values: the given ones in the floor table's range, plus the V_NEG of each
    report floor (0, −0.5, −1, −2 θ) where the circuit reaches it."""
    lo, hi = min(cal.floor_v_neg_volts), max(cal.floor_v_neg_volts)
    pts = {round(float(v), 6) for v in v_neg_volts if lo - 1e-9 <= v <= hi + 1e-9}
    for f in REPORT_FLOORS:
        try:
            pts.add(round(cal.v_neg_for_floor(f), 6))
        except CalibrationError:
            continue
    if hi >= 0:
        pts.add(0.0)
    return sorted((p for p in pts if p <= 0), reverse=True)


def _eval(clf: Classifier, neuron, timesteps: int, batch: int) -> dict[str, Any]:
    from functools import reduce

    from nmpkit.studies.batched import simulate_batched

    run = simulate_batched(clf.net, clf.x, clf.y, batch=batch, keep=True, timesteps=timesteps,
                           neuron=neuron)
    acc, merged = run.metric, reduce(_merge, run.results)
    return {"accuracy": float(acc[-1]), "best_accuracy": float(acc.max()),
            "best_step": int(acc.argmax()) + 1, "result": merged}


@dataclass(frozen=True, slots=True)
class _Counts:
    spike_counts: list
    synaptic_events: list
    input_synaptic_events: torch.Tensor
    timesteps: int
    layer_names: tuple
    layer_sizes: tuple


def _merge(a, b) -> _Counts:
    return _Counts(
        spike_counts=[torch.cat([x, y]) for x, y in zip(a.spike_counts, b.spike_counts)],
        synaptic_events=[torch.cat([x, y]) for x, y in zip(a.synaptic_events,
                                                           b.synaptic_events)],
        input_synaptic_events=torch.cat([a.input_synaptic_events, b.input_synaptic_events]),
        timesteps=a.timesteps, layer_names=a.layer_names, layer_sizes=a.layer_sizes)


def run_tradeoff(cal: Calibration, clf: Classifier, *, v_neg_volts: Sequence[float],
                 v_dd_volts: Sequence[float], timesteps: int, tolerance: float = 0.001,
                 batch: int = 250, parts_dir: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Sweep V_NEG × V_DD; returns {"points": [...], "nmp": ..., "chosen": ..., "rule": ...}.

    Finished V_NEG evaluations are stored in ``parts_dir`` (one JSON per V_NEG, written
    atomically), so a killed sweep resumes without re-simulating them.
    """
    from cosim.calibrated import calibrated_neurons
    from cosim.energy import energy

    shapes = [ly.shape for ly in clf.net.layers]
    evals: dict[str, dict[str, Any]] = {}
    todo = [("nmp", None)] + [(f"{v:.6f}", v) for v in sweep_points(cal, v_neg_volts)]
    for key, v in todo:
        # the key names the V_DD set priced and the calibration's V_DD (the neuron simulated), so a
        # sweep over other supplies never reuses a part made for different ones
        vdd_tag = "-".join(f"{float(x):g}" for x in v_dd_volts) + f"_cal{cal.v_dd_volts:g}"
        part = (parts_dir / f"vneg_{key}_vdd_{vdd_tag}.json" if parts_dir is not None else None)
        if (done := _read_part(part)) is not None:
            evals[key] = done
            continue
        neurons = calibrated_neurons(cal, shapes, v_neg_volts=v)
        ev = _eval(clf, neurons, timesteps, batch)
        rec = {"v_neg_volts": v, "floor_theta": None if v is None else cal.floor_theta(v),
               "accuracy": ev["accuracy"], "best_accuracy": ev["best_accuracy"],
               "best_step": ev["best_step"], "energy": {}}
        for vdd in v_dd_volts:
            try:
                rep = energy(ev["result"], cal, v_dd_volts=vdd,
                             v_neg_volts=v if v is not None else cal.v_neg_volts,
                             net=clf.net, inputs=clf.x)
                rec["energy"][f"{vdd:g}"] = {
                    "joules": rep.total_joules, "regime": rep.regime, "notes": list(rep.notes),
                    "layers": [ly.total_joules for ly in rep.layers],
                    "spike_joules": sum(ly.e_spike_joules for ly in rep.layers),
                    "synapse_joules": sum(ly.e_syn_joules for ly in rep.layers)
                    + rep.e_input_joules,
                    "static_joules": sum(ly.e_static_joules for ly in rep.layers)}
            except CalibrationError as exc:
                rec["energy"][f"{vdd:g}"] = {"joules": None, "regime": "unavailable",
                                             "notes": [str(exc)]}
        evals[key] = rec
        if part is not None:
            from calib.io import atomic_write_json

            atomic_write_json(part, rec)
        if progress is not None:
            progress(f"V_NEG {key}: accuracy {rec['accuracy']:.4f}")
    ideal = []
    for f in REPORT_FLOORS:  # the plain IF at exactly these floors, for reference
        part = parts_dir / f"ideal_{f:g}.json" if parts_dir is not None else None
        if (done := _read_part(part)) is not None:
            ideal.append(done)
            continue
        from cosim import IFNeuron

        ev = _eval(clf, IFNeuron(lower_bound=f), timesteps, batch)
        rec = {"floor_theta": f, "accuracy": ev["accuracy"], "best_accuracy": ev["best_accuracy"]}
        ideal.append(rec)
        if part is not None:
            from calib.io import atomic_write_json

            atomic_write_json(part, rec)
    nmp = evals.pop("nmp")
    points = []
    for rec in evals.values():
        for vdd, e in rec["energy"].items():
            points.append({"v_dd_volts": float(vdd), "v_neg_volts": rec["v_neg_volts"],
                           "floor_theta": rec["floor_theta"], "accuracy": rec["accuracy"],
                           "best_accuracy": rec["best_accuracy"],
                           "energy_joules": e["joules"], "regime": e["regime"],
                           "spike_joules": e.get("spike_joules"),
                           "synapse_joules": e.get("synapse_joules"),
                           "static_joules": e.get("static_joules"), "notes": e["notes"]})
    priced = [p for p in points if p["energy_joules"] is not None]
    for p in points:
        p["pareto"] = p["energy_joules"] is not None and not any(
            q["energy_joules"] <= p["energy_joules"] and q["accuracy"] >= p["accuracy"]
            and (q["energy_joules"] < p["energy_joules"] or q["accuracy"] > p["accuracy"])
            for q in priced)
    ok = [p for p in priced if p["accuracy"] >= nmp["accuracy"] - tolerance - 1e-12]
    chosen = min(ok, key=lambda p: p["energy_joules"]) if ok else None
    rule = None
    try:
        v_rule = cal.v_neg_for_floor(STUDY_RULE_FLOOR)
        near = min(evals.values(), key=lambda r: abs(r["v_neg_volts"] - v_rule))
        e = near["energy"].get(f"{cal.v_dd_volts:g}", {})
        rule = {"v_neg_volts": near["v_neg_volts"], "floor_theta": near["floor_theta"],
                "v_dd_volts": cal.v_dd_volts, "accuracy": near["accuracy"],
                "energy_joules": e.get("joules")}
    except CalibrationError as exc:
        rule = {"unavailable": str(exc)}
    by_floor = []
    for f in REPORT_FLOORS:
        near = min(evals.values(), key=lambda r: abs(r["floor_theta"] - f))
        e = near["energy"].get(f"{cal.v_dd_volts:g}", {})
        by_floor.append({"target_floor_theta": f, "floor_theta": near["floor_theta"],
                         "v_neg_volts": near["v_neg_volts"], "accuracy": near["accuracy"],
                         "energy_joules": e.get("joules"), "v_dd_volts": cal.v_dd_volts,
                         "exact": abs(near["floor_theta"] - f) < 0.05})
    return {"nmp": {"accuracy": nmp["accuracy"], "best_accuracy": nmp["best_accuracy"]},
            "points": points, "chosen": chosen, "rule": rule, "by_floor": by_floor,
            "ideal_if_by_floor": ideal,
            "tolerance": tolerance}


def _read_part(part: Path | None) -> dict[str, Any] | None:
    """A finished part file, or None (none there, or unreadable: discarded with a one-line
    warning, then recomputed)."""
    if part is None or not part.is_file():
        return None
    try:
        rec = json.loads(part.read_text(encoding="utf-8"))
        if isinstance(rec, dict) and "accuracy" in rec:
            return rec
    except (ValueError, OSError):
        pass
    import warnings

    warnings.warn(f"discarding the unreadable trade-off part {part.name}; recomputing it",
                  RuntimeWarning, stacklevel=3)
    part.unlink(missing_ok=True)
    return None


def write_outputs(out: Path, res: dict[str, Any], meta: dict[str, Any]) -> list[Path]:
    """tradeoff.csv (all points), tradeoff.json (summary + provenance), tradeoff.png."""
    import pandas as pd

    from calib.io import atomic_write, atomic_write_csv, atomic_write_json

    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([{k: v for k, v in p.items() if k != "notes"} for p in res["points"]])
    csv = atomic_write_csv(out / "tradeoff.csv", df)
    js = atomic_write_json(out / "tradeoff.json", {**res, **meta})
    c, rule = res.get("chosen"), res.get("rule") or {}
    rec = dict(c or {})
    if c:
        text = (f"V_DD {c['v_dd_volts']:g} V, V_NEG {c['v_neg_volts']:g} V (floor "
                f"{c['floor_theta']:.2f} θ): accuracy {100 * c['accuracy']:.2f}% within "
                f"{100 * res['tolerance']:g} %p of NMP ({100 * res['nmp']['accuracy']:.2f}%), "
                f"{c['energy_joules']:.4g} J per inference")
        if rule.get("energy_joules"):
            text += (f"; the −2 θ rule (V_NEG {rule['v_neg_volts']:g} V at V_DD "
                     f"{rule['v_dd_volts']:g} V) costs {rule['energy_joules']:.4g} J at "
                     f"{100 * rule['accuracy']:.2f}%")
        rec["text"] = text
    else:
        rec["text"] = "no operating point within the tolerance of NMP was priced"
    rec["rule"] = rule
    paths = [csv, js, atomic_write_json(out / "recommendation.json", rec)]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ok = df[df["energy_joules"].notna()]
        for vdd, g in ok.groupby("v_dd_volts"):
            ax.scatter(g["energy_joules"] * 1e9, 100 * g["accuracy"], label=f"V_DD {vdd:g} V")
        par = ok[ok["pareto"]].sort_values("energy_joules")
        ax.plot(par["energy_joules"] * 1e9, 100 * par["accuracy"], "k--", lw=1, label="Pareto")
        ax.axhline(100 * res["nmp"]["accuracy"], color="gray", lw=0.8, label="NMP")
        ax.set_xlabel("energy per inference (nJ)")
        ax.set_ylabel("accuracy (%)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        png = out / "tradeoff.png"
        atomic_write(png, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
        plt.close(fig)
        paths.append(png)
    except Exception:  # a figure is a convenience; the CSV/JSON are the result
        pass
    return paths


def fmt_joules(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g} J"


__all__ = ["Classifier", "REPORT_FLOORS", "STUDY_RULE_FLOOR", "load_classifier",
           "run_tradeoff", "sweep_points", "write_outputs"]
