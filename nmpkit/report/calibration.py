"""The report's calibration section: the run's neuron preset at every calibrated V_DD (rest, θ,
floor at V_NEG 0 / −0.5 / −1 V, energy per spike and per inhibitory event at each V_NEG, each
energy term's V_DD exponent and regime), beside the other preset's figures measured in
``results/calibration/README.md``. No "~V²" wording: each term shows the exponent it has.
"""

from __future__ import annotations

import html
from pathlib import Path

V_NEGS = (0.0, -0.5, -1.0)
OTHER = {
    "default": ("raised_rest", "rests +0.32 / +0.29 / +0.27 V above ground at V_NEG 0 / −0.5 / "
                "−1 V, θ 0.20–0.25 V (a fixed charge packet), floors −1.56 / −3.44 / −5.06 θ "
                "(V_DD 1 V)"),
    "raised_rest": ("default", "rests at ground (−0.002 V), θ 0.49 V at every V_NEG (the sense "
                    "inverter's switching point), floors +0.00 / −1.02 / −2.02 θ (V_DD 1 V)"),
}
"""The other preset's rest, θ and floors (``bench/neuron_table.py``, independent testbench)."""


def calibration_html(run: Path) -> str:
    """The section's HTML, or "" when the run has no calibration."""
    from nmpkit.report import results

    cal = results.calibration(Path(run))
    if cal is None:
        return ""
    design = cal.sources.get("fi", {}).get("provenance", {}).get("design", {})
    name = "raised_rest" if design.get("topology", "raised_rest") == "raised_rest" else "default"
    prof = results.energy_profile(Path(run))
    rows = []
    for v_dd in cal.v_dd_grid:
        c = cal.at(v_dd)
        floors = []
        for v in V_NEGS:
            try:
                floors.append(f"{c.floor_theta(v):+.2f}")
            except ValueError:  # outside the measured floor range
                floors.append("–")
        e_spike, e_inh = "–", "–"
        if prof is not None:
            p = prof[(abs(prof.v_dd_volts - v_dd) < 1e-9) & (prof.eta == 0.5)
                     & (prof.rate_hertz == 1e4)]
            by_v = {round(float(r.v_neg_volts), 3): r for r in p.itertuples()}
            if by_v:
                e_spike = " / ".join(f"{by_v[v].pj_per_spike:.2f}" if v in by_v else "–"
                                     for v in V_NEGS)
                e_inh = " / ".join(f"{by_v[v].pj_per_inh_event:.2f}" if v in by_v else "–"
                                   for v in V_NEGS)
        rows.append(f"<tr><td class=num>{v_dd:g}</td><td class=num>{c.rest_at(0.0):+.3f}</td>"
                    f"<td class=num>{c.theta_at(0.0):.3f}</td><td class=num>"
                    f"{' / '.join(floors)}</td><td class=num>{e_spike}</td>"
                    f"<td class=num>{e_inh}</td></tr>")
    terms = ""
    if prof is not None:
        p = prof[(prof.eta == 0.5) & (prof.rate_hertz == 1e4) & (prof.v_neg_volts == -0.5)]
        terms = "; ".join(
            f"{r.v_dd_volts:g} V: logic {r.logic_regime} (exponent {r.logic_v_dd_exponent:.2f}), "
            f"crowbar {r.crowbar_v_dd_exponent:.1f}, excitatory event {r.exc_v_dd_exponent:.2f}, "
            f"inhibitory event {r.inh_v_dd_exponent:.2f}" for r in p.itertuples())
    other, text = OTHER[name]
    return (f"<h2>Calibration</h2><p>Neuron preset <code>{html.escape(name)}</code>; energies at "
            "10 kHz, charge-pump efficiency η = 0.5, per spike of the neuron itself and per "
            "inhibitory event of unit weight, at V_NEG 0 / −0.5 / −1 V.</p>"
            "<table><tr><th>V_DD (V)</th><th>rest (V)</th><th>θ (V)</th><th>floor (θ)</th>"
            "<th>E_spike (pJ)</th><th>E_inh (pJ)</th></tr>" + "".join(rows) + "</table>"
            + (f"<p class=small>V_DD exponents and regimes (V_NEG −0.5 V): "
               f"{html.escape(terms)}.</p>" if terms else "")
            + f"<p class=small>The other preset, <code>{other}</code>, {html.escape(text)}; "
            "both side by side with their energies: <code>results/calibration/README.md</code>."
            "</p>")


__all__ = ["calibration_html"]
