import json

import pandas as pd

from calib import Calibration
from calib.tables import reseal
from nmpkit.app.cli import main
from tests.calib import synth_tables as syn


def test_calibrate_writes_a_loadable_file(tmp_path, capsys):
    d = syn.write_tables(tmp_path / "tables")
    out = tmp_path / "cal.json"
    assert main(["calibrate", str(d), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    cal = Calibration.load(out)
    assert summary["dt_seconds"] == cal.dt_seconds
    assert cal.sources["calibrate"]["command"] == "nmpkit calibrate"
    assert "git_revision" in cal.sources["calibrate"]
    assert cal.sources["fi"]["file"].endswith("fi.csv")


def test_calibrate_options(tmp_path, capsys):
    d = syn.write_tables(tmp_path / "tables")
    out = tmp_path / "cal.json"
    assert main(["calibrate", str(d), "--out", str(out), "--dt", "2e-6", "--v-neg", "-0.5"]) == 0
    assert "floor" in capsys.readouterr().out
    cal = Calibration.load(out)
    assert cal.dt_seconds == 2e-6 and cal.v_neg_volts == -0.5


def test_bad_table_is_one_line_exit_2(tmp_path, capsys):
    d = syn.write_tables(tmp_path / "tables")
    pd.read_csv(d / "fi.csv").drop(columns=["rate_hertz"]).to_csv(d / "fi.csv", index=False)
    reseal(d / "fi.csv")  # accept the edit: the missing column is what must be reported
    assert main(["calibrate", str(d), "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "rate_hertz" in err and "fi.csv" in err
    assert main(["calibrate", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_study_commands_refuse_bad_input_in_one_line(tmp_path, capsys):
    d = syn.write_tables(tmp_path / "tables")
    cal = tmp_path / "cal.json"
    assert main(["calibrate", str(d), "--out", str(cal), "-q"]) == 0
    cases = [
        (["cosim-check", "--calibration", str(cal), "--data-root", "x", "--v-neg", "0.3"],
         "--v-neg"),
        (["cosim-check", "--calibration", str(cal), "--data-root", "x", "--timesteps", "0"],
         "--timesteps"),
        (["tradeoff", "--calibration", str(cal), "--weights", "w", "--data-root", "x",
          "--v-dd", "0"], "--v-dd"),
        (["modulate", "--calibration", str(cal), "--weights", "w", "--data-root", "x",
          "--sigma", "-0.1"], "--sigma"),
        (["modulate", "--calibration", str(cal), "--weights", "w", "--data-root", "x",
          "--window", "0"], "window"),
        (["tradeoff", "--calibration", str(tmp_path / "nope.json"), "--weights", "w",
          "--data-root", "x"], "not found"),
    ]
    for argv, word in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and word in err, (argv, err)
