"""The report's ZMP-rule block (issue 11): one line per evaluated classifier of a run.

The report calls the study (``nmpkit.studies.zmp_rule_report.rule_line``), never the other way
round: studies do not import the report.
"""

from __future__ import annotations

import html
from pathlib import Path

from nmpkit.report.extras import networks
from nmpkit.studies.zmp_rule_report import rule_line


def zmp_rule_html(run: Path) -> str:
    """The report's block: one ``rule_line`` per evaluated classifier of ``run`` ('' if none)."""
    lines = [rule_line(Path(run), name, dirs["evaluate"])
             for name, dirs in networks(Path(run)).items() if "evaluate" in dirs]
    items = "".join(f"<li>{html.escape(t)}</li>" for t in lines if t)
    if not items:
        return ""
    return ("<div class='rule'><b>Will the zero floor hurt? The rule of issue 11 "
            "(results/what_makes_zmp_hurt.md), before simulating, beside this run's measurement."
            f"</b><ul>{items}</ul></div>")


__all__ = ["zmp_rule_html"]
