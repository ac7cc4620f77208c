"""The one Python style: ``ruff check`` with the repository's rules (pyproject ``[tool.ruff]``:
E, F, import order, pyupgrade at 100 columns) passes on every tracked Python file."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> str | None:
    venv = Path(sys.executable).parent / "ruff"  # pip's ruff (dev extra)
    return str(venv) if venv.is_file() else shutil.which("ruff")


def test_ruff_check_passes():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (bootstrap.sh --dev installs it)")
    r = subprocess.run([ruff, "check", "--no-cache", "--quiet", str(ROOT)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ruff check found problems:\n{r.stdout[-4000:]}{r.stderr[-2000:]}"
