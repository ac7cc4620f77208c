"""`nmpkit optimize`'s records and files: one record per trial, the Pareto front, the best design,
the −2 θ rule beside it; ``optimize.json`` and ``optimize.csv``, both written atomically, and
`OptimizeResult` (``.save(dir)`` / ``OptimizeResult.load(dir)``), the one reader of them.

``optimize.json`` (schema ``nmpkit.optimize/1``)::

    {"schema", "text" (the answer in lines), "study_name", "config", "classifier", "timesteps",
     "samples",
     "nmp": {accuracy (Wilson), design, calibration_digest, spice},
     "rule": {design, v_dd_volts, v_neg_volts, floor_theta, accuracy, energy_joules, soa_ok, ...},
     "best": the least-energy feasible trial (or null) + "vs_rule": {energy_saving_fraction,
             energy_ratio, paired comparison best vs rule},
     "best_at_rule_accuracy": least-energy feasible trial with accuracy >= the rule's (or null),
     "pareto_front": [trial records: feasible, non-dominated in (energy, accuracy)],
     "trials": [every trial record, with "number" and "state"],
     "spice": {designs_new, designs_reused, points_total, points_cached, points_simulated,
               simulator_runs} (this call) + "characterizations_in_study",
     "provenance"}

A trial record: ``number, state, status, design (the full NeuronDesign dict), preset,
calibration_digest, design_key, accuracy {k, n, estimate, ci_low, ci_high}, energy_joules,
energy_regime, floor_theta, dt_seconds, latency_seconds, spikes_per_inference, constraint,
feasible, comparison (vs NMP, paired), spice (this trial's characterization: new or reused,
points cached / simulated), correct_bits (per-image correctness, `pack`)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nmpkit.studies.summary_file import read_summary

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "nmpkit.optimize/1"
RESULT_FILE, TRIALS_FILE = "optimize.json", "optimize.csv"
CSV_COLUMNS = ("number", "state", "status", "feasible", "preset", "v_dd_volts", "v_neg_volts",
               "c_mem_farads", "i_reset_amps", "mirror_ratio", "floor_theta", "samples",
               "accuracy", "accuracy_ci_low", "accuracy_ci_high", "drop_vs_nmp_ci_high",
               "energy_joules", "energy_regime", "dt_seconds", "latency_seconds", "pareto",
               "calibration_digest", "design_new", "points_simulated")


def trial_record(design: Any, ch: Any, r: Any, info: dict[str, Any], constraint: float,
                 cfg: Any) -> dict[str, Any]:
    """The JSON record of one evaluated trial."""
    from nmpkit.studies.stats import accuracy

    return {"status": "evaluated", "design": design.to_dict(),
            "preset": "raised_rest" if design.topology == "raised_rest" else "default",
            "design_key": ch.key, "calibration_digest": ch.calibration_digest,
            "accuracy": accuracy(r.correct).as_dict(), "energy_joules": r.energy_joules,
            "energy_regime": r.energy_regime, "floor_theta": r.floor_theta,
            "dt_seconds": r.dt_seconds, "latency_seconds": r.latency_seconds,
            "spikes_per_inference": r.spikes_per_inference, "energy_notes": list(r.notes),
            "constraint": float(constraint), "feasible": bool(constraint <= 0),
            "comparison": info, "spice": dict(ch.use),
            "timesteps": cfg.timesteps, "correct_bits": pack(r.correct)}


def pack(correct: Any) -> str:
    """Per-image correctness as hex of ``numpy.packbits`` (image 0 = the first bit)."""
    import numpy as np

    return np.packbits(np.asarray(correct, dtype=bool)).tobytes().hex()


def unpack(bits: str, n: int) -> Any:
    """Inverse of `pack` for ``n`` images."""
    import numpy as np

    return np.unpackbits(np.frombuffer(bytes.fromhex(bits), dtype=np.uint8))[:n].astype(bool)


def _records(study: Any) -> list[dict[str, Any]]:
    out = []
    for t in study.get_trials(deepcopy=False):
        rec = dict(t.user_attrs.get("record") or {"status": "no record"})
        rec.update(number=t.number, state=t.state.name, params=dict(t.params))
        rec.setdefault("feasible", False)
        out.append(rec)
    return out


def pareto(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feasible records no other feasible record dominates (less or equal energy and
    greater or equal accuracy, one strictly), by energy."""
    ok = [r for r in records if r["state"] == "COMPLETE" and r["feasible"]]

    def key(r):
        return r["energy_joules"], r["accuracy"]["estimate"]

    front = [r for r in ok if not any(
        key(q)[0] <= key(r)[0] and key(q)[1] >= key(r)[1] and key(q) != key(r) for q in ok)]
    return sorted(front, key=lambda r: key(r)[0])


