"""Faults in run directories and caches: a stage output edited or deleted after the stage
finished, a corrupt ``calibration.json`` or stage record, empty or truncated cache entries, the
temp folder of a killed process. Each must heal: a one-line warning, then the work is redone and
the result is right again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.hostile.harness import Case, assets

ROOT = Path(__file__).resolve().parents[2]


def _toy(calls: list[str]):
    from nmpkit.app.pipeline import Stage

    def make(name):
        def run(ctx):
            calls.append(name)
            (ctx.out_dir / "out.txt").write_text(f"{name}:{ctx.inputs}")
            return {}
        return run

    return [Stage(name="a", needs=(), inputs=lambda c: {"x": c["x"]}, run=make("a")),
            Stage(name="b", needs=("a",), inputs=lambda c: {}, run=make("b"))]


def _rundir(damage: str):
    def run(tmp: Path):
        from nmpkit.app.pipeline import run_stages

        calls: list[str] = []
        run_stages(_toy(calls), {"x": 1}, tmp)
        out = tmp / "b" / "out.txt"
        if damage == "output-edited":
            out.write_text("b:{} edited by hand")
        elif damage == "output-cut":
            out.write_text(out.read_text()[:2])
        elif damage == "output-deleted":
            out.unlink()
        elif damage == "record-garbage":
            (tmp / "b" / "stage.json").write_text("{not json")
        elif damage == "record-list":
            (tmp / "b" / "stage.json").write_text("[1, 2]")
        calls.clear()
        run_stages(_toy(calls), {"x": 1}, tmp)
        return calls, out.read_text()
    return run


def _calibration_json(damage: str):
    """The real calibrate stage on the synthetic tables; its calibration.json damaged after."""
    def run(tmp: Path):
        import shutil

        from calib import Calibration
        from nmpkit.app.pipeline import Stage, run_stages
        from nmpkit.app.stages import _calibrate

        def characterize(ctx):
            for f in assets().tables.iterdir():
                shutil.copy(f, ctx.out_dir / f.name)
            return {}

        stages = [Stage(name="characterize", needs=(), inputs=lambda c: {}, run=characterize),
                  Stage(name="calibrate", needs=("characterize",), inputs=lambda c: {},
                        run=_calibrate)]
        run_stages(stages, {}, tmp, quiet=True)
        path = tmp / "calibrate" / "calibration.json"
        good = path.read_text()
        if damage == "truncated":
            path.write_text(good[: len(good) // 2])
        elif damage == "edited":  # still valid and sealed-looking: only the stage hash tells
            d = json.loads(good)
            d["e_spike_vdd_joules"][0] *= 2
            d.pop("content_sha256", None)
            path.write_text(json.dumps(d))
        else:
            path.write_text("")
        run_stages(stages, {}, tmp, quiet=True)
        want = json.loads(good)["e_spike_vdd_joules"]
        return list(Calibration.load(path).e_spike_vdd_joules) == want
    return run


def _chunk(damage: str):
    def run(tmp: Path):
        from nmpkit.studies.evaluate_chunks import _load_chunk

        part = tmp / "chunk_000000.pt"
        part.write_bytes(b"" if damage == "empty" else b"PK\x03\x04garbage")
        return _load_chunk(part, 10, 5, ()), part.exists()
    return run


def _part(damage: str):
    def run(tmp: Path):
        from nmpkit.studies.tradeoff import _read_part

        part = tmp / "neuron_abc.json"
        part.write_text({"empty": "", "truncated": '{"correct": {', "foreign": "[1, 2]"}[damage])
        return _read_part(part), part.exists()
    return run


def _sweep_entry(damage: str):
    def run(tmp: Path):
        from circuits.point_cache import _entry, cache_get

        key = "0" * 64
        path = _entry(tmp, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text({"empty": "", "truncated": '{"key": "', "foreign": json.dumps(
            {"key": "1" * 64, "row": {"a": 1.0}})}[damage])
        return cache_get(tmp, key), path.exists()
    return run


def _killed_temp_dir(tmp: Path):
    """A process holding a private temp folder (as cosim-check's ngspice runs do) is SIGKILLed;
    the next private folder of that prefix removes it."""
    import tempfile

    code = ("import os, signal, sys; sys.path.insert(0, sys.argv[1]); "
            "from circuits._tmp import private_dir; d = private_dir('nmpkit-net-'); "
            "print(d.name, flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True,
                          env=os.environ | {"TMPDIR": str(tmp)}, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    left = Path(proc.stdout.strip())
    assert left.is_dir()  # SIGKILL: it could not clean up
    old, tempfile.tempdir = tempfile.tempdir, str(tmp)
    try:
        from circuits._tmp import private_dir

        with private_dir("nmpkit-net-"):
            pass
    finally:
        tempfile.tempdir = old
    return left.exists()


def cases() -> list[Case]:
    out = [Case(f"rundir/{d}", "run directories", _rundir(d), None, m,
                check=lambda r: r[0] == ["b"] and r[1] == "b:{}", issue=d == "output-edited")
           for d, m in (("output-edited", r"\[b\] out.txt no longer matches its recorded sha256"),
                        ("output-cut", r"\[b\] out.txt no longer matches"),
                        ("output-deleted", r"\[b\] out.txt is gone"),
                        ("record-garbage", r"\[b\] its stage.json is unreadable"),
                        ("record-list", r"\[b\] its stage.json is unreadable"))]
    out += [Case(f"rundir/calibration-json-{d}", "run directories", _calibration_json(d), None,
                 r"\[calibrate\] calibration.json no longer matches", check=bool,
                 issue=d == "truncated") for d in ("truncated", "edited", "empty")]
    out += [Case(f"fault/evaluate-chunk-{d}", "faults", _chunk(d), None,
                 r"discarding the unreadable evaluation chunk", check=lambda r: r == (None, False),
                 issue=d == "empty") for d in ("empty", "garbage")]
    out += [Case(f"fault/tradeoff-part-{d}", "faults", _part(d), None,
                 r"discarding the unreadable trade-off part", check=lambda r: r == (None, False),
                 issue=d == "truncated") for d in ("empty", "truncated", "foreign")]
    out += [Case(f"fault/sweep-cache-{d}", "faults", _sweep_entry(d), None,
                 r"point cache: discarded", check=lambda r: r == (None, False))
            for d in ("empty", "truncated", "foreign")]
    out.append(Case("fault/killed-process-temp-dir", "faults", _killed_temp_dir, None,
                    r"removed 1 temporary folder", check=lambda left: not left, issue=True))
    return out
