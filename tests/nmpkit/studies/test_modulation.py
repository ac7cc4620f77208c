"""The modulation loop restores accuracy lost to device variation (a small net trained here)."""

import pandas as pd
import torch
from torch import nn

from calib import fit
from cosim import convert
from cosim.modulation import ModulationConfig
from nmpkit.studies.modulation import ModulateResult, run_study, with_weights
from tests.calib import synth_tables as syn

torch.set_num_threads(1)


def blobs(n, g):
    centers = torch.randn(6, 16, generator=g) * 0.5
    y = torch.randint(0, 6, (n,), generator=g)
    x = (centers[y] + 0.5 * torch.randn(n, 16, generator=g)).clamp(min=0)
    return x, y


def test_modulation_improves_accuracy_under_variation(tmp_path):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x, y = blobs(3000, g)
    model = nn.Sequential(nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 6))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[:2000]), y[:2000]).backward()
        opt.step()
    net = convert(model.eval(), x[:500], percentile=99.9)
    cal = fit(syn.write_tables(tmp_path / "t", gain_std=0.2, thr_std=0.05))
    res = run_study(cal, net, x[2000:2400], y[2000:2400], sigmas=[0.3], timesteps=48,
                    v_neg_volts=None, seed=2, levels=16, sigma_pulse=0.1,
                    config=ModulationConfig(window=128, max_iterations=8))
    row = res["rows"][0]
    assert row["accuracy_before"] < res["ideal_accuracy"] - 0.05, res  # variation hurts
    assert row["accuracy_after"] > row["accuracy_before"] + 0.05, res
    assert row["accuracy_after"] >= res["ideal_accuracy"] - 0.03, res
    for ly in row["layers"]:
        assert ly["true_error_rms_after"] < ly["estimate_error_rms_before"]
        assert ly["pulses"] > 0 and ly["iterations"] >= 1
    # every accuracy carries n and a Wilson interval; after vs before is paired on the images
    a, b = row["after"], row["before"]
    assert a["samples"] == b["samples"] == res["ideal"]["samples"] == 400
    assert a["accuracy"] == row["accuracy_after"] and b["accuracy"] == row["accuracy_before"]
    assert a["ci_low"] < a["accuracy"] < a["ci_high"]
    assert b["ci_low"] < b["accuracy"] < b["ci_high"]
    g = a["vs_before"]
    gained = round(400 * (row["accuracy_after"] - row["accuracy_before"]))
    assert g["a_only"] - g["b_only"] == gained
    assert g["ci_low"] > 0 and g["p_value"] < 0.05  # the gain is resolved on these 400 images
    assert res["ideal"]["vs_ideal"]["a_only"] == res["ideal"]["vs_ideal"]["b_only"] == 0
    line = ModulateResult(res).summary()["sigma=0.3"]
    assert "n=400" in line and f"flips {g['a_only']}/{g['b_only']}" in line


def test_correct_is_the_batched_accuracy_image_by_image():
    from nmpkit.studies.batched import simulate_batched
    from nmpkit.studies.modulation import correct

    g = torch.Generator().manual_seed(3)
    x, y = blobs(300, g)
    model = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 6))
    net = convert(model.eval(), x[:200], percentile=99.9)
    right = correct(net, x, y, None, 20, batch=70)
    ref = simulate_batched(net, x, y, batch=300, timesteps=20, neuron=None)
    assert right.shape == (300,) and right.dtype == bool
    assert abs(float(right.mean()) - float(ref.metric[-1])) < 1e-12


def test_with_weights_replaces_only_the_given_ops():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2))
    net = convert(model)
    new = with_weights(net, {(0, 0): torch.zeros(2, 3)})
    assert torch.equal(new.layers[0].ops[0].weight, torch.zeros(2, 3))
    assert torch.equal(new.layers[1].ops[0].weight, net.layers[1].ops[0].weight)
    assert torch.equal(new.layers[0].ops[0].bias, net.layers[0].ops[0].bias)


def test_modulate_config_refuses_bad_values_and_the_result_round_trips(tmp_path):
    import pytest

    from nmpkit.errors import ConfigError
    from nmpkit.studies.modulation import ModulateConfig, ModulateResult

    base = dict(calibration="c.json", weights="w.pt", data_root="d")
    with pytest.raises(ConfigError, match=r"sigmas must be >= 0, got \[0.1, -0.2\]"):
        ModulateConfig(**base, sigmas=(0.1, -0.2))
    with pytest.raises(ConfigError, match="window"):
        ModulateConfig(**base, window=0)
    with pytest.raises(ConfigError, match="no modulation result"):
        ModulateResult.load(tmp_path)
    layer = {"layer": "fc1", "iterations": 3, "pulses": 7, "estimate_error_rms_before": 0.2,
             "estimate_error_rms_after": 0.01, "true_error_rms_after": 0.02, "not_converged": 1,
             "synapses": 40}
    rec = {"ideal_accuracy": 0.9, "rows": [{"sigma": 0.1, "accuracy_before": 0.7,
                                            "accuracy_after": 0.88, "layers": [layer, layer]}]}
    paths = ModulateResult(rec).save(tmp_path)
    assert [p.name for p in paths] == ["modulate.json", "modulation_layers.csv", "modulation.csv"]
    back = ModulateResult.load(tmp_path)
    assert back.record == rec and back.ideal_accuracy == 0.9
    import pandas as pd

    per_sigma = pd.read_csv(tmp_path / "modulation.csv")
    assert per_sigma.loc[0, "pulses"] == 14 and per_sigma.loc[0, "synapses"] == 80  # hand sums
    assert len(pd.read_csv(tmp_path / "modulation_layers.csv")) == 2


def test_per_sigma_and_per_layer_rows_by_hand(tmp_path):
    def layer(name, it, pulses, nc, syn):
        return {"layer": name, "synapses": syn, "iterations": it, "pulses": pulses,
                "estimate_error_rms_before": 0.1, "estimate_error_rms_after": 0.01,
                "true_error_rms_after": 0.02, "not_converged": nc}

    rec = {"ideal_accuracy": 0.9, "rows": [
        {"sigma": 0.1, "accuracy_before": 0.7, "accuracy_after": 0.88,
         "layers": [layer("fc1", 3, 200, 1, 100), layer("fc2", 5, 40, 0, 10)]}]}
    res = ModulateResult(rec)
    assert res.per_sigma() == [{"sigma": 0.1, "accuracy_ideal": 0.9, "accuracy_before": 0.7,
                                "accuracy_after": 0.88, "iterations": 5, "pulses": 240,
                                "not_converged": 1, "synapses": 110}]
    assert [(r["layer"], r["iterations"], r["accuracy_after"]) for r in res.per_layer()] == [
        ("fc1", 3, 0.88), ("fc2", 5, 0.88)]
    res.save(tmp_path)
    assert pd.read_csv(tmp_path / "modulation.csv").to_dict("records") == res.per_sigma()