def _vs_rule(rec: dict[str, Any] | None, rule: dict[str, Any], rule_eval: Any
             ) -> dict[str, Any] | None:
    if rec is None or rule_eval is None or not rule.get("energy_joules"):
        return None
    from nmpkit.studies.stats import compare

    n = int(rule_eval.correct.size)
    cmp = compare(unpack(rec["correct_bits"], n), rule_eval.correct) \
        if rec.get("correct_bits") and rec["accuracy"]["n"] == n else None
    return {"energy_ratio": rec["energy_joules"] / rule["energy_joules"],
            "energy_saving_fraction": 1.0 - rec["energy_joules"] / rule["energy_joules"],
            "accuracy_difference": rec["accuracy"]["estimate"] - rule["accuracy"]["estimate"],
            "paired_vs_rule": None if cmp is None else cmp.as_dict()}


def summarize(study: Any, base: Any, cfg: Any, spice: dict[str, int],
              clf_info: dict[str, Any]) -> dict[str, Any]:
    """The optimize.json content (see the module docstring)."""
    from calib.io import provenance

    records = _records(study)
    front = pareto(records)
    for r in records:
        r["pareto"] = any(f["number"] == r["number"] for f in front)
    feasible = [r for r in records if r["state"] == "COMPLETE" and r["feasible"]]
    best = min(feasible, key=lambda r: r["energy_joules"]) if feasible else None
    rule = base.rule
    at_rule = None
    if base.rule_eval is not None:
        racc = rule["accuracy"]["estimate"]
        ok = [r for r in feasible if r["accuracy"]["estimate"] >= racc - 1e-12]
        at_rule = min(ok, key=lambda r: r["energy_joules"]) if ok else None
    def slim(r):  # the per-image bits stay in "trials"
        return {k: v for k, v in r.items() if k != "correct_bits"}

    best_out = None if best is None else {**slim(best),
                                          "vs_rule": _vs_rule(best, rule, base.rule_eval)}
    at_out = None if at_rule is None else {**slim(at_rule), "vs_rule": _vs_rule(
        at_rule, rule, base.rule_eval)}
    n_char = len({r["design_key"] for r in records if r.get("design_key")})
    res = {"schema": SCHEMA, "study_name": study.study_name, "config": cfg.identity(),
            "n_trials": len(records), "classifier": clf_info, "timesteps": cfg.timesteps,
            "samples": int(base.nmp.correct.size),
            "nmp": base.reference, "rule": rule, "best": best_out,
            "best_at_rule_accuracy": at_out, "pareto_front": front, "trials": records,
            "spice": {**spice, "characterizations_in_study": n_char},
            "provenance": provenance(command="nmpkit optimize", sampler="optuna TPESampler",
                                     storage="optuna.db (sqlite)")}
    res["text"] = summary_text(res)
    return res


def summary_text(res: dict[str, Any]) -> str:
    """The answer in a few lines: best design, the −2 θ rule, the saving, SPICE work."""
    lines = [f"{res['n_trials']} trial(s), {len(res['pareto_front'])} on the feasible front; "
             f"{res['samples']} images, T = {res['timesteps']}"]
    b, rule = res["best"], res["rule"]
    if b:
        a = b["accuracy"]
        lines.append(f"best feasible: {b['preset']} V_DD {b['design']['v_dd_volts']:.3f} V, "
                     f"V_NEG {b['design']['v_neg_volts']:.3f} V (floor {b['floor_theta']:.2f} θ): "
                     f"{100 * a['estimate']:.2f}% (95% CI {100 * a['ci_low']:.2f}–"
                     f"{100 * a['ci_high']:.2f}%, n = {a['n']}), "
                     f"{b['energy_joules']:.4g} J per inference")
        vs = b.get("vs_rule")
        if vs:
            lines.append(f"vs the −2 θ rule: {100 * vs['energy_saving_fraction']:.1f}% less "
                         f"energy, accuracy {100 * vs['accuracy_difference']:+.2f} %p")
    else:
        lines.append("no trial met the accuracy target")
    if "unavailable" not in rule:
        lines.append(f"−2 θ rule: V_NEG {rule['v_neg_volts']:g} V at V_DD {rule['v_dd_volts']:g} "
                     f"V, {100 * rule['accuracy']['estimate']:.2f}%, "
                     f"{rule['energy_joules']:.4g} J "
                     f"(SOA {'ok' if rule['soa_ok'] else 'exceeded'})")
    else:
        lines.append(f"−2 θ rule: {rule['unavailable']}")
    lines.append(f"SPICE: {res['spice']}")
    return "\n".join(lines)


