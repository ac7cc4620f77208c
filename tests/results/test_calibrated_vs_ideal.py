"""results/calibrated_vs_ideal.py: the floor option's one-line errors, the variants it builds
(the calibrated ones from a calibration, the ideal ones plain IF), and the page's paired
figures against a hand count."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

import cosim
from calib.calibration import Calibration

_RES = Path(__file__).parents[2] / "results"
sys.path.insert(0, str(_RES))
_SPEC = importlib.util.spec_from_file_location("calibrated_vs_ideal",
                                               _RES / "calibrated_vs_ideal.py")
cvi = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cvi)
import calibrated_vs_ideal_report as report  # noqa: E402


def test_floors_parse_sorted_and_bad_ones_named():
    assert cvi.parse_floors("-0.3,-0.1, -0.2,-0.1") == [-0.1, -0.2, -0.3]
    assert cvi.parse_floors("") == []
    for bad in ("0", "0.2", "x", "nan"):
        with pytest.raises(SystemExit, match=f"--floors: expected .* got '{bad}'") as e:
            cvi.parse_floors(f"-0.1,{bad}")
        assert "\n" not in str(e.value)


def test_variants_ideal_plain_and_calibrated_from_the_calibration():
    cal = Calibration.ideal()
    m = cvi.variants(cal, [(4,), (2,)], 1.0, [-0.5])
    assert list(m) == ["ideal NMP", "ideal ZMP", "calibrated NMP", "calibrated ZMP", "ideal -0.5"]
    assert m["ideal NMP"] == cosim.IFNeuron() and m["ideal ZMP"].lower_bound == 0.0
    assert m["ideal -0.5"].lower_bound == -0.5
    assert len(m["calibrated NMP"]) == 2 and m["calibrated NMP"][0].lower_bound is None
    assert m["calibrated ZMP"][1].lower_bound == min(0.0, cal.floor_theta(0.0))


def _summary(bits: dict[str, str]) -> dict:
    n = len(next(iter(bits.values())))
    nd = {"lower_bound": None, "refractory_steps": 0, "transfer": False, "threshold": 1.0,
          "gain": 1.0}
    return {"network": "mnist", "images": n, "timesteps": 10, "steps": [10],
            "ann_accuracy": 0.9, "calibrated_zmp_floor_theta": 0.0, "v_dd_volts": 1.0,
            "calibrated_zmp_lower_bound": 0.0225, "calibrated_start_theta": 0.0226,
            "calibration": "cal.json", "wall_seconds": 1.0, "command": "python x",
            "info": {"weights": "w.pt", "weights_sha256": "0" * 64, "data_source": "d",
                     "percentile": 99.99, "calibration_samples": 1000},
            "variants": {k: {"neuron": nd, "layer_rates": [0.1],
                             "correct": {"10": v}} for k, v in bits.items()}}


def test_page_pairs_match_a_hand_count(tmp_path):
    # 10 images: ideal NMP right on 9, calibrated NMP on 6 (it loses 3, wins none)
    bits = {"ideal NMP": "1111111110", "calibrated NMP": "0001111110",
            "ideal ZMP": "1111111100", "calibrated ZMP": "1111111100"}
    (tmp_path / "mnist_n10_T10.json").write_text(json.dumps(_summary(bits)))
    report.write_report(tmp_path, tmp_path / "page.md")
    page = (tmp_path / "page.md").read_text()
    row = next(ln for ln in page.splitlines() if ln.startswith("| calibrated NMP − ideal NMP"))
    assert "| -30.00 (" in row and "| 0 / 3 | 0.25 |" in row  # binomial 2·0.5³ = 0.25
    assert "| ideal NMP (floor none) | 90.00% (59.58–98.21) |" in page  # Wilson 9/10
    zmp = next(ln for ln in page.splitlines() if ln.startswith("| calibrated ZMP − ideal ZMP"))
    assert "| +0.00 (" in zmp and "| 0 / 0 | 1 |" in zmp
