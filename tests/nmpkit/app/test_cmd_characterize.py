import json

import pytest

from calib.tables import SCHEMAS, read_tables
from circuits.ngspice import available
from nmpkit.app.cli import main

TINY = """
[design]
v_neg_volts = -0.25

[grid]
i_exc_amps = [3e-8, 3e-7]
v_dd_volts = [0.9, 1.0]
v_neg_volts = [0.0, -0.25]
i_inh_amps = [1e-6]
mc_samples = 2
mc_i_exc_amps = [1e-7]
mc_v_dd_samples = 0
"""


@pytest.mark.skipif(not available(), reason="libngspice not installed")
def test_characterize_command_writes_tables(tmp_path, capsys):
    cfg = tmp_path / "design.toml"
    cfg.write_text(TINY)
    out = tmp_path / "tables"
    rc = main(["--json", "characterize", "--config", str(cfg), "--out", str(out),
               "--workers", "1"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["tables"]) == set(SCHEMAS)
    tables = read_tables(out)
    assert tables["fi"].provenance["design"]["v_neg_volts"] == -0.25
    assert sorted(tables["fi"].df["v_neg_volts"].unique()) == [-0.25, 0.0]
    assert len(tables["mismatch"].df) == 2
    # the device energy profile, over (V_DD, V_NEG), with provenance
    import pandas as pd

    prof = pd.read_csv(summary["energy_profile"])
    assert sorted(prof["v_dd_volts"].unique()) == [0.9, 1.0]
    assert sorted(prof["v_neg_volts"].unique()) == [-0.25, 0.0]
    assert (prof["pj_per_spike"] > 0).all() and (prof["pj_per_exc_event"] > 0).all()
    side = json.loads((out / "energy_profile.json").read_text())
    assert side["kind"] == "energy_profile" and len(side["calibration_sha256"]) == 64
    assert side["source"]["fi_provenance"]["design"]["v_neg_volts"] == -0.25


@pytest.mark.parametrize(("text", "needle"), [
    ("[design]\nc_mem_farads = -1.0\n", "c_mem_farads"),
    ("[grid]\nv_dd_volts = [1.0]\n", "v_dd_volts"),
    ("[grid]\nbogus = 1\n", "bogus"),
    ("[design]\nwidth = 1\n", "width"),
])
def test_bad_config_is_one_line_exit_2(tmp_path, capsys, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    rc = main(["characterize", "--config", str(cfg), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("nmpkit characterize: error:") and needle in err
    assert len(err.strip().splitlines()) == 1


def test_bad_workers_and_missing_config(tmp_path, capsys):
    assert main(["characterize", "--workers", "0", "--out", str(tmp_path)]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["characterize", "--config", str(tmp_path / "none.toml")]) == 2
