"""Issue 12's hostile-input suite: every bad input or fault in tests/hostile's table gets one
clear error (one line of the package's error type naming the field, the value and what was
expected; for the CLI exit code 2 and no traceback) or heals with a one-line warning and a
checked result. `bench/hostile_share.py` prints the same table's share.

Beyond the table: the trade-off's resume cache keys on the priced V_DD, and temp names are
unique per process. (Pool workers dying with a SIGKILLed parent: tests/circuits/test_sweep.py;
report.html escaping: tests/nmpkit/report/test_report.py; injection against a live ngspice:
tests/circuits/test_hostile.py.)"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib import Calibration, CalibrationError
from tests.hostile import all_cases
from tests.hostile.harness import assets, outcome

TABLE = all_cases()
CATEGORIES = {"API", "CLI", "configs", "tables", "calibration files", "weights", "models",
              "datasets", "run directories", "faults", "injection"}


def test_the_table_covers_every_category_of_the_issue():
    assert len(TABLE) >= 180
    assert {c.category for c in TABLE} == CATEGORIES
    named = {c.id for c in TABLE if c.issue}
    for example in ("table/fi-cut-in-half", "weights/int64", "calibration/e_spike_vdd_joules",
                    "cli/train-epochs-0", "dataset/float01", "model/sequential-subclass",
                    "model/linear-subclass", "config/eval-limit-minus-5", "cli/calibrate-v-dd-99",
                    "cli/train-out-unwritable", "cli/train-out-invalid",
                    "api/simulate-timesteps-1e9-float", "config/tradeoff-T-1e12",
                    "config/fifo", "config/floors-nan", "config/percentile-200",
                    "config/percentile-nan", "config/unknown-network",
                    "config/data-root-missing", "config/cosim-vneg-positive",
                    "config/window-negative", "calibration/energy_exponent",
                    "inject/models-newline-control", "rundir/calibration-json-truncated",
                    "rundir/output-edited", "fault/killed-process-temp-dir"):
        assert example in named, example


@pytest.mark.parametrize("case", TABLE, ids=[c.id for c in TABLE])
def test_hostile_input(case, tmp_path):
    kind, text = outcome(case, tmp_path)
    assert kind == ("clear" if case.error is not None else "heal"), f"{kind}: {text}"


def test_tradeoff_parts_key_on_the_priced_v_dd(tmp_path):
    """A rerun with other V_DD values must not reuse the old points (they were priced at the
    old V_DD): each point of the second run is at a V_DD the second config asked for."""
    import torch
    from torch import nn

    from calib.fit import fit
    from cosim import convert
    from nmpkit.studies.tradeoff import Classifier, TradeoffConfig, evaluate
    from tests.calib import synth_tables as syn

    cal = fit(syn.write_tables(tmp_path / "t"))
    torch.manual_seed(0)
    x = torch.rand(24, 6)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    clf = Classifier(net=convert(model, x), x=x, y=torch.arange(24) % 3, ann_accuracy=0.0,
                     info={"network": "tiny"})
    parts = tmp_path / "parts"

    def run(vdds):
        cfg = TradeoffConfig(calibration="c", weights="w", data_root="d", timesteps=(8,),
                             v_neg_volts=(0.0,), v_dd_volts=vdds, energy_samples=8, batch=24)
        return evaluate(cal, clf, cfg, parts_dir=parts)

    first = run((0.8,))
    second = run((1.0,))
    v1 = {r["v_dd_volts"] for r in first["rows"] if r["condition"] != "nmp"}
    v2 = {r["v_dd_volts"] for r in second["rows"] if r["condition"] != "nmp"}
    assert v1 == {0.8} and v2 == {1.0}
    e = {r["v_dd_volts"]: r["energy_joules"] for rec in (first, second) for r in rec["rows"]
         if r["condition"] != "nmp"}
    assert e[0.8] != e[1.0]


def test_temp_names_are_unique_per_process_and_call(tmp_path):
    """Two processes (and two calls) writing the same file atomically never share a temp
    name, and a private folder names its process."""
    from calib.io import atomic_write
    from circuits._tmp import private_dir

    names: list[str] = []

    def writer(tmp: Path) -> None:
        names.append(tmp.name)
        if len(names) == 1:  # a second writer of the same file while the first is open
            atomic_write(tmp_path / "w.pt", writer)
        tmp.write_text(str(len(names)))

    atomic_write(tmp_path / "w.pt", writer)
    assert len(set(names)) == 2 and not list(tmp_path.glob("*.tmp"))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from circuits._tmp import private_dir;"
            " print(private_dir('nmpkit-x-').name)")
    root = str(Path(__file__).resolve().parent.parent)
    other = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True,
                           check=True, timeout=60).stdout.strip()
    with private_dir("nmpkit-x-") as mine:
        assert f"-{os.getpid()}-" in Path(mine).name and Path(other).name != Path(mine).name


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20)
                     | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(blob=st.binary(max_size=120) | st.text(max_size=120).map(str.encode))
def test_any_bytes_as_a_config_load_or_get_one_usage_error(blob):
    from nmpkit.app.config import load_config
    from nmpkit.app.errors import UsageError

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.toml"
        path.write_bytes(blob)
        try:
            load_config(path)
        except UsageError as exc:
            assert len(str(exc).splitlines()) == 1, str(exc)


@settings(max_examples=80, deadline=None)
@given(field=st.sampled_from(sorted(f.name for f in dataclasses.fields(Calibration))),
       value=_JSON)
def test_any_value_in_any_calibration_field_loads_or_gets_one_calibration_error(field, value):
    """A hand edit (seal removed) of any field to any JSON value: loaded, or one line naming
    the file; never another exception type."""
    d = json.loads(assets().calibration.read_text())
    d.pop("content_sha256", None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.json"
        path.write_text(json.dumps(d | {field: value}, allow_nan=True))
        try:
            Calibration.load(path)
        except CalibrationError as exc:
            assert len(str(exc).splitlines()) == 1 and str(path) in str(exc), str(exc)
