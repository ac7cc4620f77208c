"""What produced a result: versions, git revision, host, time — one dict for every sidecar."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from calib.provenance import git_revision


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Versions of the interpreter and of the libraries results depend on."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("nmpkit", "torch", "numpy", "scipy", "pandas", "PySpice"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def provenance(**extra: Any) -> dict[str, Any]:
    """A provenance record: versions, git revision, host, UTC time, plus the caller's fields."""
    return {
        "versions": versions(),
        "git_revision": git_revision(),
        "host": platform.node(),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }


def stable_hash(obj: Any) -> str:
    """sha256 of the sorted-key JSON of ``obj`` (the content address of a parameter set)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=2, sort_keys=True, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
