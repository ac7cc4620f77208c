"""Sweeps: many `Point`s of one design, in parallel, content-addressed and resumable.

Every point's result row is cached under a key = sha256 of (the point's rendered deck text, the
point, the design, the ngspice version, the measurement version), one small JSON file per point
(`circuits.point_cache`), written atomically the moment the point finishes. A sweep that is
killed (even with SIGKILL) and started again finds its finished points in the cache and simulates
only the rest; the table it ends with is identical to an uninterrupted run. An entry that is
empty, truncated, foreign or does not match its recorded row hash is discarded with a one-line
warning (logging) and the point simulated again. Pool workers die with the sweep's process.

Executors: a local process pool (``workers`` processes, default all cores; ``workers=1`` runs
in-process) or a Dask distributed cluster (``scheduler="tcp://host:port"`` or a
``distributed.Client``). Each worker process keeps one in-process ngspice with one thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circuits.design import NeuronDesign
from circuits.point import Point, simulate_point
from circuits.point_cache import cache_get, cache_put, point_key


@dataclass(frozen=True, slots=True)
class SweepStats:
    """What a sweep did: points total, found in the cache, computed, and ngspice runs made."""

    total: int
    cached: int
    computed: int
    simulator_runs: int




def _task(design: NeuronDesign, p: Point, key: str, cache_dir: str | None,
          ngspice_version: str) -> tuple[dict[str, Any], bool, int]:
    """Worker side: (row, computed?, ngspice runs). With a ``cache_dir`` the worker checks the
    cache again (a previous run may have finished the point) and stores its row; without one
    (Dask workers, which may not share the file system) the client stores it."""
    from circuits.ngspice import ngspice_version as local_version

    cdir = Path(cache_dir) if cache_dir else None
    if cdir is not None:
        row = cache_get(cdir, key)
        if row is not None:
            return row, False, 0
    if local_version() != ngspice_version:
        raise RuntimeError(f"worker has ngspice {local_version()}, the sweep keys were made "
                           f"for ngspice {ngspice_version}")
    counter = [0]
    row = simulate_point(design, p, counter=counter)
    if cdir is not None:
        cache_put(cdir, key, row, p)
    return row, True, counter[0]


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def run_points(design: NeuronDesign, points: Sequence[Point], *, cache_dir: str | Path,
               workers: int | None = None, scheduler: Any = None,
               progress: bool | Callable[[int, int], None] = True,
               desc: str = "characterize") -> tuple[list[dict[str, Any]], SweepStats]:
    """Simulate ``points`` (cached ones are read back) and return their rows in order.

    Args:
        design: the neuron.
        points: the points; duplicates are simulated once.
        cache_dir: the content-addressed cache directory.
        workers: local worker processes (default: all cores; 1 = in this process).
        scheduler: a Dask scheduler address or ``distributed.Client``; overrides ``workers``.
        progress: True for a tqdm bar on stderr, False for none, or a callback(done, total).
        desc: label of the progress bar.

    Raises:
        SimulationError, CharacterizationError: a point failed (finished points stay cached).
    """
    from circuits.ngspice import ngspice_version

    cdir = Path(cache_dir)
    cdir.mkdir(parents=True, exist_ok=True)
    version = ngspice_version()
    keys = [point_key(design, p, version) for p in points]
    rows: dict[str, dict[str, Any]] = {}
    for key in keys:
        row = cache_get(cdir, key)
        if row is not None:
            rows[key] = row
    cached = len(set(keys) & set(rows))
    todo = {k: p for k, p in zip(keys, points, strict=True) if k not in rows}
    computed = runs = 0
    bar, tick = _progress(progress, len(set(keys)), cached, desc)
    try:
        for key, (row, did, n) in _execute(design, todo, cdir, version, workers, scheduler):
            rows[key] = row
            computed += int(did)
            runs += n
            tick()
    finally:
        if bar is not None:
            bar.close()
    stats = SweepStats(total=len(set(keys)), cached=cached, computed=computed,
                       simulator_runs=runs)
    # Same shape whether a row was computed now or read back (JSON keeps floats exactly).
    return [dict(sorted(rows[k].items())) for k in keys], stats


def _progress(progress, total: int, done: int, desc: str):
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=done, desc=desc, unit="pt", dynamic_ncols=True)
        return bar, lambda: bar.update(1)
    if callable(progress):
        state = [done]

        def tick() -> None:
            state[0] += 1
            progress(state[0], total)
        return None, tick
    return None, lambda: None


def _execute(design, todo: dict[str, Point], cdir: Path, version: str, workers, scheduler):
    if not todo:
        return
    if scheduler is not None:
        yield from _execute_dask(design, todo, cdir, version, scheduler)
        return
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if n == 1 or len(todo) == 1:
        for key, p in todo.items():
            yield key, _task(design, p, key, str(cdir), version)
        return
    with process_pool(min(n, len(todo))) as pool:
        futures = {pool.submit(_task, design, p, key, str(cdir), version): key
                   for key, p in todo.items()}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:  # an error, Ctrl-C or a closed generator: stop every worker now
            # taken before shutdown, which sets _processes to None (an AttributeError here
            # used to hide the Ctrl-C and leave the workers running)
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            _stop(procs)
            raise


def _stop(procs, grace_seconds: float = 5.0) -> None:
    """SIGTERM every worker, wait for them together up to ``grace_seconds``, then SIGKILL the
    ones still alive (a worker inside libngspice may not die of SIGTERM at once), and reap them."""
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    deadline = time.monotonic() + grace_seconds
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
    for proc in procs:
        with contextlib.suppress(Exception):
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5.0)


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: the worker is killed when its parent dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):  # Linux: the kernel sends SIGKILL when the parent dies
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a second line): poll the parent
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """The sweep's local pool: spawned workers (a clean ngspice each, no forked state) that die
    with this process, so a killed sweep leaves no worker simulating and writing the cache."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with_parent, initargs=(os.getpid(),))


def _execute_dask(design, todo: dict[str, Point], cdir: Path, version: str, scheduler):
    from distributed import Client
    from distributed import as_completed as dask_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = {client.submit(_task, design, p, key, None, version, key=f"pt-{key}",
                                 pure=False): key for key, p in todo.items()}
        for fut in dask_completed(list(futures)):
            key = futures[fut]
            row, did, n = fut.result()
            cache_put(cdir, key, row, todo[key])
            yield key, (row, did, n)
    finally:
        if own:
            client.close()


__all__ = ["SweepStats", "default_workers", "process_pool", "run_points"]
