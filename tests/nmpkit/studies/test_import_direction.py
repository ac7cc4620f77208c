"""Layering: the report calls the studies; no study module imports the report (not even lazily)."""

from __future__ import annotations

import ast
from pathlib import Path

import nmpkit.studies

STUDIES = Path(nmpkit.studies.__file__).parent


def report_imports(source: str) -> list[str]:
    """Every ``nmpkit.report…`` module imported anywhere in ``source`` (top level or inside
    functions), as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[:2] == ["nmpkit", "report"]]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[:2] == ["nmpkit", "report"] or (
                    parts == ["nmpkit"] and any(a.name == "report" for a in node.names)):
                found.append(node.module)
    return found


def test_the_checker_sees_lazy_and_top_level_report_imports():
    src = ("import os\nfrom nmpkit.studies import stats\nfrom nmpkit import ml\n"
           "def f():\n    from nmpkit.report.extras import networks\n"
           "    import nmpkit.report.html\nfrom nmpkit import report\n")
    assert sorted(report_imports(src)) == ["nmpkit", "nmpkit.report.extras", "nmpkit.report.html"]


def test_no_study_module_imports_the_report():
    files = sorted(STUDIES.rglob("*.py"))
    assert len(files) > 5  # the package is really there
    bad = {str(f.relative_to(STUDIES)): imps for f in files
           if (imps := report_imports(f.read_text(encoding="utf-8")))}
    assert not bad, f"studies must not import nmpkit.report (the report calls them): {bad}"
