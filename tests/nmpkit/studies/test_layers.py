"""Per-layer floors: the search on a network whose answer is known, against brute force."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

import cosim
from nmpkit.errors import ConfigError
from nmpkit.studies import stats
from nmpkit.studies.layers import check_tolerance, floor_levels, make_groups
from nmpkit.studies.layers_eval import Evaluator, final_correct
from nmpkit.studies.layers_output import SCHEMA, diagnostic_rows, summarize, write_outputs
from nmpkit.studies.layers_search import search_floors
from tests.nmpkit.studies.layers_fixtures import known_network, three_level_calibration

torch.set_num_threads(1)
T = 64
TOL = 0.02


@pytest.fixture(scope="module")
def setup():
    cal = three_level_calibration()
    net, x, y = known_network()
    levels = floor_levels(cal)
    groups = make_groups([ly.name for ly in net.layers])
    ev = Evaluator(cal, net, x, y, groups=groups, levels=levels, timesteps=T, batch=128)
    return cal, net, x, y, ev, search_floors(ev, tolerance=TOL)


def test_levels_deepest_first_zmp_last():
    lv = floor_levels(three_level_calibration())
    assert [v.floor_theta for v in lv] == pytest.approx([-40.0, -1.0, 0.0])
    assert [v.v_neg_volts for v in lv] == [-20.0, -0.5, 0.0]


def test_search_puts_the_constant_current_layer_at_zmp_and_keeps_the_output_deep(setup):
    cal, net, x, y, ev, found = setup
    hidden, output = 0, 1
    assert found["chosen"][hidden] == 2  # ZMP: its input is a constant current
    assert found["chosen"][output] == 0  # the output layer loses class 1 at ZMP and at -1 θ
    assert found["global"] == (0, 0)
    zc = found["zmp_checks"]
    assert zc[ev.groups.names[hidden]][1] and not zc[ev.groups.names[output]][1]
    # the hidden layer's spikes at ZMP are NMP's exactly (what makes the answer known)
    nmp = cosim.simulate(net, x, timesteps=T, lower_bound=None)
    zmp = cosim.simulate(net, x, timesteps=T, lower_bound=0.0)
    assert torch.equal(nmp.spike_counts[hidden], zmp.spike_counts[hidden])


def test_search_matches_brute_force(setup):
    cal, net, x, y, ev, found = setup
    nmp = ev(None)
    best = None
    for alloc in itertools.product(range(len(ev.levels)), repeat=len(ev.groups.names)):
        e = ev(alloc)
        if stats.non_inferior(stats.compare(nmp.correct, e.correct), TOL) and (
                best is None or e.energy_joules < ev(best).energy_joules):
            best = alloc
    assert found["chosen"] == best


def test_cache_reuses_identical_allocations(setup):
    cal, net, x, y, ev, found = setup
    n, hits = ev.simulations, ev.cache_hits
    first = ev((2, 0))
    assert ev((2, 0)) is first and [2, 0] and ev.simulations == n
    assert ev.cache_hits == hits + 2
    # the search simulated each allocation once: NMP + 3 uniform + the moves it tried
    assert found["trace"] and len({a for a, _, _ in found["trace"]}) == len(found["trace"])


def test_final_correct_is_the_readout_of_accuracy_per_step(setup):
    cal, net, x, y, ev, found = setup
    res = cosim.simulate(net, x, timesteps=T, lower_bound=0.0)
    assert final_correct(res, y).mean() == pytest.approx(float(res.accuracy_per_step(y)[-1]))


def test_energy_per_layer_prices_each_layer_at_its_own_v_neg(setup):
    """Independent hand sum: spikes × (E_vdd + E_vneg(V)) + weighted events × E_syn + static."""
    cal, net, x, y, ev, found = setup
    alloc = (2, 0)
    e = ev(alloc)
    res = cosim.simulate(net, x, cosim.SimConfig(
        timesteps=T, neuron=tuple(ev._neuron(i, v) for i, v in enumerate(e.v_neg_by_layer))))
    from cosim.energy_common import weighted_fan_out

    e_vdd, _ = cal.e_spike_vdd(cal.v_dd_volts)
    e_syn = cal.e_syn_joules(cal.v_dd_volts)
    b = x.shape[0]
    total = float((x.abs() @ weighted_fan_out(net, -1).double().reshape(-1).float()).sum()) \
        * T / b * e_syn
    for i, v in enumerate(e.v_neg_by_layer):
        c = res.spike_counts[i].double()
        spikes = float(c.sum()) / b
        syn = float((c.reshape(b, -1) @ weighted_fan_out(net, i).double().reshape(-1)).sum()) / b
        vneg = spikes * cal.e_spike_vneg(v) + net.layers[i].size * cal.p_static_vneg(v) * T \
            * cal.dt_seconds
        assert e.layer_energy[i]["vneg_joules"] == pytest.approx(vneg, rel=1e-9)
        total += spikes * e_vdd + syn * e_syn + vneg
    assert e.energy_joules == pytest.approx(total, rel=1e-6)


def test_json_schema_and_csv(setup, tmp_path):
    cal, net, x, y, ev, found = setup
    s = summarize(ev, found, meta={"network": "known", "provenance": {"note": "test"}})
    paths = write_outputs(tmp_path, s, diagnostic_rows(ev, found))
    d = json.loads((tmp_path / "layers.json").read_text())
    assert d["schema"] == SCHEMA and d["status"] == "resolved" and d["samples"] == x.shape[0]
    for key in ("allocation", "global_floor", "zmp", "nmp", "levels", "groups", "evaluations",
                "simulations", "cache_hits", "energy_saved_joules", "needs_deep_floor",
                "decision_rule", "search", "provenance", "text", "tolerance", "timesteps"):
        assert key in d, key
    a = d["allocation"]
    assert {"k", "n", "estimate", "ci_low", "ci_high"} <= set(a["accuracy"])
    assert {"difference", "ci_high", "p_value", "a_only", "b_only"} <= set(a["vs_nmp"])
    assert [g["at_zmp"] for g in a["groups"]] == [True, False]
    assert d["needs_deep_floor"] == [ev.groups.names[1]]
    assert d["energy_saved_joules"] == pytest.approx(
        ev(found["global"]).energy_joules - ev(found["chosen"]).energy_joules)
    assert d["energy_saved_joules"] > 0  # the hidden layer's supply at 0 V costs nothing
    csv = paths[1].read_text().splitlines()
    assert csv[0].startswith("config,layer,layer_index,group,v_neg_volts,floor_theta,"
                             "discarded_theta_per_neuron_step,hit_fraction")
    assert len(csv) == 1 + 3 * len(net.layers)
    assert not list(tmp_path.glob("*.tmp*"))


def test_diagnostic_zmp_discards_more_than_the_deep_floor(setup):
    cal, net, x, y, ev, found = setup
    rows = {(r["config"], r["layer"]): r for r in diagnostic_rows(ev, found)}
    out = ev.groups.layer_names[1]
    assert rows[("zmp", out)]["discarded_theta_per_neuron_step"] > \
        rows[("global", out)]["discarded_theta_per_neuron_step"] >= 0
    assert 0 <= rows[("zmp", out)]["hit_fraction"] <= 1


def test_unresolved_when_no_floor_is_non_inferior():
    cal = three_level_calibration()
    net, x, y = known_network(n=40)
    ev = Evaluator(cal, net, x, y, groups=make_groups([ly.name for ly in net.layers]),
                   levels=floor_levels(cal, [-0.5, 0.0]), timesteps=T)
    found = search_floors(ev, tolerance=TOL)
    assert found["chosen"] is None and found["global"] is None
    s = summarize(ev, found, meta={})
    assert s["status"] == "unresolved" and s["allocation"] is None
    assert s["images_needed"] is None  # the observed drop (~50 %p) exceeds the tolerance


def test_groups_join_layers_and_share_one_level():
    g = make_groups(["a", "b", "c"], {"hid": ["a", 1]})
    assert g.names == ("hid", "c") and g.members == ((0, 1), (2,))
    cal = three_level_calibration()
    net, x, y = known_network(n=20)
    ev = Evaluator(cal, net, x, y, groups=make_groups(["1", "2"], {"all": ["1", "2"]}),
                   levels=floor_levels(cal), timesteps=8)
    assert ev.v_neg_by_layer((1,)) == (-0.5, -0.5)


@pytest.mark.parametrize("groups, match", [
    ({"g": ["nope"]}, "unknown layer 'nope'"),
    ({"g": []}, "layer group 'g' is empty"),
    ({"g": ["a"], "h": ["a"]}, "layer 'a' is in two layer groups"),
    ({"g": [7]}, "unknown layer 7"),
])
def test_bad_groups_one_clear_error(groups, match):
    with pytest.raises(ConfigError, match=match):
        make_groups(["a", "b"], groups)


@pytest.mark.parametrize("tol", [0.0, -0.01, 1.0, True, float("nan")])
def test_bad_tolerance(tol):
    with pytest.raises(ConfigError, match="tolerance must be an accuracy fraction in"):
        check_tolerance(tol)


def test_bad_levels():
    with pytest.raises(ConfigError, match="v_neg_volts: 0.5 is outside"):
        floor_levels(three_level_calibration(), [0.5])
    with pytest.raises(ConfigError, match="no V_NEG levels"):
        floor_levels(three_level_calibration(), [])


def test_bad_allocation(setup):
    ev = setup[4]
    with pytest.raises(ConfigError, match="allocation"):
        ev((0, 5))
    assert isinstance(np.asarray(ev(None).correct).dtype, np.dtype)


def test_parts_resume_without_resimulating(tmp_path):
    cal = three_level_calibration()
    net, x, y = known_network(n=40)
    kw = dict(groups=make_groups([ly.name for ly in net.layers]), levels=floor_levels(cal),
              timesteps=16, parts_dir=tmp_path, parts_key="k")
    a = Evaluator(cal, net, x, y, **kw)
    first = search_floors(a, tolerance=0.1)
    b = Evaluator(cal, net, x, y, **kw)
    again = search_floors(b, tolerance=0.1)
    assert b.simulations == 0 and b.restored == a.simulations
    assert again["chosen"] == first["chosen"]
    assert np.array_equal(b(first["chosen"]).correct, a(first["chosen"]).correct)
    assert b(first["chosen"]).energy_joules == a(first["chosen"]).energy_joules
