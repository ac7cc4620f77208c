"""Sweeps: content-addressed cache, SIGKILL resume, process pool and Dask give the same table."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from circuits.design import default_design
from circuits.point import Point
from circuits.sweep import cache_get, point_key, run_points
from tests.circuits.conftest import needs_ngspice

pytestmark = needs_ngspice
ROOT = Path(__file__).resolve().parents[2]


def _points(n: int = 10) -> list[Point]:
    return [Point(kind="fi", v_dd_volts=1.0, v_neg_volts=-0.5, i_exc_amps=1e-7 * (1 + k))
            for k in range(n)]


def _table(rows, points) -> pd.DataFrame:
    return pd.DataFrame([{**p.as_dict(), **r} for p, r in zip(points, rows, strict=True)])


def _entries(cache: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cache.rglob("*.json")}


SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from circuits.design import default_design
from tests.circuits.test_sweep import _points
from circuits.sweep import run_points
run_points(default_design(), _points(), cache_dir=sys.argv[1], workers=1, progress=False)
"""


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(root=str(ROOT)), str(cache)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(cache.rglob("*.json"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    before = _entries(cache)
    points = _points()
    assert 3 <= len(before) < len(points)  # killed part way
    assert not list(cache.rglob("*.tmp"))  # atomic writes: no torn entry survives

    rows, stats = run_points(default_design(), points, cache_dir=cache, workers=1,
                             progress=False)
    assert stats.cached == len(before)
    assert stats.computed == len(points) - len(before)
    assert stats.simulator_runs == stats.computed  # nothing finished was simulated again
    after = _entries(cache)
    assert all(after[name] == before[name] for name in before)  # untouched

    fresh, fstats = run_points(default_design(), points, cache_dir=tmp_path / "fresh",
                               workers=1, progress=False)
    assert fstats.computed == len(points)
    pd.testing.assert_frame_equal(_table(rows, points), _table(fresh, points), check_exact=True)

    again, astats = run_points(default_design(), points, cache_dir=cache, workers=1,
                               progress=False)
    assert astats.computed == 0 and astats.simulator_runs == 0 and again == rows


def test_key_depends_on_content():
    d = default_design()
    p = _points(1)[0]
    k = point_key(d, p, "39")
    assert k == point_key(d, p, "39")
    assert k != point_key(d, p, "40")
    assert k != point_key(dataclasses.replace(d, c_mem_farads=8e-13), p, "39")
    assert k != point_key(d, dataclasses.replace(p, i_exc_amps=3e-7), "39")
    assert cache_get(Path("/nonexistent"), k) is None


def test_pool_and_dask_local_cluster_agree(tmp_path):
    distributed = pytest.importorskip("distributed")
    points = _points(6)
    local, lstats = run_points(default_design(), points, cache_dir=tmp_path / "pool",
                               workers=2, progress=False)
    assert lstats.computed == len(points)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask_rows, dstats = run_points(default_design(), points, cache_dir=tmp_path / "dask",
                                       scheduler=cluster.scheduler_address, progress=False)
    assert dstats.computed == len(points)
    pd.testing.assert_frame_equal(_table(local, points), _table(dask_rows, points),
                                  check_exact=True)
    # The client stored the Dask results: a rerun is all cache hits.
    _, again = run_points(default_design(), points, cache_dir=tmp_path / "dask", workers=1,
                          progress=False)
    assert again.computed == 0


def test_point_key_value_is_pinned(monkeypatch):
    """The cache's key format: a change here orphans every point cache (bump MEASURE_VERSION)."""
    import circuits.sweep as sw

    class Design:
        def to_dict(self):
            return {"c_mem_farads": 1e-13, "name": "paper", "v_dd_volts": 1.0}

    class Pt:
        def as_dict(self):
            return {"kind": "fi", "i_exc_amps": 2.5e-10, "mc_sample": -1}

    monkeypatch.setattr(sw, "deck_for", lambda d, p: "* deck\nX1 a b if_neuron\n.end\n")
    monkeypatch.setattr(sw, "MEASURE_VERSION", "1")
    assert sw.point_key(Design(), Pt(), "42") == \
        "209ec59debff9e80485a2c0943b49a0935f0b67282c08f461f7877b87c0856e3"
