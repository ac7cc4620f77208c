"""`nmpkit optimize` through `main([...])`: arguments → study → optimize.json/.csv → the summary.

No ngspice: every design the study asks for (the reference over the −2 θ rule's V_NEG grid, the
rule's design, both designs of a two-value V_NEG space) finds a fitted calibration already in
``OUT/designs/<key>/`` (``optimize_eval.design_key``), the same reuse a rerun of a study gets; the
calibration is the three-level test calibration of the layers tests. What runs is the command,
the classifier loading (the shipped MNIST weights, 12 random images), Optuna and the engine.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nmpkit.app.cli import main
from tests.nmpkit.studies.layers_fixtures import three_level_calibration

WEIGHTS = Path(__file__).resolve().parents[3] / "nmpkit" / "weights" / "mnist.pt"
SPACE = "v_neg_volts=-0.5:-0.49"


def _seed_designs(out: Path) -> Path:
    """A calibration for every design the study below characterizes (as `optimize.baseline`
    and `optimize_space.sample_design` build them); the calibration file."""
    from circuits.design import preset
    from nmpkit.studies.optimize import RULE_V_NEG_GRID, STUDY_RULE_FLOOR
    from nmpkit.studies.optimize_eval import design_key, trial_grid

    cal = three_level_calibration()
    ref = preset("default", v_dd_volts=1.0)
    v_rule = round(cal.v_neg_for_floor(STUDY_RULE_FLOOR), 4)
    designs = [(ref, trial_grid(ref, tuple(sorted(set(RULE_V_NEG_GRID), reverse=True))))]
    for v in (v_rule, -0.5, -0.49):
        d = dataclasses.replace(preset("default"), v_neg_volts=v,
                                v_rst_volts=min(ref.v_rst_volts, v))
        designs.append((d, trial_grid(d)))
    for d, grid in designs:
        cal.save(out / "designs" / design_key(d, grid) / "calibration.json")
    return out / "designs" / design_key(*designs[0]) / "calibration.json"


@pytest.fixture()
def npz(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "mnist.npz", x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 40),
             x_test=rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 12))
    return tmp_path / "mnist.npz"


def test_optimize_end_to_end_on_fitted_designs(tmp_path, npz, capsys):
    out = tmp_path / "out"
    cal_path = _seed_designs(out)
    rc = main(["optimize", "--weights", str(WEIGHTS), "--data-root", str(npz), "--limit", "12",
               "--timesteps", "12", "--n-trials", "1", "--startup-trials", "1", "--space",
               SPACE, "--tolerance", "0.5", "--out", str(out), "--threads", "1", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    js = json.loads((out / "optimize.json").read_text())
    assert summary["study_name"] == js["study_name"] and summary["samples"] == js["samples"] == 12
    assert js["timesteps"] == 12 and js["n_trials"] == 1
    assert js["provenance"]["command"] == "nmpkit optimize"
    # every design came from OUT/designs: no ngspice point was simulated
    assert summary["spice"]["designs_new"] == 0 and summary["spice"]["designs_reused"] == 3
    assert summary["spice"]["points_simulated"] == 0
    (t,) = js["trials"]
    assert t["state"] == "COMPLETE" and t["design"]["v_neg_volts"] in (-0.5, -0.49)
    assert js["rule"]["v_neg_volts"] == pytest.approx(-1.0)  # −2 θ on the three-level table
    # the reference's NMP accuracy and the trial's agree with an independent simulate() of the
    # same classifier and calibration
    import cosim
    from calib import Calibration
    from cosim.calibrated import calibrated_neurons
    from nmpkit.studies.classifier import load_classifier

    clf = load_classifier(network="mnist", weights=WEIGHTS, dataset="mnist", data_root=npz,
                          limit=12)
    cal = Calibration.load(cal_path)
    shapes = [ly.shape for ly in clf.net.layers]
    for v_neg, acc in ((None, js["nmp"]["accuracy"]), (t["design"]["v_neg_volts"], t["accuracy"])):
        ref = cosim.simulate(clf.net, clf.x, timesteps=12,
                             neuron=calibrated_neurons(cal, shapes, v_neg_volts=v_neg))
        assert float(ref.accuracy_per_step(clf.y)[-1]) == pytest.approx(acc["estimate"])
        assert acc["n"] == 12
    assert len(pd.read_csv(out / "optimize.csv")) == 1


@pytest.mark.parametrize("extra, word", [
    (["--n-trials", "0"], "n_trials"),
    (["--space", "bogus=1:2"], "bogus"),
    (["--threads", "0"], "--threads"),
    (["--scheduler", "nowhere"], "--scheduler"),
])
def test_optimize_bad_input_one_line(tmp_path, npz, capsys, extra, word):
    argv = ["optimize", "--weights", str(WEIGHTS), "--data-root", str(npz), "--limit", "4",
            "--out", str(tmp_path / "o"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err, err
