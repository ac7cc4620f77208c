import json

import numpy as np
import pandas as pd
import pytest

from calib.errors import CalibrationError
from calib.tables import SCHEMAS, TABLE_FILES, Table, read_table, read_tables, reseal, write_table

PROV = {"design": {"c_mem_farads": 5e-13}, "model_cards": "bsim3", "ngspice_version": "39",
        "nmpkit_version": "0.1.0", "git_revision": "abc", "seed": 1, "grid": {"n": 2}}


def _frame(kind: str, n: int = 3) -> pd.DataFrame:
    data = {c: np.linspace(0.0, 1.0, n) for c in SCHEMAS[kind]}
    if kind == "energy":
        data["regime"] = ["quadratic"] * (n - 1) + ["crowbar"]
    return pd.DataFrame(data)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_round_trip_every_kind(tmp_path, kind):
    df = _frame(kind)
    df["extra_column"] = 7.0
    path = write_table(df, tmp_path / TABLE_FILES[kind], kind=kind, provenance=PROV)
    assert path == tmp_path / f"{kind}.csv"
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["kind"] == kind and side["columns"] == list(df.columns)
    table = read_table(path)
    assert isinstance(table, Table) and table.kind == kind
    pd.testing.assert_frame_equal(table.df, df, check_dtype=False)
    assert table.provenance == PROV


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_missing_column_names_file_and_column(tmp_path, kind):
    path = write_table(_frame(kind), tmp_path / f"{kind}.csv", kind=kind, provenance=PROV)
    dropped = SCHEMAS[kind][-1]
    pd.read_csv(path).drop(columns=[dropped]).to_csv(path, index=False)
    reseal(path)  # accept the edit, so the column check is what fails
    with pytest.raises(CalibrationError, match=dropped) as exc:
        read_table(path, kind=kind)
    assert str(path) in str(exc.value)


def test_write_refuses_missing_column(tmp_path):
    with pytest.raises(CalibrationError, match="rate_hertz"):
        write_table(_frame("fi").drop(columns=["rate_hertz"]), tmp_path / "fi.csv", kind="fi",
                    provenance=PROV)
    assert not (tmp_path / "fi.csv").exists()


def test_bad_kind_sidecar_and_regime(tmp_path):
    with pytest.raises(CalibrationError, match="kind"):
        write_table(_frame("fi"), tmp_path / "x.csv", kind="nope", provenance=PROV)
    path = write_table(_frame("fi"), tmp_path / "fi.csv", kind="fi", provenance=PROV)
    with pytest.raises(CalibrationError, match="'floor'"):
        read_table(path, kind="floor")
    path.with_suffix(".json").unlink()
    with pytest.raises(CalibrationError, match="sidecar"):
        read_table(path)
    df = _frame("energy")
    df["regime"] = "linear"
    with pytest.raises(CalibrationError, match="regime"):
        write_table(df, tmp_path / "energy.csv", kind="energy", provenance=PROV)


def test_non_numeric_column_refused(tmp_path):
    df = _frame("floor")
    df["v_mem_min_volts"] = ["a", "b", "c"]
    with pytest.raises(CalibrationError, match="v_mem_min_volts"):
        write_table(df, tmp_path / "floor.csv", kind="floor", provenance=PROV)


def test_read_tables_directory(tmp_path):
    for kind in SCHEMAS:
        write_table(_frame(kind), tmp_path / TABLE_FILES[kind], kind=kind, provenance=PROV)
    tables = read_tables(tmp_path)
    assert set(tables) == set(SCHEMAS)
    (tmp_path / "mismatch.csv").unlink()
    with pytest.raises(CalibrationError, match="mismatch.csv"):
        read_tables(tmp_path)


def test_required_and_optional_kinds_are_the_schemas_and_optional_ones_may_be_missing(tmp_path):
    from calib.fit_tables import _load
    from calib.tables import OPTIONAL_KINDS, REQUIRED_KINDS

    assert sorted(REQUIRED_KINDS + OPTIONAL_KINDS) == sorted(SCHEMAS)
    assert not set(REQUIRED_KINDS) & set(OPTIONAL_KINDS)
    for kind in REQUIRED_KINDS:
        write_table(_frame(kind), tmp_path / TABLE_FILES[kind], kind=kind, provenance=PROV)
    assert set(read_tables(tmp_path)) == set(REQUIRED_KINDS)  # the reader and the fitter agree
    assert set(_load(tmp_path)) == set(REQUIRED_KINDS)
    write_table(_frame("waveform"), tmp_path / "waveform.csv", kind="waveform", provenance=PROV)
    assert set(read_tables(tmp_path)) == set(_load(tmp_path)) == {*REQUIRED_KINDS, "waveform"}


def test_no_temp_files_left(tmp_path):
    write_table(_frame("fi"), tmp_path / "fi.csv", kind="fi", provenance=PROV)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fi.csv", "fi.json"]


def test_table_positional_and_kind_checked():
    t = Table("fi", _frame("fi"), {})
    assert t.kind == "fi"
    with pytest.raises(CalibrationError, match="kind"):
        Table("rates", _frame("fi"), {})


def test_files_get_the_usual_mode(tmp_path):
    import os
    import stat

    path = write_table(_frame("fi"), tmp_path / "fi.csv", kind="fi", provenance=PROV)
    umask = os.umask(0)
    os.umask(umask)
    for p in (path, path.with_suffix(".json")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
