"""Stages, run directories and skipping: the engine under `nmpkit run`.

A run directory holds one sub-directory per stage. A stage's *key* is the hash of its inputs
(the config slice it reads), the keys of the stages it needs, and the nmpkit version. A stage
whose ``stage.json`` records the same key and ``status: done`` is skipped, so re-running a
finished run does nothing and changing one parameter reruns only the stages downstream of it.
The record also holds the sha256 of every file the stage wrote: a stage whose outputs were
edited, cut or deleted since (a hand-edited ``calibration.json``) runs again, with a warning.
A stage runs in ``.NAME.partial/`` and is renamed into place only when it succeeds, so an
interrupted run leaves no half-written stage and resumes at the first unfinished one (long
stages such as characterization keep their own point caches under ``cache/`` and resume
point by point).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calib.io import atomic_write_json, content_hash, provenance
from nmpkit import __version__
from nmpkit.app.errors import UsageError

RECORD = "stage.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class StageContext:
    """What a stage's function gets: its output folder, its inputs and its upstream folders."""

    name: str
    out_dir: Path
    run_dir: Path
    inputs: Mapping[str, Any]
    upstream: Mapping[str, Path]
    config: Any  # the run config (`nmpkit run`: a RunConfig); the pipeline only passes it on
    quiet: bool = False

    @property
    def cache_dir(self) -> Path:
        """A per-run cache that outlives a failed attempt of the stage (point caches)."""
        d = self.run_dir / "cache" / self.name
        d.mkdir(parents=True, exist_ok=True)
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """One step of the pipeline.

    Args:
        name: folder name in the run directory.
        needs: names of upstream stages (their folders are passed in ``ctx.upstream``).
        inputs: the slice of the config this stage depends on (JSON-able; it is hashed).
        run: does the work, writes files into ``ctx.out_dir``, returns a JSON-able summary.
    """

    name: str
    needs: tuple[str, ...]
    inputs: Callable[[Any], Mapping[str, Any]]
    run: Callable[[StageContext], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    status: str  # "ran" | "skipped"
    seconds: float
    summary: Mapping[str, Any] = field(default_factory=dict)


def stage_key(stage: Stage, inputs: Mapping[str, Any], upstream_keys: Mapping[str, str]) -> str:
    return content_hash({"stage": stage.name, "inputs": inputs, "upstream": dict(upstream_keys),
                        "nmpkit": __version__})


def _read_record(folder: Path) -> dict[str, Any] | None:
    import json
    import warnings

    path = folder / RECORD
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
        if isinstance(rec, dict):
            return rec
    except (OSError, ValueError):
        pass
    warnings.warn(f"[{folder.name}] its {RECORD} is unreadable; running the stage again",
                  RuntimeWarning, stacklevel=3)
    return None  # a damaged record means: run the stage again


def _outputs(folder: Path) -> dict[str, str]:
    """sha256 of every file a stage wrote (its record aside), by path inside its folder."""
    from calib.io import file_digest

    return {f.relative_to(folder).as_posix(): file_digest(f) for f in sorted(folder.rglob("*"))
            if f.is_file() and f.name != RECORD}


def _changed_output(folder: Path, record: Mapping[str, Any]) -> str | None:
    """The first recorded output that is gone or whose bytes no longer match its hash (or
    the reason the record cannot tell); None when every output is as written."""
    from calib.io import file_digest

    files = record.get("files")
    if not isinstance(files, dict):
        return "its record holds no output hashes"
    for rel, sha in files.items():
        path = folder / rel
        if not path.is_file():
            return f"{rel} is gone"
        if file_digest(path) != sha:
            return f"{rel} no longer matches its recorded sha256"
    return None


def run_stages(
    stages: Sequence[Stage],
    config: Any,
    run_dir: str | Path,
    *,
    quiet: bool = False,
    force: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Run ``stages`` in order into ``run_dir``, skipping those whose key is unchanged.

    Raises:
        UsageError: a stage names an unknown upstream, or a stage appears twice.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    say = log or (lambda _msg: None)
    keys: dict[str, str] = {}
    outcomes: list[Outcome] = []
    for stage in stages:
        if stage.name in keys:
            raise UsageError(f"stage {stage.name!r} appears twice in the pipeline")
        missing = [n for n in stage.needs if n not in keys]
        if missing:
            raise UsageError(f"stage {stage.name!r} needs {missing}, which do not run before it")
        inputs = dict(stage.inputs(config))
        key = stage_key(stage, inputs, {n: keys[n] for n in stage.needs})
        keys[stage.name] = key
        final = run_dir / stage.name
        record = _read_record(final)
        if (record and record.get("key") == key and record.get("status") == "done"
                and stage.name not in force):
            changed = _changed_output(final, record)
            if changed is None:
                say(f"[{stage.name}] unchanged, skipped")
                outcomes.append(Outcome(stage.name, "skipped", 0.0, record.get("summary", {})))
                continue
            import warnings

            warnings.warn(f"[{stage.name}] {changed}; running the stage again", RuntimeWarning,
                          stacklevel=2)
        say(f"[{stage.name}] running")
        partial = run_dir / f".{stage.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        ctx = StageContext(name=stage.name, out_dir=partial, run_dir=run_dir, inputs=inputs,
                           upstream={n: run_dir / n for n in stage.needs}, config=config,
                           quiet=quiet)
        t0 = time.perf_counter()
        summary = dict(stage.run(ctx) or {})
        seconds = time.perf_counter() - t0
        atomic_write_json(partial / RECORD, {
            "stage": stage.name, "key": key, "status": "done", "inputs": inputs,
            "upstream": {n: keys[n] for n in stage.needs}, "seconds": round(seconds, 3),
            "summary": summary, "files": _outputs(partial), "provenance": provenance(),
        })
        if final.exists():
            old = run_dir / f".{stage.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            partial.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.rename(final)
        say(f"[{stage.name}] done in {seconds:.1f} s")
        outcomes.append(Outcome(stage.name, "ran", seconds, summary))
    return outcomes
