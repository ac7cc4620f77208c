"""The trade-off study: one run serves every budget, the decision on constructed data, the files."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import cosim
from calib import fit
from cosim import convert
from nmpkit.errors import ConfigError
from nmpkit.studies.tradeoff import (
    Classifier,
    TradeoffConfig,
    TradeoffResult,
    evaluate,
    sweep_points,
)
from nmpkit.studies.tradeoff_decide import decide, point_rows, sentence
from nmpkit.studies.tradeoff_sim import (
    correct_at,
    neuron_for,
    pack,
    simulate_budgets,
    simulate_budgets_many,
    unpack,
)
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
    y = torch.randint(0, 4, (700,), generator=g)
    x = centers[y] + 0.6 * torch.randn(700, 12, generator=g)  # signed inputs: floors matter
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[:500]), y[:500]).backward()
        opt.step()
    net = convert(model.eval(), x[:300], percentile=99.9)
    return Classifier(net=net, x=x[500:], y=y[500:], ann_accuracy=0.0, info={"network": "tiny"})


def _cfg(**kw):
    base = dict(calibration="c.json", weights="w.pt", data_root="d", timesteps=(10, 25, 40),
                v_neg_volts=(0.0, -0.25, -1.0), v_dd_volts=(0.8, 1.0), energy_samples=60,
                batch=64)
    return TradeoffConfig(**(base | kw))


def test_sweep_points_cover_the_report_floors(cal):
    pts = sweep_points(cal, [0.0, -0.25, -5.0])
    assert -5.0 not in pts and 0.0 in pts and -0.25 in pts
    for f in (-0.5, -1.0, -2.0):
        assert any(abs(cal.floor_theta(v) - f) < 1e-6 for v in pts)


def test_one_run_serves_every_budget(cal, clf):
    """Accuracy and spike counts at each T from the run to T_max equal a separate run to T."""
    nrn = neuron_for(cal, [ly.shape for ly in clf.net.layers], v_dd_volts=1.0, v_neg_volts=0.0)
    ok, counts = simulate_budgets(clf.net, clf.x, clf.y, nrn, steps=[40, 10, 25], batch=64,
                                  energy_samples=0)
    for k, t in enumerate((10, 25, 40)):
        sep = cosim.simulate(clf.net, clf.x, timesteps=t, neuron=nrn)
        assert ok[k].mean() == pytest.approx(float(sep.accuracy_per_step(clf.y)[-1]), abs=0)
        assert np.array_equal(ok[k], correct_at(sep.output_spikes, clf.y, [t])[0])
        for a, b in zip(counts[t].spike_counts, sep.spike_counts, strict=True):
            assert torch.equal(a.to(torch.int64), b.to(torch.int64))
        assert torch.equal(counts[t].input_synaptic_events, sep.input_synaptic_events)
        for a, b in zip(counts[t].synaptic_events, sep.synaptic_events, strict=True):
            assert torch.equal(a, b)
    assert np.array_equal(unpack(pack(ok[1])), ok[1])



def test_many_neuron_models_in_one_pass_equal_separate_runs(cal, clf):
    """The trade-off's shared pass (cosim.simulate_variants) gives, per neuron model, the same
    correctness and spike counts as one simulate_budgets call per model."""
    shapes = [ly.shape for ly in clf.net.layers]
    models = [neuron_for(cal, shapes, v_dd_volts=vdd, v_neg_volts=v)
              for vdd, v in ((1.0, 0.0), (1.0, -1.0), (0.8, -0.25))]
    models.append(neuron_for(cal, shapes, v_dd_volts=1.0, v_neg_volts=None))  # NMP
    many = simulate_budgets_many(clf.net, clf.x, clf.y, models, steps=[40, 10, 25], batch=64,
                                 energy_samples=70)
    assert len(many) == len(models)
    for nrn, (ok, counts) in zip(models, many, strict=True):
        ok1, counts1 = simulate_budgets(clf.net, clf.x, clf.y, nrn, steps=[40, 10, 25], batch=64,
                                        energy_samples=70)
        assert np.array_equal(ok, ok1)
        for t in (10, 25, 40):
            for a, b in zip(counts[t].spike_counts, counts1[t].spike_counts, strict=True):
                assert torch.equal(a.to(torch.int64), b.to(torch.int64))
    totals = {tuple(int(c.sum()) for c in counts[40].spike_counts) for _, counts in many}
    assert len(totals) > 1  # the models spike differently: a mix-up between them would show

def _vec(n, k, seed):
    """n outcomes, k of them wrong, at seeded positions."""
    v = np.ones(n, dtype=bool)
    v[np.random.default_rng(seed).choice(n, k, replace=False)] = False
    return v


def test_decision_on_constructed_data():
    n = 4000
    nmp = _vec(n, 400, 0)  # 90%
    same = nmp.copy()
    same[np.flatnonzero(nmp)[:5]] = False  # 5 flips worse: drop 0.125 %p, CI well below 0.5
    worse = nmp.copy()
    worse[np.flatnonzero(nmp)[:400]] = False  # drop 10 %p
    pts = [{"v_dd_volts": 1.0, "v_neg_volts": -0.5, "floor_theta": -1.0, "correct": {50: same},
            "energy": {50: {"joules": 2e-9, "samples": n}}},
           {"v_dd_volts": 1.0, "v_neg_volts": 0.0, "floor_theta": 0.0, "correct": {50: worse},
            "energy": {50: {"joules": 1e-9, "samples": n}}}]
    rows = point_rows({50: nmp}, pts, 0.005)
    by = {r["floor_theta"]: r for r in rows}
    assert by[-1.0]["non_inferior"] and not by[0.0]["non_inferior"]
    assert (by[-1.0]["flips_worse"], by[-1.0]["flips_better"]) == (5, 0)
    assert by[0.0]["p_vs_nmp"] < 1e-10 and by[0.0]["images_needed"] is None
    d = decide(rows, tolerance=0.005, default_v_dd=1.0)[0]
    # the cheaper point is clearly worse: the dearer non-inferior one is chosen
    assert d["resolved"] and d["chosen"]["floor_theta"] == -1.0
    assert d["zmp"]["floor_theta"] == 0.0 and d["energy_vs_zmp"] == pytest.approx(1.0)
    assert "within 0.5 %p" in sentence(d, 0.005)
    # unresolved: no flip at all on 100 images cannot show a drop below 0.5 %p
    small = point_rows({50: nmp[:100]}, [{**pts[0], "correct": {50: nmp[:100].copy()}}], 0.005)
    u = decide(small, tolerance=0.005, default_v_dd=1.0)[0]
    assert not u["resolved"] and u["chosen"] is None
    assert u["images_needed"] is not None and u["images_needed"] > 100
    assert "Unresolved" in sentence(u, 0.005) and f"{u['images_needed']:,}" in sentence(u, 0.005)
    # 40 identical outcomes at 50%: Newcombe's interval collapses to [0, 0]; not shown by it
    half = np.arange(40) % 2 == 0
    deg = point_rows({50: half}, [{**pts[0], "correct": {50: half.copy()}}], 0.005)
    assert deg[-1]["drop_ci_high"] == pytest.approx(0.0, abs=1e-12)
    assert not deg[-1]["non_inferior"] and deg[-1]["images_needed"] > 40


def test_config_names_bad_fields():
    with pytest.raises(ConfigError, match="timesteps"):
        _cfg(timesteps=(0, 10))
    with pytest.raises(ConfigError, match="tolerance.*1.5"):
        _cfg(tolerance=1.5)
    with pytest.raises(ConfigError, match="v_neg_volts"):
        _cfg(v_neg_volts=(0.3,))
    with pytest.raises(ConfigError, match="scheduler.*tcp://host:8786.*got ' '"):
        _cfg(scheduler=" ")
    assert _cfg(timesteps=(40, 10, 10)).timesteps == (10, 40)


def test_study_files_resume_and_csv_columns(cal, clf, tmp_path):
    parts = tmp_path / "parts"
    cfg = _cfg()
    rec = evaluate(cal, clf, cfg, parts_dir=parts)
    res = TradeoffResult(rec | {"provenance": {"test": True}})
    res.save(tmp_path / "out")
    df = pd.read_csv(tmp_path / "out" / "tradeoff.csv")
    for c in ("network", "preset", "v_dd_volts", "v_neg_volts", "floor_theta", "timesteps",
              "samples", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "p_vs_nmp",
              "energy_joules", "flips_better", "flips_worse"):
        assert c in df, c
    n_pts = sum(len(sweep_points(cal.at(v), cfg.v_neg_volts)) for v in cfg.v_dd_volts)
    assert len(df) == (n_pts + 1) * len(cfg.timesteps)  # NMP's rows too
    assert (df["samples"] == 200).all() and (df["accuracy_ci_low"] <= df["accuracy"]).all()
    # energy grows with T at a fixed point (more steps, more spikes and static power)
    g = df[(df["condition"] == "floor") & (df["v_neg_volts"] == 0.0) & (df["v_dd_volts"] == 1.0)]
    assert g.sort_values("timesteps")["energy_joules"].is_monotonic_increasing
    r = json.loads((tmp_path / "out" / "recommendation.json").read_text())
    assert r["tolerance"] == 0.005 and r["confidence"] == 0.95 and r["decision_rule"]
    assert r["provenance"] and r["timesteps"] == 40 and len(r["per_budget"]) == 3
    assert r["text"] and r["rule_text"].startswith("The study's −2 θ rule")
    assert TradeoffResult.load(tmp_path / "out").record["rows"] == json.loads(
        json.dumps(res.record["rows"]))
    # resume: stored parts are reused (a poisoned one shows through), never for other budgets
    f = sorted(parts.glob("neuron_*.json"))[0]
    part = json.loads(f.read_text())
    part["correct"] = {t: "0" * 200 for t in part["correct"]}
    f.write_text(json.dumps(part))
    again = evaluate(cal, clf, cfg, parts_dir=parts)
    assert any(r["accuracy"] == 0.0 for r in again["rows"])
    other = evaluate(cal, clf, _cfg(timesteps=(10, 40)), parts_dir=parts)
    assert not any(r["accuracy"] == 0.0 for r in other["rows"])
    # a truncated part heals: discarded with a warning and recomputed (was JSONDecodeError)
    f.write_text('{"correct": {')
    with pytest.warns(RuntimeWarning, match=f"discarding the unreadable trade-off part {f.name}"):
        healed = evaluate(cal, clf, cfg, parts_dir=parts)
    assert json.dumps(healed["rows"], sort_keys=True) == json.dumps(rec["rows"], sort_keys=True)
    assert "points" in json.loads(f.read_text())


def test_each_v_dd_runs_with_its_own_calibrated_neuron(cal, clf):
    """The point at V_DD = 0.8 V uses the 0.8 V calibration's θ and floor, not the nominal one's."""
    from nmpkit.studies.tradeoff_sim import neuron_supply

    assert 0.8 in cal.v_dd_grid and cal.at(0.8).theta_volts != cal.theta_volts
    assert neuron_supply(cal, 0.8) == 0.8 and neuron_supply(cal, 0.79) == 0.8
    shapes = [ly.shape for ly in clf.net.layers]
    low = neuron_for(cal, shapes, v_dd_volts=0.8, v_neg_volts=-0.25)
    ref = cosim.calibrated_neurons(cal.at(0.8), shapes, v_neg_volts=-0.25)
    nom = neuron_for(cal, shapes, v_dd_volts=1.0, v_neg_volts=-0.25)
    assert low[0].lower_bound == pytest.approx(cal.at(0.8).floor_theta(-0.25))
    assert low[0].lower_bound == pytest.approx(ref[0].lower_bound)
    assert nom[0].lower_bound == pytest.approx(cal.floor_theta(-0.25))
    assert low[0].lower_bound != pytest.approx(nom[0].lower_bound)


def test_sentence_says_zmp_suffices_when_zmp_beats_nmp():
    """Short latency: the clipped neuron converges faster, so the answer is "ZMP suffices", not a
    negative drop; a floor point that merely ties keeps the "within" phrasing."""
    n = 2000
    nmp = _vec(n, 600, 0)  # 70%
    better = nmp.copy()
    better[np.flatnonzero(~nmp)[:300]] = True  # 300 flips better: +15 %p
    pts = [{"v_dd_volts": 1.0, "v_neg_volts": 0.0, "floor_theta": 0.0, "correct": {25: better},
            "energy": {25: {"joules": 1e-9, "samples": n}}},
           {"v_dd_volts": 1.0, "v_neg_volts": -0.5, "floor_theta": -1.0,
            "correct": {25: nmp.copy()}, "energy": {25: {"joules": 2e-9, "samples": n}}}]
    d = decide(point_rows({25: nmp}, pts, 0.005), tolerance=0.005, default_v_dd=1.0)[0]
    assert d["chosen"]["floor_theta"] == 0.0
    s = sentence(d, 0.005)
    assert s.startswith("ZMP suffices at T = 25") and "15.00 %p more accurate than NMP" in s
    assert "drop -" not in s and "loses" not in s
    # the same points where ZMP is dearer: the tied floor is chosen, and ZMP's gain is named
    pts[0]["energy"] = {25: {"joules": 3e-9, "samples": n}}
    d = decide(point_rows({25: nmp}, pts, 0.005), tolerance=0.005, default_v_dd=1.0)[0]
    s = sentence(d, 0.005)
    assert s.startswith("Floor -1.00 θ") and "within 0.5 %p" in s
    assert "which is 15.00 %p more accurate than NMP" in s
