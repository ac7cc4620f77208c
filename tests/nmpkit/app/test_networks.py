"""Several networks per run: the [[networks]] schema (and the legacy [network]), per-network
stage names, the paired NMP-vs-bound rows, per-sample correctness from the simulator."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nmpkit.app.config import NETWORK_ENTRY, default_config, load_config
from nmpkit.app.config_types import NetworkCfg
from nmpkit.app.errors import UsageError
from nmpkit.app.networks import paired_rows, resolve_weights
from nmpkit.app.stages import default_stages, network_stages


def _load(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return load_config(p)


def test_default_runs_both_networks_and_the_tradeoff_on_the_deep_one():
    cfg = default_config()
    assert [n.name for n in cfg.networks] == ["mnist", "allconv28"]
    assert cfg.network == cfg.networks[0]
    names = [s.name for s in default_stages(cfg)]
    assert names == ["characterize", "calibrate", "train", "evaluate", "train-allconv28",
                     "evaluate-allconv28", "tradeoff", "modulate", "cosim_check", "report"]
    trade = next(s for s in default_stages(cfg) if s.name == "tradeoff")
    assert trade.needs == ("calibrate", "train-allconv28")
    assert trade.inputs(cfg)["network"] == "allconv28"
    for net in cfg.networks:  # shipped weights are where the config says
        if net.weights:
            assert resolve_weights(net.weights).is_file()


def test_legacy_single_network_is_one_entry_with_the_old_stage_names(tmp_path):
    cfg = _load(tmp_path, '[network]\nname = "cifar10"\nepochs = 3\n')
    assert cfg.networks == (NetworkCfg(**{**NETWORK_ENTRY, "name": "cifar10", "epochs": 3}),)
    names = [s.name for s in default_stages(cfg)]
    assert names == ["characterize", "calibrate", "train", "evaluate", "tradeoff", "modulate",
                     "cosim_check", "report"]


def test_networks_array_replaces_the_default_list(tmp_path):
    cfg = _load(tmp_path, '[[networks]]\nname = "allconv28"\neval_limit = 50\n'
                          '[[networks]]\nname = "mnist"\ntradeoff = true\n')
    assert [(n.name, n.eval_limit, n.tradeoff) for n in cfg.networks] == [
        ("allconv28", 50, True), ("mnist", 0, True)]
    nets, trade = network_stages(cfg)
    assert [s.name for s in nets] == ["train", "evaluate", "train-mnist", "evaluate-mnist"]
    assert [s.name for s in trade] == ["tradeoff", "tradeoff-mnist"]
    # a network's own eval_limit wins; 0 falls back to data.eval_limit
    assert nets[1].inputs(cfg)["eval_limit"] == 50
    assert nets[3].inputs(cfg)["eval_limit"] == cfg.data.eval_limit
    # the eval limit is not an input of training: changing it retrains nothing
    assert "eval_limit" not in nets[0].inputs(cfg)["network"]


@pytest.mark.parametrize("text, match", [
    ('[network]\nname = "mnist"\n[[networks]]\nname = "mnist"\n', "not both"),
    ('[[networks]]\nname = "mnist"\n[[networks]]\nname = "mnist"\n', "'mnist' appears 2 times"),
    ('[[networks]]\nname = "mnist"\nepochs = 0\n', r"network\.epochs must be >= 1, got 0"),
    ('[[networks]]\nname = "mnist"\nwidth = 3\n', r"unknown key 'networks\[0\].width'"),
    ('[[networks]]\nname = "mnist"\ntradeoff = "yes"\n', r"'networks\[0\].tradeoff' must be bool"),
    ('networks = []\n', "non-empty array of tables"),
])
def test_bad_networks_name_the_field(tmp_path, text, match):
    with pytest.raises(UsageError, match=match):
        _load(tmp_path, text)


def _save(tmp_path, label, mat):
    from nmpkit.studies.evaluate import save_correct

    return save_correct(torch.from_numpy(mat), tmp_path / f"{label}_correct.npz")


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_paired_rows_match_a_hand_count(n, T, seed):
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(seed)
    nmp, zmp = rng.random((T, n)) < 0.7, rng.random((T, n)) < 0.6
    with tempfile.TemporaryDirectory() as d:
        paths = {"nmp": _save(Path(d), "nmp", nmp), "zmp": _save(Path(d), "zmp", zmp)}
        rows = paired_rows(paths, [1, T + 5], T)
    ts = sorted({1, T})
    assert [(r["timesteps"], r["condition"]) for r in rows] == [
        (t, c) for t in ts for c in ("nmp", "zmp")]
    for r in rows:
        t = r["timesteps"] - 1
        a, b = nmp[t], (nmp if r["condition"] == "nmp" else zmp)[t]
        assert r["samples"] == n and r["accuracy"] == b.mean()
        assert (r["only_nmp_right"], r["only_this_right"]) == ((a & ~b).sum(), (~a & b).sum())
        assert r["nmp_minus"] == pytest.approx(a.mean() - b.mean())
        assert r["accuracy_ci_low"] <= r["accuracy"] <= r["accuracy_ci_high"]
        assert r["diff_ci_low"] <= r["nmp_minus"] <= r["diff_ci_high"]


def test_correct_per_step_agrees_with_the_simulators_accuracy():
    from torch import nn

    import cosim
    from nmpkit.studies.evaluate import correct_per_step

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    x = torch.rand(30, 1, 8, 8)
    labels = torch.randint(0, 10, (30,))
    net = cosim.convert(model.eval(), x, percentile=99.9)
    res = cosim.simulate(net, x, timesteps=25, lower_bound=0.0)
    c = correct_per_step(res, labels)
    assert c.shape == (25, 30) and c.dtype == torch.bool
    assert torch.allclose(c.double().mean(1), res.accuracy_per_step(labels))


def test_shipped_weights_for_another_dataset_are_refused(tmp_path):
    from nmpkit.app.pipeline import run_stages

    cfg = _load(tmp_path, '[data]\ndataset = "mnist"\nroot = "/nowhere"\n'
                          '[[networks]]\nname = "allconv28"\n'
                          'weights = "nmpkit:weights/allconv28_fashion.pt"\n')
    nets, _ = network_stages(cfg)
    with pytest.raises(UsageError, match="trained on 'fashion-mnist', data.dataset is 'mnist'"):
        run_stages(nets[:1], cfg, tmp_path / "run", quiet=True)
