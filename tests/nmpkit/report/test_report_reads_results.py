"""The report reads the studies' results through their own loaders, not by their file names."""

from pathlib import Path

import nmpkit.report
from nmpkit.studies import floor_sweep, layers_study, modulation, optimize_output, tradeoff_io

REPORT = Path(nmpkit.report.__file__).parent

# the files the studies own, by the names their writers use
OWNED = (floor_sweep.CURVES, floor_sweep.FINALS, floor_sweep.CORRELATION,
         floor_sweep.COMPARISONS, "nmp.json", tradeoff_io.RESULT_FILE, "tradeoff.csv",
         "recommendation.json", modulation.RESULT_FILE, "modulation.csv", "cosim_check.json",
         "counts.csv", layers_study.RESULT_FILE, layers_study.DIAGNOSTIC_FILE,
         optimize_output.RESULT_FILE, optimize_output.TRIALS_FILE)


def test_the_checker_finds_a_literal():
    assert _literals('df = pd.read_csv(run / "evaluate/floors.csv")\n') == ["floors.csv"]
    assert _literals("rec = _read(d / 'optimize.json')\n") == ["optimize.json"]


def _literals(source: str) -> list[str]:
    return [name for name in OWNED if f'{name}"' in source or f"{name}'" in source]


def test_no_report_module_names_a_study_result_file():
    files = sorted(REPORT.glob("*.py"))
    assert len(files) > 5
    bad = {f.name: found for f in files if (found := _literals(f.read_text(encoding="utf-8")))}
    assert not bad, f"read these through the study's XResult.load: {bad}"
