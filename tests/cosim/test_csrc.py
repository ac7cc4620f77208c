"""The kernel sources: formatted by the repository's .clang-format, installed as package data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cosim import kernels

ROOT = Path(__file__).resolve().parents[2]


def _clang_format() -> str | None:
    venv = Path(sys.executable).parent / "clang-format"  # pip's clang-format (dev extra)
    return str(venv) if venv.is_file() else shutil.which("clang-format")


def test_sources_are_clang_formatted():
    exe = _clang_format()
    if exe is None:
        pytest.skip("clang-format not installed (the dev extra installs it)")
    files = sorted(str(p) for p in kernels.SOURCE_DIR.glob("*.[ch]*"))
    assert len(files) >= len(kernels.SOURCES)
    proc = subprocess.run([exe, "--dry-run", "--Werror", f"--style=file:{ROOT / '.clang-format'}",
                           *files], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_sources_are_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = cfg["tool"]["setuptools"]["package-data"]["cosim"]
    for name in kernels.SOURCES + ("neuron.h", "common.h", "kernels.h"):
        assert any((kernels.SOURCE_DIR.parent).glob(p) and
                   Path("csrc", name).match(p) for p in patterns), name
        assert (kernels.SOURCE_DIR / name).is_file()
