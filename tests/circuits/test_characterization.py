import numpy as np
import pytest

from calib.tables import PROVENANCE_KEYS, REGIMES, SCHEMAS, read_tables
from circuits.characterization import characterize
from circuits.design import default_design
from circuits.grid import Grid
from tests.circuits.conftest import needs_ngspice

TINY = Grid(i_exc_amps=(3e-8, 3e-7, 2e-6), v_dd_volts=(0.9, 1.0), v_neg_volts=(0.0, -0.5),
            i_inh_amps=(1e-6,), mc_samples=3, mc_i_exc_amps=(1e-7,), mc_v_dd_samples=2, seed=5,
            name="tiny")


@needs_ngspice
def test_tiny_characterization_writes_valid_tables(tmp_path):
    d = default_design()
    paths = characterize(d, TINY, tmp_path / "t", workers=1, progress=False)
    assert set(paths) == set(SCHEMAS)
    tables = read_tables(tmp_path / "t")
    for kind, table in tables.items():
        assert set(PROVENANCE_KEYS) <= set(table.provenance)
        assert table.provenance["design"]["q_reset_coulombs"] == pytest.approx(
            d.q_reset_coulombs)
        assert table.provenance["seed"] == 5
        assert len(table.df) > 0, kind
    fi = tables["fi"].df
    assert len(fi) == 3 * 2 * 2 and (fi["rate_hertz"] > 0).all()
    energy = tables["energy"].df
    assert set(energy["regime"]) <= REGIMES and len(energy) == len(fi)
    assert (energy.loc[energy["v_neg_volts"] == 0, "e_spike_vneg_joules"].abs() < 1e-16).all()
    assert (energy.loc[energy["v_neg_volts"] < 0, "p_static_vneg_watts"] > 0).all()
    floor = tables["floor"].df
    assert np.allclose(floor["v_mem_min_volts"], floor["v_neg_volts"], atol=0.1)
    mm = tables["mismatch"].df
    assert len(mm) == 3 + 2 and (mm["seed"] == 5).all()
    assert sorted(mm["v_dd_volts"]) == [0.9, 0.9, 1.0, 1.0, 1.0]
    assert np.allclose(mm["gain"], mm["rate_hertz"] / mm["rate_nominal_hertz"])
    wave = tables["waveform"].df
    assert sorted(set(wave["v_dd_volts"])) == [0.9, 1.0]
    for vdd, w in wave.groupby("v_dd_volts"):
        assert w["v_out_volts"].max() > 0.5 * vdd
    # every V_DD calibrated from its own rows: the study's sense threshold ≈ V_DD/2 (its own
    # waveform), θ (its own f–I slope) ≈ the threshold, so rest ≈ 0 at each V_DD
    from calib import fit

    cal = fit(tmp_path / "t")
    assert cal.v_dd_grid == (0.9, 1.0)
    for vdd in (0.9, 1.0):
        c = cal.at(vdd)
        assert 0.45 * vdd < c.v_sense_volts < 0.65 * vdd  # switches at 0.51–0.61·V_DD
        assert abs(c.rest_at(-0.5)) < 0.05 * c.theta_at(-0.5)
        assert c.mismatch_samples == (3 if vdd == 1.0 else 2)
    assert cal.at(0.9).theta_at(-0.5) < 0.97 * cal.theta_at(-0.5)
    # A rerun is served from the cache and writes the same CSVs.
    before = {k: p.read_bytes() for k, p in paths.items() if k != "waveform"}
    characterize(d, TINY, tmp_path / "t", workers=1, progress=False)
    assert before == {k: p.read_bytes() for k, p in paths.items() if k != "waveform"}
