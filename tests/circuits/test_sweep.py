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
from circuits.point_cache import cache_get, point_key
from circuits.sweep import run_points
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
                                  dashboard_address=":0") as cluster:
        dask_rows, dstats = run_points(default_design(), points, cache_dir=tmp_path / "dask",
                                       scheduler=cluster.scheduler_address, progress=False)
    assert dstats.computed == len(points)
    pd.testing.assert_frame_equal(_table(local, points), _table(dask_rows, points),
                                  check_exact=True)
    # The client stored the Dask results: a rerun is all cache hits.
    _, again = run_points(default_design(), points, cache_dir=tmp_path / "dask", workers=1,
                          progress=False)
    assert again.computed == 0


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


POOL_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from circuits.design import default_design
from tests.circuits.test_sweep import _points
from circuits.sweep import run_points
run_points(default_design(), _points(12), cache_dir=sys.argv[1], workers=2, progress=False)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkilled_sweep_takes_its_pool_workers_and_their_temp_dirs_along(tmp_path,
                                                                          monkeypatch):
    from circuits._tmp import _alive, reap_stale

    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", POOL_SCRIPT.format(root=str(ROOT)),
                             str(cache)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=os.environ | {"TMPDIR": str(tmp)})
    deadline = time.monotonic() + 180
    while not list(cache.rglob("*.json")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    workers = [c for c in _children(proc.pid) if "resource_tracker" not in
               Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    while any(_alive(w) for w in workers):  # PR_SET_PDEATHSIG: gone at once
        assert time.monotonic() < deadline, "pool workers outlived their parent"
        time.sleep(0.02)
    written = _entries(cache)
    time.sleep(0.5)
    assert _entries(cache) == written  # nobody is writing any more
    left = sorted(p.name for p in tmp.glob("nmpkit-ngspice-*"))
    assert left  # the killed workers could not clean up ...
    monkeypatch.setattr("tempfile.tempdir", str(tmp))
    assert sorted(p.name for p in reap_stale("nmpkit-ngspice-")) == left  # ... the next does
    assert not list(tmp.glob("nmpkit-ngspice-*"))


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "other-key", "edited-row",
                                    "row-not-numbers", "directory"])
def test_corrupt_cache_entries_are_discarded_and_recomputed(tmp_path, caplog, damage):
    import json
    import logging

    points = _points(2)
    cache = tmp_path / "cache"
    rows, _ = run_points(default_design(), points, cache_dir=cache, workers=1, progress=False)
    path = sorted(cache.rglob("*.json"))[0]
    text = path.read_text()
    data = json.loads(text)
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\xff\xfe\x00 not json")
    elif damage == "other-key":
        path.write_text(json.dumps(data | {"key": "0" * 64}))
    elif damage == "edited-row":
        data["row"]["rate_hertz"] *= 2.0  # still valid JSON: only the recorded hash tells
        path.write_text(json.dumps(data))
    elif damage == "row-not-numbers":
        data["row"]["rate_hertz"] = "fast"
        path.write_text(json.dumps(data))
    else:
        path.unlink()
        path.mkdir()
    with caplog.at_level(logging.WARNING, logger="circuits.sweep"):
        again, stats = run_points(default_design(), points, cache_dir=cache, workers=1,
                                  progress=False)
    assert stats.cached == 1 and stats.computed == 1
    assert again == rows  # healed: the same rows as the first run
    warned = [r.getMessage() for r in caplog.records if r.name == "circuits.sweep"]
    assert len(warned) == 1 and "discarded" in warned[0] and path.name in warned[0]
    _, third = run_points(default_design(), points, cache_dir=cache, workers=1, progress=False)
    assert third.computed == 0


def test_point_key_value_is_pinned(monkeypatch):
    """The cache's key format: a change here orphans every point cache (bump MEASURE_VERSION)."""
    import circuits.point_cache as sw

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
