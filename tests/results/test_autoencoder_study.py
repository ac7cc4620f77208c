"""results/autoencoder_study.py's floor-sweep options (`parse_sweeps`: one-line errors naming
the value) and the shallowest-floor-within-5% verdict the report states."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_RES = Path(__file__).parents[2] / "results"
sys.path.insert(0, str(_RES))  # autoencoder_study imports autoencoder_report from results/
_SPEC = importlib.util.spec_from_file_location("autoencoder_study", _RES / "autoencoder_study.py")
study = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(study)
import autoencoder_report as report  # noqa: E402


def test_sweep_options_pair_up_and_default():
    args = study.parse_args(["--sweep-timesteps", "100", "750", "--sweep-every", "4", "8",
                             "--sweep-floors", "default", "0,-0.25,-1,-0.5,-1"])
    plans = study.parse_sweeps(args.sweep_timesteps, args.sweep_every, args.sweep_floors,
                               750, 256)
    assert plans == [(100, 4, [round(-0.2 * k, 1) for k in range(1, 11)]),
                     (750, 8, [-0.25, -0.5, -1.0])]  # 0 is the ZMP run; sorted, deduplicated
    one = study.parse_args(["--sweep-floors=-0.5,-2", "--sweep-timesteps", "50", "60"])
    assert study.parse_sweeps(one.sweep_timesteps, one.sweep_every, one.sweep_floors,
                              100, 16) == [(50, 1, [-0.5, -2.0]), (60, 1, [-0.5, -2.0])]
    assert study.parse_args([]).sweep_timesteps == [100]


@pytest.mark.parametrize("argv, msg", [
    (["--sweep-floors", "0,abc"], "--sweep-floors: .* got 'abc'"),
    (["--sweep-floors=0.5"], "--sweep-floors: .* got '0.5'"),
    (["--sweep-floors=-0.5,nan"], "got 'nan'"),
    (["--sweep-timesteps", "10", "20", "--sweep-every", "1", "2", "3"],
     "--sweep-timesteps: expected 1 or 3 values .* got 2"),
    (["--sweep-timesteps", "900"], r"--sweep-timesteps: expected 1\.\.750 .* got 900"),
    (["--sweep-every", "200"], r"--sweep-every: expected 1\.\.128, got 200"),
])
def test_bad_sweep_options_name_the_value(argv, msg):
    a = study.parse_args(argv)
    with pytest.raises(SystemExit, match=msg) as e:
        study.parse_sweeps(a.sweep_timesteps, a.sweep_every, a.sweep_floors, 750, 256)
    assert "\n" not in str(e.value)


def _row(lb, est, hi):
    return {"floor": "x" if lb is None else f"{lb:g}", "lower_bound": lb,
            "ratio_to_nmp": {} if lb is None else
            {"750": {"estimate": est, "ci_low": est - 0.01, "ci_high": hi}}}


def test_smallest_floor_within_tolerance():
    rows = [_row(0.0, 1.44, 1.5), _row(-0.25, 1.06, 1.07), _row(-0.5, 1.04, 1.06),
            _row(-1.0, 1.01, 1.02), _row(None, 1, 1)]
    c = study.smallest_within(rows, 750)
    assert c == {"tolerance": 0.05, "t": 750, "by_estimate": -0.5, "by_ci_high": -1.0}
    text = report._within_text({"within_5pct": c, "rows": rows, "patches": 32})
    assert "-0.5 θ by the ratio's estimate; -1 θ with the whole 95% interval" in text
    assert "between -0.25 and -0.5 θ were not run" in text
    none = study.smallest_within(rows[:2] + rows[-1:], 750)
    assert none["by_estimate"] is None and none["by_ci_high"] is None
    assert "No floor tested (0, -0.25 θ)" in report._within_text(
        {"within_5pct": none, "rows": rows[:2] + rows[-1:], "patches": 32})


def test_sweep_variants_equal_one_run_per_floor(tmp_path):
    """The K-variant sweep gives each floor the per-patch MSE and layer rates of its own
    `patch_mse_run` (one cosim.simulate per chunk), and a repeated call reuses its chunks."""
    import torch
    from autoencoder_sweep import sweep_variants
    from torch import nn

    import cosim
    from nmpkit.studies.evaluate_parts import EvalConfig
    from nmpkit.studies.patch_mse import patch_mse_run

    gen = torch.Generator().manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(6, 3, 3, padding=1), nn.ReLU()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
    x = torch.rand(5, 3, 8, 8, generator=gen)
    net = cosim.convert(model, x, percentile=99.0)
    floors = [-0.25, -1.0]
    got = sweep_variants(net, x, floors, 40, batch_size=2, parts_dir=tmp_path / "p")
    for f in floors:
        one = patch_mse_run(net, x, EvalConfig(timesteps=40, lower_bound=f, batch_size=2,
                                               correlation_samples=0))
        np.testing.assert_array_equal(got[f].mse, one.mse)
        np.testing.assert_allclose(got[f].layer_rates, one.layer_rates, rtol=1e-12)
    assert not np.array_equal(got[-0.25].mse, got[-1.0].mse)  # the floors do differ here
    assert len(list((tmp_path / "p").glob("chunk_*.pt"))) == 3
    again = sweep_variants(net, x, floors, 40, batch_size=2, parts_dir=tmp_path / "p")
    np.testing.assert_array_equal(again[-1.0].mse, got[-1.0].mse)
