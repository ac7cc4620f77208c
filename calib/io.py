"""Files every package writes: atomic writes, the one content hash, the one provenance record.

calib is the floor every package may import (circuits -> calib <- cosim, nmpkit -> all), so this
module is where circuits, calib, cosim and nmpkit write files and hash content, instead of each
keeping a copy.

Atomic writes: the data goes to a temporary file in the destination's directory, named uniquely
per process and call (``.<name>.<random>.tmp``); it is flushed, fsync'ed, given the usual
mode (``0o666`` less the umask, where ``mkstemp`` makes ``0o600``) and renamed over the destination
with ``os.replace``. A reader sees the old file or the new one, never a torn one, and the temporary
file is removed on every exit path (an exception, ``KeyboardInterrupt``). ``atomic_write(path,
writer)`` takes any ``writer(tmp_path)`` (``torch.save``, ``np.savez``, ``DataFrame.to_csv``), so
calib never imports torch.

Example::

    from calib.io import atomic_write_json, content_hash, provenance
    key = content_hash({"stage": "train", "inputs": {...}})
    atomic_write_json(out / "summary.json", {"accuracy": 0.99, "provenance": provenance()})
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike[str]

DISTRIBUTIONS: tuple[str, ...] = ("nmpkit", "torch", "numpy", "scipy", "pandas", "PySpice")
"""Distributions whose versions every provenance record names."""

_UMASK = os.umask(0)  # read the process umask (os has no getter)
os.umask(_UMASK)
_REPO = Path(__file__).resolve().parent.parent


# --- atomic writes -------------------------------------------------------------------------------


def atomic_write(path: PathLike, writer: Callable[[Path], object]) -> Path:
    """Write ``path`` atomically: ``writer(tmp)`` fills a temporary file, which is then renamed.

    The parent directory is created. ``writer`` receives the temporary path (in the same
    directory, so the rename is atomic); it may open and write it itself or hand it to a library
    (``torch.save``). The temporary name ends in ``.tmp``, so no glob for the real suffix sees
    it; ``np.save``/``np.savez`` append their suffix to such a name (`atomic_write_npz` hands
    them an open file). Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        writer(tmp)
        with open(tmp, "rb+") as fh:  # what the writer left in the page cache goes to disk
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # no-op after the rename
    return path


def atomic_write_npz(path: PathLike, arrays: Mapping[str, Any], *,
                     compressed: bool = False) -> Path:
    """``np.savez`` (``compressed``: ``np.savez_compressed``) of ``arrays`` to ``path``,
    atomically; ``path`` is written as named (no ``.npz`` appended). Returns ``path``."""
    import numpy as np

    save = np.savez_compressed if compressed else np.savez

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a name
            save(fh, **arrays)

    return atomic_write(path, write)


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (and a final newline) to ``path`` atomically.

    Values JSON does not know (paths, numpy scalars, dataclasses) are written as ``str(value)``.
    """
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_csv(path: PathLike, df: Any, **to_csv: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically (``index=False`` unless ``to_csv`` says)."""
    to_csv.setdefault("index", False)
    return atomic_write(path, lambda tmp: df.to_csv(tmp, **to_csv))


# --- the one content hash ------------------------------------------------------------------------


def canonical_json(obj: Any) -> str:
    """The canonical text of ``obj``: sorted keys, no spaces, unknown values as ``str``."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def digest(data: bytes | str) -> str:
    """sha256 hex digest of ``data`` (a ``str`` is hashed as its UTF-8 bytes)."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def content_hash(obj: Any) -> str:
    """The content address of a parameter set: ``digest(canonical_json(obj))``."""
    return digest(canonical_json(obj))


def file_digest(path: PathLike) -> str:
    """sha256 hex digest of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- the one provenance record -------------------------------------------------------------------


def _git(*args: str, check: bool = True) -> str:
    return subprocess.run(["git", "-C", str(_REPO), *args], capture_output=True, text=True,
                          timeout=10, check=check).stdout.strip()


@lru_cache(maxsize=1)
def git_revision() -> str:
    """The checkout's commit (with '+dirty' when tracked files changed), or 'unknown'.

    'unknown' when the code does not run from a git checkout (an installed package) or git is
    missing.
    """
    try:
        if Path(_git("rev-parse", "--show-toplevel")).resolve() != _REPO:
            return "unknown"  # site-packages inside some other repository
        dirty = _git("status", "--porcelain", "-uno", check=False)
        return _git("rev-parse", "HEAD") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_version(dist: str = "nmpkit") -> str:
    """The installed version of ``dist`` (importlib.metadata), or 'not installed'."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Versions of the interpreter and of the libraries results depend on."""
    return {"python": platform.python_version(), **{d: package_version(d) for d in DISTRIBUTIONS}}


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def provenance(**extra: Any) -> dict[str, Any]:
    """A provenance record: versions, git revision, host, UTC time, plus the caller's fields.

    Where torch is loaded (calib never imports it), ``torch_threads`` records its thread count.
    """
    rec: dict[str, Any] = {
        "versions": dict(versions()),
        "git_revision": git_revision(),
        "host": platform.node(),
        "created_utc": utc_now(),
    }
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_num_threads"):
        rec["torch_threads"] = torch.get_num_threads()
    return {**rec, **extra}


__all__ = [
    "DISTRIBUTIONS",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_json",
    "atomic_write_text",
    "canonical_json",
    "content_hash",
    "digest",
    "file_digest",
    "git_revision",
    "package_version",
    "provenance",
    "utc_now",
    "versions",
]
