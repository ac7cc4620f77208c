"""The hostile-input table's machinery: a `Case`, the shared inputs every case may spoil
(`Assets`), and `outcome`, which runs one case and says how it ended.

Outcomes: ``clear`` (one line of the package's error type naming the field/value/expectation,
or for the CLI exit code 2, one ``error:`` line and no traceback), ``heal`` (no error, a one-line
warning, and the result checked correct), ``silent`` (accepted without a word), ``traceback``
(an unexpected exception type, or the CLI let an exception escape), ``unclear`` (the right type,
but several lines or a message that does not name what it should) and ``hang`` (still running
after `HANG_SECONDS`: a guard, never a timing assertion: every case ends in well under a second).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import signal
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

HANG_SECONDS = 60
OUTCOMES = ("clear", "heal", "silent", "traceback", "unclear", "hang")


@dataclass(frozen=True)
class Case:
    """One bad input or fault. ``run(tmp)`` gets a fresh folder; ``error`` is the exception
    type a clear error must have (None: the input must heal with a warning matching
    ``match``, and ``check(result)`` must hold); ``issue``: an example named in issue 12."""

    id: str
    category: str
    run: Callable[[Path], Any]
    error: type[BaseException] | None
    match: str
    check: Callable[[Any], bool] | None = None
    issue: bool = False


@dataclass(frozen=True)
class CliResult:
    rc: int
    stdout: str
    stderr: str


def cli(*argv: str) -> CliResult:
    """Run ``nmpkit ARGV`` in this process; an exception main lets through propagates (a
    traceback a user would see)."""
    from nmpkit.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as exc:  # argparse: usage + one error line, exit 2
            rc = exc.code if isinstance(exc.code, int) else 1
    return CliResult(rc, out.getvalue(), err.getvalue())


class _Hang(BaseException):
    pass


_FIRED: list[bool] = []


@contextlib.contextmanager
def _guard(seconds: int):
    _FIRED.clear()

    def alarm(signum, frame):
        _FIRED.append(True)  # seen even if the code under test swallows the exception
        raise _Hang

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _one_line(text: str, pattern: str) -> bool:
    return len(text.strip().splitlines()) == 1 and re.search(pattern, text) is not None


def outcome(case: Case, tmp: Path) -> tuple[str, str]:
    """How ``case`` ended, and the text it ended with (the error line, warning or result)."""
    rec = _Records()
    root = logging.getLogger()
    root.addHandler(rec)
    try:
        with warnings.catch_warnings(record=True) as caught, _guard(HANG_SECONDS):
            warnings.simplefilter("always")
            result = case.run(tmp)
    except _Hang:
        return "hang", f"still running after {HANG_SECONDS} s"
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        if _FIRED:
            return "hang", f"still running after {HANG_SECONDS} s (then {exc!r})"
        text = str(exc)
        if case.error is None or not isinstance(exc, case.error):
            return "traceback", f"{type(exc).__name__}: {text}"
        return ("clear" if _one_line(text, case.match) else "unclear"), text
    finally:
        root.removeHandler(rec)
    if _FIRED:
        return "hang", f"still running after {HANG_SECONDS} s"
    said = [str(w.message) for w in caught] + rec.lines
    if isinstance(result, CliResult):
        errors = [ln for ln in result.stderr.splitlines() if "error:" in ln]
        if "Traceback" in result.stderr:
            return "traceback", result.stderr
        if result.rc == 0 and not errors:
            return ("heal" if case.error is None and said else "silent"), result.stdout[-300:]
        ok = result.rc == 2 and len(errors) == 1 and re.search(case.match, errors[0])
        return ("clear" if ok and case.error is not None else "unclear"), result.stderr
    if case.error is None and any(_one_line(s, case.match) for s in said):
        good = case.check is None or case.check(result)
        return ("heal" if good else "silent"), "; ".join(said)
    return "silent", repr(result)[:300]


# ---- the shared inputs (built once per process, copied or spoiled by the cases) -------------
@dataclass(frozen=True)
class Assets:
    root: Path
    tables: Path          # sealed synthetic tables (tests/calib/synth_tables.py)
    calibration: Path     # their fit, saved and sealed
    npz: Path             # a tiny MNIST-shaped dataset (uint8)
    weights: Path         # the zoo's mnist network, freshly initialized, float32


@cache
def assets() -> Assets:
    import torch

    from calib.fit import fit
    from nmpkit.ml.train import save_weights
    from nmpkit.ml.zoo import get_network
    from tests.calib import synth_tables as syn

    root = Path(tempfile.mkdtemp(prefix="nmpkit-hostile-"))
    tables = syn.write_tables(root / "tables")
    cal = fit(tables).save(root / "calibration.json")
    rng = np.random.default_rng(0)
    npz = root / "mnist.npz"
    np.savez(npz, x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
             y_train=np.arange(20) % 10, x_test=rng.integers(0, 256, (10, 28, 28),
                                                              dtype=np.uint8),
             y_test=np.arange(10) % 10)
    torch.manual_seed(0)
    weights = save_weights(get_network("mnist").build(), root / "mnist.pt", {"network": "mnist"})
    return Assets(root=root, tables=tables, calibration=cal, npz=npz, weights=weights)


def copy_tables(tmp: Path) -> Path:
    import shutil

    return Path(shutil.copytree(assets().tables, tmp / "tables"))


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path
