"""The report's calibration section against the calibration and profile it reads."""

import shutil
from pathlib import Path

import pandas as pd

from calib.calibration import Calibration
from nmpkit.report.calibration import calibration_html

RESULTS = Path(__file__).resolve().parents[3] / "results" / "calibration"


def test_calibration_section_reports_every_v_dd_from_its_files(tmp_path):
    (tmp_path / "calibrate").mkdir()
    (tmp_path / "characterize").mkdir()
    shutil.copy(RESULTS / "calibration-default.json", tmp_path / "calibrate" / "calibration.json")
    shutil.copy(RESULTS / "energy_profile.csv", tmp_path / "characterize" / "energy_profile.csv")
    text = calibration_html(tmp_path)
    cal = Calibration.load(RESULTS / "calibration-default.json")
    prof = pd.read_csv(RESULTS / "energy_profile.csv")
    assert "preset <code>default</code>" in text and "raised_rest" in text
    for v_dd in cal.v_dd_grid:  # one row per calibrated V_DD, with that V_DD's own numbers
        c = cal.at(v_dd)
        row = prof[(prof.v_dd_volts == v_dd) & (prof.eta == 0.5) & (prof.rate_hertz == 1e4)
                   & (prof.v_neg_volts == -1.0)].iloc[0]
        assert f"<td class=num>{v_dd:g}</td><td class=num>{c.rest_at(0.0):+.3f}</td>" in text
        assert f"{c.floor_theta(-1.0):+.2f}</td>" in text
        assert f"/ {row.pj_per_inh_event:.2f}</td></tr>" in text
    assert "V²" not in text and "exponent" in text
    assert calibration_html(tmp_path / "nothing") == ""
