"""The report's first screen and tables: the answer with its interval, the budgets, the stages.

`answer_html` reads the run's `TradeoffResult` (``TradeoffResult.load(RUN/tradeoff)``): the answer
in one sentence with its interval (or "unresolved" with the images needed), the study's −2 θ rule
on the same footing, the answer per latency budget, the sample size and the decision rule.
`later_sections_html` is the spot for the per-layer floors (`LayersResult.load`) and the
optimizer's best design (`OptimizeResult.load`): rendered when a run has them, silently absent
otherwise.
`stage_table_html` is the stage summary as a table with units and rounding.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any


def _read(run: Path, rel: str) -> Any:
    p = run / rel
    try:
        return json.loads(p.read_text()) if p.is_file() else None
    except (OSError, ValueError):
        return None


def fmt_value(key: str, v: Any) -> str:
    """A value with the unit its key names, rounded for reading."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float) and not (isinstance(v, float) and math.isnan(v)):
        k = key.lower()
        if k.endswith("joules"):
            return f"{v * 1e9:.4g} nJ"
        if k.endswith("volts"):
            return f"{v:.3g} V"
        if k.endswith("seconds"):
            return f"{v:.3g} s"
        if k.endswith("amps"):
            return f"{v:.3g} A"
        if k.endswith("theta"):
            return f"{v:.2f} θ"
        if ("accuracy" in k or k in ("nmp", "zmp") or k.startswith("floor")) \
                and isinstance(v, float) and 0 <= v <= 1:
            return f"{100 * v:.2f}%"
        if isinstance(v, float):
            return f"{v:.4g}"
        return f"{v:,}"
    return str(v)


def stage_table_html(run: Path) -> str:
    """One row per stage: name, status, wall time, and its summary as readable values."""
    rows = []
    for rec_path in sorted(run.glob("*/stage.json")):
        rec = _read(run, str(rec_path.relative_to(run))) or {}
        s = rec.get("summary", {}) if isinstance(rec.get("summary"), dict) else {}
        vals = "; ".join(f"{html.escape(str(k))}: {html.escape(fmt_value(str(k), v))}"
                         for k, v in s.items() if not isinstance(v, dict | list))
        secs = rec.get("seconds")
        rows.append(f"<tr><td>{html.escape(str(rec.get('stage', rec_path.parent.name)))}</td>"
                    f"<td>{html.escape(str(rec.get('status', '')))}</td>"
                    f"<td class='num'>{'' if secs is None else f'{secs:.1f} s'}</td>"
                    f"<td>{vals}</td></tr>")
    if not rows:
        return "<p>No stage records in this run.</p>"
    return ("<table><tr><th>stage</th><th>status</th><th>wall time</th><th>summary</th></tr>"
            + "".join(rows) + "</table>")


def answer_html(run: Path) -> str:
    """The answer first: the sentence with its interval, the −2 θ rule, the budgets."""
    from nmpkit.report import results

    res = results.tradeoff(run / "tradeoff")
    rec = None if res is None else res.recommendation()
    if not isinstance(rec, dict):
        return ("<p class='rec'>No trade-off in this run: the answer (which floor, at what "
                "cost) needs the tradeoff stage.</p>")
    cls = "rec" if rec.get("resolved", True) else "rec unresolved"
    parts = [f"<p class='{cls}'><b>Answer.</b> {html.escape(str(rec.get('text', '')))}</p>"]
    if rec.get("rule_text"):
        parts.append(f"<p class='rule'>{html.escape(str(rec['rule_text']))}</p>")
    nmp = rec.get("nmp") or {}
    if "tolerance" in rec:
        parts.append(
            f"<p class='small'>Test images: {nmp.get('samples', '?'):,} (the same images for "
            f"every point, compared paired). Rule: {html.escape(str(rec.get('decision_rule')))};"
            f" tolerance {100 * rec['tolerance']:g} %p, confidence "
            f"{100 * rec.get('confidence', 0.95):g}%.</p>"
            if isinstance(nmp.get("samples"), int) else "")
    budgets = rec.get("per_budget") or []
    if budgets:
        rows = "".join(f"<tr><td class='num'>{html.escape(str(b.get('timesteps')))}</td>"
                       f"<td>{'yes' if b.get('resolved') else 'no'}</td>"
                       f"<td>{html.escape(str(b.get('text', '')))}</td></tr>" for b in budgets)
        parts.append("<table><tr><th>T</th><th>resolved</th><th>answer at this latency budget"
                     "</th></tr>" + rows + "</table>")
    for note in rec.get("notes") or []:
        parts.append(f"<p class='small'>Note: {html.escape(str(note))}</p>")
    return "\n".join(parts)


def _kv_table(d: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(fmt_value(str(k), v))}"
                   "</td></tr>" for k, v in d.items() if not isinstance(v, dict | list))
    return f"<table>{rows}</table>" if rows else ""


def later_sections_html(run: Path) -> str:
    """Per-layer floors and the optimizer's best design, where the run has them.

    Others add these studies: ``nmpkit layers`` / ``nmpkit optimize`` save their results in the
    run dir, or in ``layers/`` / ``optimize/`` or ``layers-<name>/`` / ``optimize-<name>/`` (one
    per network), read through `nmpkit.report.results`. Anything present is shown (its ``text``
    first, then its scalar fields as a table); absence is not an error.
    """
    from nmpkit.report import results

    out = []
    for title, stem in (("Per-layer floors", "layers"), ("Optimizer's best design", "optimize")):
        folders = [run, run / stem] + sorted(p for p in run.glob(f"{stem}-*") if p.is_dir())
        for d in folders:
            found = results.layers(d) if stem == "layers" else results.optimize(d)
            rec = None if found is None else found.summary
            if not isinstance(rec, dict):
                continue
            net = rec.get("network") or (rec.get("classifier") or {}).get("network")
            head = f"{title}: {net}" if net else title
            body = f"<p>{html.escape(str(rec['text']))}</p>" if rec.get("text") else ""
            best = rec.get("best") if isinstance(rec.get("best"), dict) else rec
            out.append(f"<h2>{html.escape(head)}</h2>{body}{_kv_table(best)}")
    return "\n".join(out)


__all__ = ["answer_html", "fmt_value", "later_sections_html", "stage_table_html"]
