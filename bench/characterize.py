"""Benchmark of the characterization harness (prints ratios; run under the heavy lock).

    flock /work/heavy.lock /work/venv/bin/python bench/characterize.py [--skip-full] [--reps 3]

1. Harness overhead: the same decks and points through (a) the harness (render, in-process
   ngspice, vector fetch, all measurements: `circuits.point.simulate_point`) and (b) bare
   ``ngspice -b -r out.raw deck.cir`` subprocesses (one thread each, via .spiceinit, like the
   harness). Prints harness/bare wall-time ratio (median of --reps) and harness wall time over
   ngspice's own analysis time (``rusage time``). Target: <= 1.15x.
2. Parallel speed-up on 2 cores: `circuits.sweep.run_points` with workers=1 vs workers=2 on the
   same fresh points (worker start-up included). Target: >= 1.8x.
3. The default full characterization (`default_grid`: 40 currents x 5 V_NEG x 3 V_DD plus 2 x 100
   Monte Carlo samples and 32 at each other V_DD, floors, idle points, one waveform per V_DD:
   every V_DD calibrated) with 2 workers and an empty cache: wall time. Target: <= 300 s.
   ``--only-full --full-out DIR`` runs just this and keeps the tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from circuits.characterization import characterize  # noqa: E402
from circuits.design import default_design  # noqa: E402
from circuits.grid import default_grid  # noqa: E402
from circuits.ngspice import run_deck  # noqa: E402
from circuits.point import Point, deck_for, simulate_point  # noqa: E402
from circuits.render import SAVED  # noqa: E402
from circuits.sweep import run_points  # noqa: E402


class _Load:
    """CPU seconds used machine-wide and by this process tree over a block (from /proc/stat and
    getrusage): the difference is other users' load, which disturbs wall-time ratios."""

    def __enter__(self) -> _Load:
        self.sys0, self.own0, self.t0 = _busy(), _own(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        self.own = _own() - self.own0
        self.foreign = max(0.0, _busy() - self.sys0 - self.own)

    def text(self) -> str:
        return (f"[wall {self.wall:.1f} s, our CPU {self.own:.1f} s, other processes' CPU "
                f"{self.foreign:.1f} s]")


def _busy() -> float:
    with open("/proc/stat") as fh:
        fields = [float(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own() -> float:
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _points(n: int) -> list[Point]:
    currents = np.geomspace(3e-8, 1e-6, n)
    return [Point(kind="fi", v_dd_volts=1.0, v_neg_volts=-0.5, i_exc_amps=float(i))
            for i in currents]


def overhead(reps: int, n: int) -> None:
    d = default_design()
    pts = _points(n)
    decks = [deck_for(d, p) for p in pts]
    ngspice = shutil.which("ngspice")
    if ngspice is None:
        print("overhead: ngspice binary not found, skipped")
        return
    tmp = Path(tempfile.mkdtemp(prefix="nmpkit-bench-"))
    (tmp / ".spiceinit").write_text("set num_threads=1\n")
    files = []
    for k, text in enumerate(decks):
        f = tmp / f"deck{k}.cir"
        f.write_text(text)
        files.append(f)
    # warm-up both paths (library load, page cache)
    simulate_point(d, pts[0])
    subprocess.run([ngspice, "-b", "-r", str(tmp / "w.raw"), str(files[0])], cwd=tmp,
                   capture_output=True, check=True)
    harness, bare, analysis = [], [], []
    load = _Load().__enter__()
    for _ in range(reps):
        counter = [0]
        t0 = time.perf_counter()
        for p in pts:
            simulate_point(d, p, counter=counter)
        harness.append(time.perf_counter() - t0)
        assert counter[0] == len(pts), "a point needed a longer window; pick other currents"
        t0 = time.perf_counter()
        for f in files:
            subprocess.run([ngspice, "-b", "-r", str(tmp / "out.raw"), str(f)], cwd=tmp,
                           capture_output=True, check=True)
        bare.append(time.perf_counter() - t0)
        total = 0.0
        for text in decks:
            timing: dict[str, float] = {}
            run_deck(text, vectors=SAVED, timing=timing)
            total += timing["analysis_seconds"]
        analysis.append(total)
    load.__exit__(None, None, None)
    print(f"overhead load: {load.text()}")
    h, b, a = statistics.median(harness), statistics.median(bare), statistics.median(analysis)
    print(f"overhead: {len(pts)} points x {reps} reps: harness {h:.2f} s, bare ngspice -b "
          f"{b:.2f} s, ngspice analysis time {a:.2f} s")
    print(f"overhead ratio harness/bare-ngspice = {h / b:.3f}  (target <= 1.15)")
    print(f"overhead ratio harness/ngspice-analysis-time = {h / a:.3f}")
    shutil.rmtree(tmp, ignore_errors=True)


def speedup(n: int) -> None:
    d = default_design()
    pts = _points(n)
    times, loads = {}, {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="nmpkit-bench-") as cache, _Load() as load:
            t0 = time.perf_counter()
            _, stats = run_points(d, pts, cache_dir=cache, workers=workers, progress=False)
            times[workers] = time.perf_counter() - t0
            assert stats.computed == len(pts)
        loads[workers] = load
    print(f"speed-up: {n} points: 1 worker {times[1]:.2f} s {loads[1].text()}, "
          f"2 workers {times[2]:.2f} s {loads[2].text()}")
    print(f"speed-up ratio 1-worker/2-workers = {times[1] / times[2]:.3f}  (target >= 1.8)")


def full(out: Path | None) -> None:
    d = default_design()
    grid = default_grid(d)
    with tempfile.TemporaryDirectory(prefix="nmpkit-bench-") as tmp:
        target = out if out is not None else Path(tmp) / "tables"
        if target.exists():
            shutil.rmtree(target)
        with _Load() as load:
            t0 = time.perf_counter()
            characterize(d, grid, target, workers=2, progress=False)
            wall = time.perf_counter() - t0
        print(f"full characterization load: {load.text()}")
    n = (len(grid.i_exc_amps) * len(grid.v_dd_volts) * len(grid.v_neg_volts))
    print(f"full default characterization: {n} f-I points at {len(grid.v_dd_volts)} V_DD, "
          f"{grid.mc_samples} MC samples x {len(grid.mc_i_exc_amps)} currents + "
          f"{grid.mc_v_dd_samples} at each other V_DD, one waveform per V_DD, 2 workers, "
          f"empty cache: {wall:.1f} s")
    print(f"full characterization wall / 300 s target = {wall / 300:.3f}  (target <= 1)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--points", type=int, default=24, help="points for the overhead test")
    ap.add_argument("--speedup-points", type=int, default=120)
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--only-speedup", action="store_true")
    ap.add_argument("--only-full", action="store_true", help="just the full characterization")
    ap.add_argument("--only-overhead", action="store_true", help="just the harness overhead")
    ap.add_argument("--full-out", type=Path, default=None,
                    help="keep the full characterization's tables here")
    args = ap.parse_args()
    print(f"cores available: {len(os.sched_getaffinity(0))}")
    if args.only_full:
        full(args.full_out)
        return 0
    if args.only_overhead:
        overhead(args.reps, args.points)
        return 0
    if not args.only_speedup:
        overhead(args.reps, args.points)
    speedup(args.speedup_points)
    if args.only_speedup:
        return 0
    if not args.skip_full:
        full(args.full_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
