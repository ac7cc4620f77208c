import json

import numpy as np
import pytest
import torch
from torch import nn

from calib import fit
from cosim import convert
from nmpkit.studies.cosim_check import CheckPoint, summarize
from nmpkit.studies.tradeoff import Classifier, run_tradeoff, sweep_points, write_outputs
from tests.calib import synth_tables as syn

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


@pytest.fixture(scope="module")
def clf():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    centers = torch.randn(4, 12, generator=g)
    y = torch.randint(0, 4, (800,), generator=g)
    x = centers[y] + 0.6 * torch.randn(800, 12, generator=g)  # signed inputs: floors matter
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[:600]), y[:600]).backward()
        opt.step()
    net = convert(model.eval(), x[:300], percentile=99.9)
    return Classifier(net=net, x=x[600:], y=y[600:], ann_accuracy=0.0, info={})


def test_sweep_points_cover_the_report_floors(cal):
    pts = sweep_points(cal, [0.0, -0.25, -5.0])
    assert -5.0 not in pts and 0.0 in pts and -0.25 in pts
    for f in (-0.5, -1.0, -2.0):
        assert any(abs(cal.floor_theta(v) - f) < 1e-6 for v in pts)


def test_tradeoff_pareto_choice_and_resume(cal, clf, tmp_path):
    parts = tmp_path / "parts"
    res = run_tradeoff(cal, clf, v_neg_volts=[0.0, -0.25, -1.0], v_dd_volts=[0.8, 1.0, 1.5, 1.8],
                       timesteps=40, parts_dir=parts)
    pts = res["points"]
    priced = [p for p in pts if p["energy_joules"] is not None]
    # beyond the measured crowbar edge no law is assumed: those points are unpriced
    assert all(p["energy_joules"] is None for p in pts if p["v_dd_volts"] == 1.8)
    assert all(p["regime"] == "crowbar" for p in pts if p["v_dd_volts"] == 1.5)
    # Pareto: no priced point dominates a Pareto point
    for p in (q for q in priced if q["pareto"]):
        assert not any(q["energy_joules"] < p["energy_joules"] and q["accuracy"] > p["accuracy"]
                       for q in priced)
    c = res["chosen"]
    if c is not None:
        assert c["accuracy"] >= res["nmp"]["accuracy"] - 0.001 - 1e-12
        assert all(q["energy_joules"] >= c["energy_joules"] for q in priced
                   if q["accuracy"] >= res["nmp"]["accuracy"] - 0.001 - 1e-12)
    assert res["rule"]["floor_theta"] == pytest.approx(-2.0, abs=1e-6)
    assert [r["target_floor_theta"] for r in res["by_floor"]] == [0.0, -0.5, -1.0, -2.0]
    # energy per inference grows with V_DD at a fixed V_NEG (quadratic regime)
    e = {p["v_dd_volts"]: p["energy_joules"] for p in pts if p["v_neg_volts"] == 0.0}
    assert e[0.8] < e[1.0] < e[1.5]
    # resume: stored parts are reused, not recomputed (a poisoned part shows through)
    f = next(parts.glob("vneg_nmp_vdd_*.json"))  # keyed by the V_DD set and the calibration's V_DD
    rec = json.loads(f.read_text())
    rec["accuracy"] = 0.123
    f.write_text(json.dumps(rec))
    again = run_tradeoff(cal, clf, v_neg_volts=[0.0, -0.25, -1.0],
                         v_dd_volts=[0.8, 1.0, 1.5, 1.8], timesteps=40, parts_dir=parts)
    assert again["nmp"]["accuracy"] == 0.123
    # ... but never for another V_DD set (the cache key includes v_dd_volts)
    other = run_tradeoff(cal, clf, v_neg_volts=[0.0], v_dd_volts=[1.0], timesteps=40,
                         parts_dir=parts)
    assert other["nmp"]["accuracy"] != 0.123
    # a truncated part (a killed write outside atomic_write, a full disk) heals: recomputed
    f.write_text('{"accuracy": 0.1')
    with pytest.warns(RuntimeWarning, match=f"discarding the unreadable trade-off part {f.name}"):
        healed = run_tradeoff(cal, clf, v_neg_volts=[0.0, -0.25, -1.0],
                              v_dd_volts=[0.8, 1.0, 1.5, 1.8], timesteps=40, parts_dir=parts)
    assert healed["nmp"]["accuracy"] == res["nmp"]["accuracy"]
    assert json.loads(f.read_text())["accuracy"] == res["nmp"]["accuracy"]
    paths = write_outputs(tmp_path / "out", res, {"provenance": {"test": True}})
    assert (tmp_path / "out" / "tradeoff.csv").is_file()
    assert json.loads((tmp_path / "out" / "tradeoff.json").read_text())["provenance"]
    assert len(paths) >= 2


def test_summarize_counts():
    c = [np.array([10, 20]), np.array([5])]
    pts = [CheckPoint(v_neg_volts=0.0, sample=0, circuit=c,
                      cosim={"calibrated": [np.array([10, 21]), np.array([5])],
                             "ideal_nominal": [np.array([12, 24]), np.array([7])],
                             "ideal_unit": [np.array([10, 20]), np.array([5])]},
                      ngspice_seconds=1.0, gate_seconds=1e-7)]
    rows = {r["model"]: r for r in summarize(pts)}
    assert rows["calibrated"]["mae"] == pytest.approx(1 / 3)
    assert rows["calibrated"]["rel_mae"] == pytest.approx((1 / 3) / (35 / 3))
    assert rows["ideal_nominal"]["mae"] == pytest.approx(8 / 3)
    assert rows["ideal_unit"]["rel_mae"] == 0.0
    assert rows["calibrated"]["rel_mae_layer0"] == pytest.approx(0.5 / 15)
