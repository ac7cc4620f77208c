"""A study's JSON summary read back: the one check every typed result's ``load`` makes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nmpkit.errors import ConfigError


def read_summary(path: Path, missing: str) -> dict[str, Any]:
    """The JSON object in ``path``; a `ConfigError` naming ``path`` when it is absent
    (``"{path}: {missing}"``), is not JSON, or holds something other than an object."""
    if not path.is_file():
        raise ConfigError(f"{path}: {missing}")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(summary, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(summary).__name__}")
    return summary


__all__ = ["read_summary"]