def _row(r: dict[str, Any]) -> dict[str, Any]:
    d, acc = r.get("design") or {}, r.get("accuracy") or {}
    cmp = (r.get("comparison") or {}).get("vs_nmp") or {}
    sp = r.get("spice") or {}
    return {"number": r["number"], "state": r["state"], "status": r.get("status"),
            "feasible": r.get("feasible"), "preset": r.get("preset"),
            "v_dd_volts": d.get("v_dd_volts"), "v_neg_volts": d.get("v_neg_volts"),
            "c_mem_farads": d.get("c_mem_farads"), "i_reset_amps": d.get("i_reset_amps"),
            "mirror_ratio": d.get("mirror_ratio"), "floor_theta": r.get("floor_theta"),
            "samples": acc.get("n"), "accuracy": acc.get("estimate"),
            "accuracy_ci_low": acc.get("ci_low"), "accuracy_ci_high": acc.get("ci_high"),
            "drop_vs_nmp_ci_high": cmp.get("ci_high"), "energy_joules": r.get("energy_joules"),
            "energy_regime": r.get("energy_regime"), "dt_seconds": r.get("dt_seconds"),
            "latency_seconds": r.get("latency_seconds"), "pareto": r.get("pareto", False),
            "calibration_digest": r.get("calibration_digest"),
            "design_new": bool(sp.get("designs_new")),
            "points_simulated": sp.get("points_simulated", 0)}


def csv_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``optimize.csv``: one per trial of ``res["trials"]`` (``CSV_COLUMNS``)."""
    return [_row(r) for r in res.get("trials") or []]


def write_outputs(out: Path, res: dict[str, Any],
                  rows: list[dict[str, Any]] | None = None) -> list[Path]:
    """optimize.json and optimize.csv (``rows``, default `csv_rows`), atomically."""
    import pandas as pd

    from calib.io import atomic_write_csv, atomic_write_json

    df = pd.DataFrame(csv_rows(res) if rows is None else rows, columns=list(CSV_COLUMNS))
    return [atomic_write_json(out / RESULT_FILE, res), atomic_write_csv(out / TRIALS_FILE, df)]


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """``summary`` (what ``optimize.json`` holds, `summarize`), ``rows`` (one per trial:
    ``optimize.csv``, `csv_rows`)."""

    summary: dict[str, Any]
    rows: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of(cls, summary: dict[str, Any]) -> OptimizeResult:
        """The result of a study (`summarize`'s record), its rows made from its trials."""
        return cls(summary, tuple(csv_rows(summary)))

    def text(self) -> str:
        """The answer in a few lines (`summary_text`)."""
        return str(self.summary.get("text") or summary_text(self.summary))

    def timesteps(self) -> int | None:
        """The latency budget T the study judged designs at (None: not recorded)."""
        t = self.summary.get("timesteps")
        return int(t) if t else None

    def frame(self) -> pd.DataFrame:
        """The trials as a table (``CSV_COLUMNS``; empty without rows)."""
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=list(CSV_COLUMNS))

    def save(self, out_dir: str | Path) -> list[Path]:
        """``optimize.json`` and ``optimize.csv`` in ``out_dir``, each written atomically."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return write_outputs(out, self.summary, list(self.rows))

    @classmethod
    def load(cls, out_dir: str | Path) -> OptimizeResult:
        """The result `save` wrote into ``out_dir`` (``optimize.csv`` optional)."""
        import pandas as pd

        summary = read_summary(Path(out_dir) / RESULT_FILE, "no optimizer study here")
        csv = Path(out_dir) / TRIALS_FILE
        rows: tuple[dict[str, Any], ...] = ()
        if csv.is_file() and csv.stat().st_size > 1:
            df = pd.read_csv(csv, dtype={"preset": str, "calibration_digest": str})
            rows = tuple(df.to_dict("records"))
        return cls(summary, rows)


__all__ = ["CSV_COLUMNS", "RESULT_FILE", "SCHEMA", "TRIALS_FILE", "OptimizeResult", "csv_rows",
           "pack", "pareto", "summarize", "summary_text", "trial_record", "unpack",
           "write_outputs"]
