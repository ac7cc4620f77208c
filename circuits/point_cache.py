"""The sweeps' content-addressed point cache: one small JSON file per simulated point.

``point_key`` = sha256 of (the point's rendered deck text, the point, the design, the ngspice
version, the measurement version); the entry ``CACHE/<key[:2]>/<key>.json`` holds the key, the
point, its row of measurements and the row's sha256, written atomically (`calib.io`). An entry
that is empty, truncated, foreign or does not match its recorded row hash is discarded with a
one-line warning on the ``circuits.sweep`` logger (the sweep's own, where the warning has always
been), so the point is simulated again and the cache heals (`circuits.sweep.run_points`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from calib.io import atomic_write_text, digest
from circuits.design import NeuronDesign
from circuits.point import MEASURE_VERSION, Point, deck_for

log = logging.getLogger("circuits.sweep")


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


def _row_hash(row: dict[str, Any]) -> str:
    return digest(json.dumps(row, sort_keys=True))


def _entry_problem(blob: bytes, key: str) -> tuple[str, dict[str, Any] | None]:
    """(what is wrong with a cache file, or "", and its row)."""
    if not blob.strip():
        return "empty file", None
    try:
        data = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "truncated or not JSON", None
    if not isinstance(data, dict) or data.get("key") != key:
        return "not this point's entry (wrong or missing key)", None
    row = data.get("row")
    if not isinstance(row, dict) or not row or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
            for k, v in row.items()):
        return "its row is not a mapping of names to numbers", None
    if "row_sha256" in data and data["row_sha256"] != _row_hash(row):
        return "its row does not match the recorded sha256", None
    return "", row


def cache_get(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached row of ``key``, or None when absent.

    A corrupt entry (empty, truncated, not JSON, another key's, a row that is not numbers or does
    not match its recorded hash) is deleted with a one-line warning on the ``circuits.sweep``
    logger, so the point is simulated again and the cache heals.
    """
    path = _entry(cache_dir, key)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        problem, row = f"unreadable ({exc.strerror})", None
    else:
        problem, row = _entry_problem(blob, key)
    if problem:
        log.warning("point cache: discarded %s (%s); the point is simulated again", path,
                    problem)
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        return None
    return row


def cache_put(cache_dir: Path, key: str, row: dict[str, Any], point: Point) -> None:
    """Store a row atomically (a unique temporary name per writer, then ``os.replace``)."""
    path = _entry(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"key": key, "point": point.as_dict(), "row": row,
                                        "row_sha256": _row_hash(row)}, sort_keys=True))


__all__ = ["cache_get", "cache_put", "point_key"]
