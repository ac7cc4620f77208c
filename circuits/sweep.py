"""Sweeps: many `Point`s of one design, in parallel, content-addressed and resumable.

Every point's result row is cached under a key = sha256 of (the point's rendered deck text, the
point, the design, the ngspice version, the measurement version), one small JSON file per point,
written atomically (temporary file + ``os.replace``) the moment the point finishes. A sweep that is
killed (even with SIGKILL) and started again finds its finished points in the cache and simulates
only the rest; the table it ends with is identical to an uninterrupted run.

Executors: a local process pool (``workers`` processes, default all cores; ``workers=1`` runs
in-process) or a Dask distributed cluster (``scheduler="tcp://host:port"`` or a
``distributed.Client``). Each worker process keeps one in-process ngspice with one thread.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calib.io import atomic_write_text, digest
from circuits.design import NeuronDesign
from circuits.point import MEASURE_VERSION, Point, deck_for, simulate_point


@dataclass(frozen=True, slots=True)
class SweepStats:
    """What a sweep did: points total, found in the cache, computed, and ngspice runs made."""

    total: int
    cached: int
    computed: int
    simulator_runs: int




def point_key(design: NeuronDesign, p: Point, ngspice_version: str) -> str:
    """Content address of a point: hash of deck text + point + design + versions.

    The payload is spelled with ``json.dumps(sort_keys=True)`` (not ``calib.io.canonical_json``):
    that is the format the existing point caches are keyed by, pinned by a test.
    """
    payload = json.dumps({
        "deck": deck_for(design, p),
        "point": p.as_dict(),
        "design": design.to_dict(),
        "ngspice_version": ngspice_version,
        "measure_version": MEASURE_VERSION,
    }, sort_keys=True)
    return digest(payload)


def _entry(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.json"


def cache_get(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached row of ``key`` or None (a torn or foreign file counts as absent)."""
    path = _entry(cache_dir, key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data.get("row")


def cache_put(cache_dir: Path, key: str, row: dict[str, Any], point: Point) -> None:
    """Store a row atomically."""
    path = _entry(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"key": key, "point": point.as_dict(), "row": row},
                                       sort_keys=True))


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
    ctx = multiprocessing.get_context("spawn")  # a clean ngspice per worker, no forked state
    with ProcessPoolExecutor(max_workers=min(n, len(todo)), mp_context=ctx) as pool:
        futures = {pool.submit(_task, design, p, key, str(cdir), version): key
                   for key, p in todo.items()}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


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


__all__ = ["SweepStats", "cache_get", "cache_put", "default_workers", "point_key", "run_points"]
