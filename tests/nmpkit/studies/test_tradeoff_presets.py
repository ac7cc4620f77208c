"""The two presets side by side: the cheapest feasible design per preset and T, by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmpkit.studies import tradeoff_presets as tp


def _optimize_csv():
    rows = [  # number, preset, feasible, energy, accuracy
        (0, "default", True, 2e-6, 0.99), (1, "default", True, 3e-6, 0.992),
        (2, "raised_rest", False, 0.5e-6, 0.95), (3, "raised_rest", True, 1e-6, 0.99),
        (4, "raised_rest", True, 1.5e-6, 0.991)]
    return pd.DataFrame([{"number": n, "state": "COMPLETE", "preset": p, "feasible": f,
                          "energy_joules": e, "accuracy": a, "accuracy_ci_low": a - 0.01,
                          "accuracy_ci_high": a + 0.005, "samples": 1000, "v_dd_volts": 1.0,
                          "v_neg_volts": -0.5} for n, p, f, e, a in rows]
                        + [{"number": 5, "state": "PRUNED", "preset": None, "feasible": False}])


def test_cheapest_feasible_per_preset_from_an_optimizer_study():
    best = tp.cheapest(tp.from_optimize(_optimize_csv(), timesteps=100))
    by = {r["preset"]: r for r in best}
    assert set(by) == {"study", "raised_rest"}  # "default" is the study's neuron
    assert by["study"]["energy_joules"] == 2e-6 and by["study"]["feasible_designs"] == 2
    assert by["raised_rest"]["energy_joules"] == 1e-6  # the cheaper infeasible one is skipped
    (text,) = tp.sentences(best)
    assert text.startswith("T = 100: the raised_rest neuron is cheaper")
    assert "50.0% less energy" in text and "n = 1,000" in text and "trial 3" in text


def test_only_one_preset_feasible_is_said():
    df = _optimize_csv()
    df.loc[df["preset"] == "default", "feasible"] = False
    (text,) = tp.sentences(tp.cheapest(tp.from_optimize(df, timesteps=50)))
    assert "only the raised_rest neuron" in text and "study: none among its 2 designs" in text


def test_one_preset_only_gives_no_sentence():
    df = _optimize_csv()
    df = df[df["preset"] == "default"]
    assert tp.sentences(tp.cheapest(tp.from_optimize(df, timesteps=50))) == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["study", "raised_rest"]), st.sampled_from([50, 100]),
                          st.booleans(), st.floats(1e-9, 1e-5)), min_size=1, max_size=12))
def test_tradeoff_rows_cheapest_is_the_minimum_over_non_inferior_points(points):
    rows = [{"network": "n", "preset": p, "condition": "floor", "timesteps": t,
             "non_inferior": ok, "energy_joules": e, "accuracy": 0.9, "accuracy_ci_low": 0.88,
             "accuracy_ci_high": 0.92, "samples": 500, "v_dd_volts": 1.0, "v_neg_volts": -0.5,
             "floor_theta": -0.85} for p, t, ok, e in points]
    rows.append({"network": "n", "preset": "study", "condition": "nmp", "timesteps": 50,
                 "non_inferior": True, "energy_joules": None})
    best = tp.cheapest(tp.from_tradeoff(pd.DataFrame(rows)))
    for r in best:
        want = [e for p, t, ok, e in points if p == r["preset"] and t == r["timesteps"] and ok]
        if want:
            assert r["energy_joules"] == pytest.approx(min(want))
        else:
            assert "energy_joules" not in r
