"""Batch-mode ngspice for the network decks of `circuits.spice_network`: one ``ngspice -b -r
waves.raw`` subprocess in a private temporary directory (``set num_threads=1`` via
``.spiceinit``), its binary rawfile read back, and rising-edge spike times.

Split from ``spice_network`` (deck building and the public API stay there).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from circuits._tmp import private_dir
from circuits.errors import SimulationError


def _read_raw(path: Path) -> tuple[np.ndarray, list[str]]:
    """An ngspice binary rawfile of one real analysis: (points × variables) float64, names."""
    blob = path.read_bytes()
    head, sep, data = blob.partition(b"Binary:\n")
    if not sep:
        raise SimulationError("ngspice wrote no binary data into its rawfile")
    text = head.decode("utf-8", "replace")
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if "complex" in fields.get("Flags", ""):
        raise SimulationError("ngspice rawfile holds complex data, expected a transient")
    n_vars = int(fields["No. Variables"])
    names = re.findall(r"^\s+\d+\s+(\S+)", text.split("\nVariables:", 1)[1], re.M)[:n_vars]
    n_points = len(data) // (8 * n_vars)
    return np.frombuffer(data[: n_points * n_vars * 8], dtype="<f8").reshape(n_points,
                                                                          n_vars).copy(), names


def _run(deck: str, timeout: float) -> tuple[np.ndarray, list[str], float, str]:
    exe = shutil.which("ngspice")
    if exe is None:
        raise SimulationError("ngspice executable not found (install Debian's ngspice)")
    t_stop = float(deck.rsplit(".tran ", 1)[1].split()[1])
    with private_dir("nmpkit-net-") as tmp:
        d = Path(tmp)
        (d / ".spiceinit").write_text("set num_threads=1\n")
        (d / "net.cir").write_text(deck, encoding="utf-8")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([exe, "-b", "-r", "waves.raw", "net.cir"], cwd=d,
                                  capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise SimulationError(f"network run exceeded {timeout} s") from exc
        wall = time.perf_counter() - t0
        out = d / "waves.raw"
        log = (proc.stdout + proc.stderr).strip().splitlines()
        if proc.returncode != 0 or not out.is_file():
            raise SimulationError("ngspice network run failed: " + " | ".join(log[-8:]))
        data, header = _read_raw(out)
    wanted = ["time", *deck.split("\n.save ", 1)[1].split("\n", 1)[0].split()]
    missing = [w for w in wanted if w.lower() not in header]
    if missing:
        raise SimulationError(f"vectors {missing} not in ngspice's rawfile (have {header})")
    data = data[:, [header.index(w.lower()) for w in wanted]]
    if data.shape[0] < 2 or data[-1, 0] < t_stop * (1 - 1e-6):
        reached = data[-1, 0] if data.size else 0.0
        raise SimulationError(f"network transient stopped at {reached:.6g} s before its stop "
                              f"time {t_stop:.6g} s: " + " | ".join(log[-8:]))
    return data, header, wall, _banner(exe)


@functools.lru_cache(maxsize=4)
def _banner(exe: str) -> str:
    """``ngspice-39`` (from ``ngspice --version``), or ``ngspice`` if it does not say."""
    try:
        text = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return "ngspice"
    match = re.search(r"ngspice-[\w.]+", text)
    return match.group(0) if match else "ngspice"


def _rising(t: np.ndarray, v: np.ndarray, level: float) -> np.ndarray:
    above = v >= level
    idx = np.nonzero(~above[:-1] & above[1:])[0]
    t0, t1, v0, v1 = t[idx], t[idx + 1], v[idx], v[idx + 1]
    return t0 + (level - v0) * (t1 - t0) / (v1 - v0)


__all__: list[str] = []  # internal: used by circuits.spice_network
