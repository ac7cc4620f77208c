"""`run_optimize` end to end with real ngspice: a tiny study, resume, seed, cache hits.

One real study (2 trials on a 2-value V_NEG space, the quick grid's 8 currents) characterizes two
designs in ngspice; the resume and seed tests reuse its out dir, so they run no ngspice at all
(verified through the SPICE counters).
"""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import cosim
from circuits.ngspice import available
from nmpkit.studies.optimize import OptimizeConfig, run_optimize
from nmpkit.studies.optimize_output import CSV_COLUMNS, SCHEMA, unpack
from nmpkit.studies.tradeoff import Classifier

pytestmark = [pytest.mark.ngspice, pytest.mark.skipif(not available(),
                                                      reason="needs libngspice")]
torch.set_num_threads(1)

CFG = dict(timesteps=30, seed=3, space=("v_neg_volts=-0.5:-0.49",), tolerance=0.2,
           rule_v_neg_grid=(0.0, -0.5), grid_currents=8, startup_trials=1, workers=2)


@pytest.fixture(scope="module")
def clf():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    centers = torch.randn(3, 8, generator=g)
    y = torch.randint(0, 3, (360,), generator=g)
    x = centers[y] + 0.5 * torch.randn(360, 8, generator=g)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[:240]), y[:240]).backward()
        opt.step()
    net = cosim.convert(model.eval(), x[:120], percentile=99.9)
    return Classifier(net=net, x=x[240:], y=y[240:], ann_accuracy=0.0, info={"net": "tiny"})


@pytest.fixture(scope="module")
def first(clf, tmp_path_factory):
    out = tmp_path_factory.mktemp("opt")
    res = run_optimize(OptimizeConfig(n_trials=2, **CFG), clf, out)
    return out, res


def test_study_records_every_trial_with_provenance(first, clf):
    out, res = first
    js = json.loads((out / "optimize.json").read_text())
    assert js["schema"] == SCHEMA and js["n_trials"] == 2 and js["samples"] == 120
    assert "unavailable" in js["rule"]  # the grid (0, -0.5 V) never reaches a -2 θ floor
    for t in js["trials"]:
        assert t["state"] == "COMPLETE"
        assert t["design"]["v_neg_volts"] in (-0.5, -0.49)
        assert len(t["calibration_digest"]) == 64
        a = t["accuracy"]
        assert a["n"] == 120 and a["ci_low"] <= a["estimate"] <= a["ci_high"]
        assert t["energy_joules"] > 0 and t["floor_theta"] < 0
        # the per-image record agrees with an independent simulate() on the same calibration
        from calib import Calibration
        from cosim.calibrated import calibrated_neurons

        cal = Calibration.load(out / "designs" / t["design_key"] / "calibration.json")
        ref = cosim.simulate(clf.net, clf.x, timesteps=30, neuron=calibrated_neurons(
            cal, [ly.shape for ly in clf.net.layers], v_neg_volts=t["design"]["v_neg_volts"]))
        assert float(ref.accuracy_per_step(clf.y)[-1]) == pytest.approx(a["estimate"])
        assert unpack(t["correct_bits"], 120).sum() == a["k"]
    df = pd.read_csv(out / "optimize.csv")
    assert list(df.columns) == list(CSV_COLUMNS) and len(df) == 2
    front = js["pareto_front"]
    assert all(f["feasible"] for f in front)
    if js["best"]:
        assert js["best"]["energy_joules"] == min(f["energy_joules"] for f in front)
    # the reference design at -0.5 V was characterized first; a trial at -0.5 V reuses it whole
    sp = js["spice"]
    keys = {js["nmp"]["design_key"]} | {t["design_key"] for t in js["trials"]}
    assert sp["designs_new"] == len(keys) and sp["designs_new"] + sp["designs_reused"] == 3
    assert sp["points_simulated"] <= sp["points_total"]


def test_resume_continues_without_repeating(first, clf, tmp_path):
    out, res = first
    again = tmp_path / "again"
    shutil.copytree(out, again)
    res2 = run_optimize(OptimizeConfig(n_trials=4, **CFG), clf, again)
    assert [t["number"] for t in res2["trials"]] == [0, 1, 2, 3]
    for a, b in zip(res["trials"], res2["trials"][:2]):
        assert a["params"] == b["params"] and a["correct_bits"] == b["correct_bits"]
    # only two designs exist in this space, both characterized already: no ngspice at all
    assert res2["spice"]["designs_new"] == 0 and res2["spice"]["points_simulated"] == 0
    res3 = run_optimize(OptimizeConfig(n_trials=4, **CFG), clf, again)
    assert len(res3["trials"]) == 4  # the total is reached: nothing more runs


def test_seed_reproduces_the_trials(first, clf, tmp_path):
    out, res = first
    fresh = tmp_path / "fresh"
    shutil.copytree(out, fresh)
    (fresh / "optuna.db").unlink()
    res2 = run_optimize(OptimizeConfig(n_trials=2, **CFG), clf, fresh)
    assert [t["params"] for t in res2["trials"]] == [t["params"] for t in res["trials"]]
    assert [t["energy_joules"] for t in res2["trials"]] == pytest.approx(
        [t["energy_joules"] for t in res["trials"]])
    assert res2["spice"]["designs_new"] == 0


def test_accuracy_target_marks_infeasible(first, clf, tmp_path):
    out, _ = first
    strict = tmp_path / "strict"
    shutil.copytree(out, strict)
    cfg = {**CFG, "tolerance": 0.0, "target_accuracy": 1.0}  # Wilson low < 1 always
    res = run_optimize(OptimizeConfig(n_trials=1, **cfg), clf, strict)
    assert res["best"] is None and res["pareto_front"] == []
    assert all(not t["feasible"] and t["constraint"] > 0 for t in res["trials"])
    assert np.isfinite(res["trials"][0]["energy_joules"])
