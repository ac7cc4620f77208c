"""The co-simulation check end to end on a tiny network: real ngspice tables → calibration →
transistor-level network vs calibrated cosim (the calibrated model must beat the ideal IF)."""

import shutil

import pytest
import torch
from torch import nn

from calib import fit

pytestmark = pytest.mark.skipif(shutil.which("ngspice") is None, reason="needs ngspice")


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    from circuits.characterization import characterize
    from circuits.design import default_design
    from circuits.grid import Grid

    grid = Grid(i_exc_amps=(3e-9, 1e-8, 3e-8, 1e-7, 3e-7), v_dd_volts=(0.9, 1.0),
                v_neg_volts=(0.0, -0.5), i_inh_amps=(1e-6,), mc_samples=3, name="test")
    out = tmp_path_factory.mktemp("tables")
    characterize(default_design(), grid, out, workers=1, progress=False)
    return fit(out)


def test_calibrated_cosim_tracks_the_transistor_network(cal):
    from nmpkit.studies.cosim_check import run_check, summarize

    g = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    with torch.no_grad():
        model[0].weight.copy_(torch.rand(7, 5, generator=g) * 0.8 - 0.2)
        model[2].weight.copy_(torch.rand(3, 7, generator=g) * 1.0 - 0.3)
    from cosim import convert

    x = torch.rand(64, 5, generator=g)
    net = convert(model, x, percentile=100)
    pts = run_check(cal, net, x[:1], v_neg_volts=[-0.5], timesteps=60)
    rows = {r["model"]: r for r in summarize(pts)}
    assert rows["calibrated"]["mean_count"] > 5  # the network is active
    assert rows["calibrated"]["rel_mae"] <= 0.05, rows  # the must-have bound
    assert rows["calibrated"]["mae"] <= rows["ideal_nominal"]["mae"], rows
    assert rows["calibrated"]["mae"] <= rows["ideal_unit"]["mae"], rows
    assert pts[0].gate_seconds > 0 and len(pts[0].circuit) == 2


def test_cosim_check_config_refuses_bad_values_and_the_result_round_trips(tmp_path):
    from nmpkit.errors import ConfigError
    from nmpkit.studies.cosim_check import CosimCheckConfig, CosimCheckResult

    with pytest.raises(ConfigError, match="hidden must be >= 1, got 0"):
        CosimCheckConfig(calibration="c.json", data_root="d", hidden=0)
    with pytest.raises(ConfigError, match=r"v_neg_volts must be <= 0, got \[0.0, 0.3\]"):
        CosimCheckConfig(calibration="c.json", data_root="d", v_neg_volts=(0, 0.3))
    with pytest.raises(ConfigError, match="no co-simulation check result"):
        CosimCheckResult.load(tmp_path)
    counts = [{"v_neg_volts": -0.5, "sample": 0, "layer": li, "neuron": i, "count_spice": 3,
               "count_calibrated": 3, "count_ideal": 4, "count_ideal_unit": 5}
              for li in range(2) for i in range(3)]
    summary = {"summary": [{"v_neg_volts": -0.5, "model": "calibrated", "rel_mae": 0.0}]}
    CosimCheckResult(summary, counts).save(tmp_path)
    back = CosimCheckResult.load(tmp_path)
    assert back.summary == summary and back.counts == counts and back.rows == summary["summary"]


@pytest.mark.parametrize("extra, match", [
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--v-neg", "0.2"], r"--v-neg values must be finite and <= 0, got \[0.2\]"),
    (["--v-neg", "nan"], "--v-neg values must be finite"),
    (["--timesteps", "0"], "must be >= 1"),
    (["--out", "FILE"], "exists and is not a folder"),
])
def test_cosim_check_cli_refuses_bad_options_in_one_line(tmp_path, capsys, extra, match):
    import re

    from nmpkit.app.cli import main

    (tmp_path / "FILE").write_text("x")
    extra = [str(tmp_path / "FILE") if e == "FILE" else e for e in extra]
    assert main(["cosim-check", "--calibration", str(tmp_path / "c.json"),
                 "--data-root", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(match, err[0]), err


def _step_loop(w1, b1, w2, b2, x, *, timesteps, k, floor):
    """Independent reference: two IF layers on a grid k times finer (numpy, float64)."""
    import numpy as np

    c0 = (w1 @ x + b1) / k
    v0, v1 = np.zeros(len(b1)), np.zeros(len(b2))
    n0, n1 = np.zeros(len(b1), int), np.zeros(len(b2), int)
    for _ in range(timesteps * k):
        v0 = np.maximum(v0 + c0, floor)
        f0 = v0 >= 1
        v0[f0] -= 1
        n0 += f0
        v1 = np.maximum(v1 + b2 / k + w2 @ f0, floor)
        f1 = v1 >= 1
        v1[f1] -= 1
        n1 += f1
    return n0, n1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_substepped_network_matches_a_fine_step_loop(seed):
    """`substepped` (the calibrated_substep model's transform) = the same IF network on a k-times
    finer grid: dyadic weights, so the float32 simulator and the float64 loop agree exactly."""
    import numpy as np

    from cosim import IFNeuron, convert, simulate
    from nmpkit.studies.cosim_check import substepped

    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    with torch.no_grad():
        for lin in (model[0], model[2]):
            lin.weight.copy_(torch.randint(-8, 9, lin.weight.shape, generator=g) / 16.0)
            lin.bias.copy_(torch.randint(-2, 3, lin.bias.shape, generator=g) / 16.0)
    x = torch.randint(0, 17, (1, 6), generator=g) / 16.0
    net = convert(model, None)  # no normalization: the weights as set
    (w1, b1), (w2, b2) = [(lin.weight.detach().double().numpy(),
                           lin.bias.detach().double().numpy())
                          for lin in (model[0], model[2])]
    for k in (1, 4):
        fine, neu = substepped(net, IFNeuron(lower_bound=0.0), k)
        res = simulate(fine, x, timesteps=30 * k, neuron=neu)
        got = [c[0].reshape(-1).numpy().astype(int) for c in res.spike_counts]
        ref = _step_loop(w1, b1, w2, b2, x[0].double().numpy(), timesteps=30, k=k, floor=0.0)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1]), (k, got, ref)
    with pytest.raises(ValueError, match="substeps must be an int >= 1, got 0"):
        substepped(net, IFNeuron(), 0)
