"""`nmpkit run` end to end on a tiny learnable dataset: every stage runs for real (ngspice
characterization, calibration, training, SNN evaluation, trade-off, modulation, the
transistor-level co-simulation check, the report); a second run skips every stage; changing
one evaluation parameter reruns only evaluate and report."""

import json

import numpy as np
import pytest

from circuits.ngspice import available
from nmpkit.app.cli import main

pytestmark = pytest.mark.skipif(not available(), reason="needs Debian's ngspice/libngspice0")


def _bars(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """28x28 images: class k is a bright horizontal bar at rows 2k+4..2k+6, plus noise."""
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(y):
        x[i, 2 * k + 4: 2 * k + 7, 4:24] = 255
    return x, y


def _config(tmp_path, timesteps: int) -> str:
    rng = np.random.default_rng(0)
    xtr, ytr = _bars(600, rng)
    xte, yte = _bars(60, rng)
    np.savez(tmp_path / "bars.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f"""
[data]
dataset = "mnist"
root = "{tmp_path / 'bars.npz'}"
eval_limit = 30
[evaluate]
timesteps = {timesteps}
floors = [-0.2]
[tradeoff]
v_neg_volts = [0.0, -0.5]
v_dd_volts = [1.0]
timesteps = [10, 20]
eval_limit = 20
[variation]
sigmas = [0.1]
eval_limit = 20
timesteps = 20
window_steps = 64
[cosim_check]
v_neg_volts = [-0.5]
timesteps = 50
hidden = 20
""")
    return str(cfg)


def test_run_end_to_end_then_skip_then_partial_rerun(tmp_path, capsys):
    run = tmp_path / "run"
    cfg = _config(tmp_path, timesteps=30)
    assert main(["run", cfg, "--out", str(run), "--json", "--threads", "2"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [s["status"] for s in first["stages"]] == ["ran"] * 8
    for f in ("characterize/fi.csv", "calibrate/calibration.json", "train/weights.pt",
              "evaluate/accuracy_per_step.csv", "evaluate/floors.csv", "tradeoff/tradeoff.csv",
              "modulate/modulation.csv", "cosim_check/counts.csv", "report/report.html"):
        assert (run / f).is_file(), f
    rec = json.loads((run / "evaluate" / "stage.json").read_text())
    assert rec["provenance"]["git_revision"] and rec["inputs"]["evaluate"]["timesteps"] == 30
    # the bars are learnable: the converted network must do far better than chance (10%)
    evals = {s["name"]: s["summary"] for s in first["stages"]}
    assert evals["evaluate"]["nmp"] > 0.5

    assert main(["run", cfg, "--out", str(run), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert [s["status"] for s in second["stages"]] == ["skipped"] * 8

    cfg2 = _config(tmp_path, timesteps=25)
    assert main(["run", cfg2, "--out", str(run), "--json"]) == 0
    third = {s["name"]: s["status"] for s in json.loads(capsys.readouterr().out)["stages"]}
    assert [n for n, st in third.items() if st == "ran"] == ["evaluate", "report"]


def test_run_refuses_bad_config_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[evaluate]\ntimesteps = -3\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evaluate.timesteps" in err[0] and "-3" in err[0]
    assert not (tmp_path / "r").exists()
