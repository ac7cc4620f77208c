"""The in-process ngspice runner (PySpice's ``NgSpiceShared`` on Debian's ``libngspice.so.0``).

`run_deck` loads one SPICE deck (text), runs it and returns its vectors as plain float64 numpy
arrays; `run_with_retries` renders the deck again with stricter options after a failure and raises
`circuits.errors.SimulationError` (naming the point, with ngspice's last messages) when every
attempt failed. No value is ever made up: a run that does not reach its stop time is a failure.

Fixes over plain PySpice 1.5:

* the library path: PySpice looks for ``libngspice.so``; Debian ships ``libngspice.so.0``;
* one ngspice thread (``set num_threads=1``): Debian's OpenMP build oversubscribes cores when
  several worker processes run side by side;
* message routing: PySpice treats every stderr line not starting with "Warning:" as an error, so
  harmless "Note: ..." lines abort good runs; here only lines that look like errors count, and a
  run is judged by its result (the time axis must reach the stop time);
* every run happens inside a private temporary directory (BSIM3 writes ``b3v33check.log`` into
  the working directory), removed at exit; one left by a killed process is removed by the next;
* every deck passes `circuits.deck_guard.check_deck` (no control language, includes only from
  allowed folders, inlined), so no input reaches ngspice's control language.

Reusable by other code (``circuits/spice_network.py``): ``run_deck(text, vectors={...})`` with any
netlist that ends in a ``.tran`` line.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes.util
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from circuits._tmp import private_dir
from circuits.deck_guard import allowed_roots, check_deck
from circuits.errors import DeckError, SimulationError

_DEBIAN_LIB = "/usr/lib/x86_64-linux-gnu/libngspice.so.0"
_ERROR_RE = re.compile(r"error|fatal|abort|too small|singular|unknown|fail|cannot|can't", re.I)
_state: dict[str, object] = {}
logging.getLogger("PySpice").setLevel(logging.CRITICAL)  # we report errors ourselves


def is_error_line(line: str) -> bool:
    """Whether an ngspice stderr line reports an error ("Note:"/"Warning:" lines never do)."""
    if "Note:" in line or "Warning:" in line:  # e.g. "Trying gmin = ... Warning: ... failed"
        return False
    return bool(_ERROR_RE.search(line))


def library_path() -> str | None:
    """Path of libngspice: ``$NGSPICE_LIBRARY_PATH``, Debian's ``.so.0``, or the linker's pick."""
    env = os.environ.get("NGSPICE_LIBRARY_PATH")
    if env:
        return env
    if os.path.exists(_DEBIAN_LIB):
        return _DEBIAN_LIB
    found = ctypes.util.find_library("ngspice")
    return found


def available() -> bool:
    """True when libngspice can be found (tests skip otherwise)."""
    path = library_path()
    return bool(path) and (os.path.exists(path) or "/" not in path)


def _shared():
    """This process's ngspice instance (created on first use)."""
    inst = _state.get("ngspice")
    if inst is not None:
        return inst
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi, ffi_string_utf8

    path = library_path()
    if not path:
        raise SimulationError("libngspice not found (install Debian's libngspice0, or set "
                              "NGSPICE_LIBRARY_PATH)")

    class _Routed(NgSpiceShared):
        LIBRARY_PATH = path

        @staticmethod
        def _send_char(message_c, ngspice_id, user_data):
            self = ffi.from_handle(user_data)
            prefix, _, content = ffi_string_utf8(message_c).partition(" ")
            self.messages.append(content)
            if prefix == "stderr":
                self._stderr.append(content)
                self.stderr_log.append(content)
                if is_error_line(content):
                    self._error_in_stderr = True
            else:
                self._stdout.append(content)
                if re.match(r"\s*error", content, re.I):
                    self._error_in_stdout = True
            return 0

    _Routed.messages = collections.deque(maxlen=60)
    _Routed.stderr_log = collections.deque(maxlen=200)
    _Routed.setup_platform = classmethod(lambda cls: None)
    with _private_dir():
        inst = _Routed(ngspice_id=0, send_data=False)
        inst.exec_command("set num_threads=1")
    _state["ngspice"] = inst
    return inst


@contextlib.contextmanager
def _private_dir() -> Iterator[Path]:
    """Run inside this process's private temporary directory, then return to the old cwd."""
    tmp = _state.get("tmpdir")
    if tmp is None:
        tmp = private_dir("nmpkit-ngspice-")
        _state["tmpdir"] = tmp
    old = os.getcwd()
    os.chdir(tmp.name)
    try:
        yield Path(tmp.name)
    finally:
        os.chdir(old)


_OPENMP_SONAMES = ("libgomp.so.1", "libomp.so", "libomp.so.5", "libiomp5.so")


@contextlib.contextmanager
def keep_openmp_threads() -> Iterator[None]:
    """Give the calling thread its OpenMP thread count back after ngspice ran.

    ngspice's circuit setup calls ``omp_set_num_threads(num_threads)`` (1 here) on the calling
    thread. In-process, its OpenMP runtime is the process's: libngspice's ``libgomp.so.1`` binds
    to the one already loaded (torch's), so after the first transient every torch parallel region
    of the process ran on one thread (``nmpkit run`` and ``nmpkit optimize`` simulated their
    networks on 1 of 2 cores after characterizing). Every OpenMP runtime loaded in the process
    (looked up, never loaded here) has its max-threads value saved before and restored after."""
    libs = []
    for name in _OPENMP_SONAMES:
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue
        try:
            libs.append((lib, int(lib.omp_get_max_threads())))
        except AttributeError:
            continue
    try:
        yield
    finally:
        for lib, n in libs:
            lib.omp_set_num_threads(n)


def ngspice_version() -> str:
    """The loaded libngspice's version, e.g. ``"39"``."""
    return str(_shared().ngspice_version)


def _tail(inst) -> str:
    return "\n".join(line for line in list(inst.messages)[-15:] if line.strip())


_SCALE = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6,
          "n": 1e-9, "p": 1e-12, "f": 1e-15}
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(meg|mil|[tgkmunpf])?[a-z]*", re.I)


def spice_float(token: str) -> float:
    """A SPICE number (``1e-6``, ``100n``, ``2.5meg``, ``5us``) as a float; ValueError if not."""
    match = _NUMBER.fullmatch(token.strip())
    if not match:
        raise ValueError(f"not a SPICE number: {token!r}")
    return float(match.group(1)) * _SCALE.get((match.group(2) or "").lower(), 1.0)


def _t_stop(deck: str) -> float | None:
    for no, line in enumerate(deck.splitlines(), start=1):
        words = line.split()
        if words and words[0].lower() == ".tran":
            try:
                return spice_float(words[2])
            except (IndexError, ValueError):
                raise DeckError(f"deck line {no}: .tran needs a step and a numeric stop time, "
                                f"got {line.strip()[:80]!r}") from None
    return None


def run_deck(deck: str, *, vectors: Mapping[str, str] | None = None,
             point: Mapping[str, object] | None = None,
             timing: dict[str, float] | None = None,
             allowed_dirs: Sequence[str | os.PathLike[str]] = ()) -> dict[str, np.ndarray]:
    """Run one deck in the in-process ngspice and return its vectors.

    Args:
        deck: complete SPICE text with one ``.tran`` analysis. It passes
            `circuits.deck_guard.check_deck` first: no control-language line anywhere, and every
            ``.include``/``.lib`` an absolute path inside ``netlists/``, ``$NMPKIT_MODEL_DIRS``
            or ``allowed_dirs``, scanned and inlined (ngspice opens no file named by the deck).
        vectors: ngspice vector name -> returned name; None returns every vector under its
            ngspice name. ``time`` is always returned.
        point: what the deck is, for error messages.
        timing: if given, ``timing["analysis_seconds"]`` receives ngspice's own analysis time
            (``rusage time``), for benchmarks.
        allowed_dirs: extra model-card folders the deck may include from.

    Returns:
        name -> float64 array, all the same length.

    Raises:
        DeckError: the deck could reach the control language or names a file outside the
            allowed folders (nothing ran).
        SimulationError: ngspice reported an error, a vector is missing, or the transient did
            not reach its stop time.
    """
    deck = check_deck(deck, roots=allowed_roots(allowed_dirs))
    t_stop = _t_stop(deck)
    from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError, NgSpiceCommandError

    inst = _shared()
    inst.messages.clear()
    with _private_dir(), keep_openmp_threads():
        try:
            inst.load_circuit(deck)
            inst.run()
            plot = inst.last_plot
            data = _fetch(inst, plot)
            if timing is not None:
                text = inst.exec_command("rusage time")
                match = re.search(r"=\s*([0-9.eE+-]+)", text)
                timing["analysis_seconds"] = float(match.group(1)) if match else float("nan")
        except (NgSpiceCircuitError, NgSpiceCommandError, NameError) as exc:
            raise SimulationError(f"ngspice failed ({type(exc).__name__}: {exc})",
                                  point=dict(point or {}), log_tail=_tail(inst)) from None
        finally:
            with contextlib.suppress(Exception):
                inst.exec_command("destroy all")
            with contextlib.suppress(Exception):
                inst.exec_command("remcirc")
    if "time" not in data:
        raise SimulationError("ngspice returned no time axis", point=dict(point or {}),
                              log_tail=_tail(inst))
    if t_stop is not None and data["time"][-1] < t_stop * (1 - 1e-6):
        raise SimulationError(f"transient stopped at {data['time'][-1]:.6g} s before its stop "
                              f"time {t_stop:.6g} s", point=dict(point or {}), log_tail=_tail(inst))
    if vectors is None:
        return data
    missing = [name for name in vectors if name not in data]
    if missing:
        raise SimulationError(f"vectors {missing} not in ngspice's output (have {sorted(data)})",
                              point=dict(point or {}), log_tail=_tail(inst))
    out = {"time": data["time"]}
    out.update({new: data[old] for old, new in vectors.items()})
    return out


def run_circuit(circuit: object, *, stop_seconds: float, max_step_seconds: float | None = None,
                vectors: Mapping[str, str] | None = None,
                point: Mapping[str, object] | None = None) -> dict[str, np.ndarray]:
    """Run a PySpice ``Circuit`` (or netlist text without analysis) as a transient.

    The ``.tran`` line is written from numbers only (`circuits.render.spice_number`).

    Returns:
        As `run_deck`.
    """
    from circuits.render import spice_number

    text = str(circuit).rstrip()
    if text.lower().endswith(".end"):
        text = text[: -len(".end")].rstrip()
    stop = spice_number(stop_seconds, name="stop_seconds")
    step = spice_number(stop_seconds / 1000.0, name="step")
    tran = f".tran {step} {stop}"
    if max_step_seconds is not None:
        tran += f" 0 {spice_number(max_step_seconds, name='max_step_seconds')}"
    return run_deck(f"{text}\n{tran}\n.end\n", vectors=vectors, point=point)


def _fetch(inst, plot: str) -> dict[str, np.ndarray]:
    from PySpice.Spice.NgSpice.Shared import FFI, ffi, ffi_string_utf8

    lib = inst._ngspice_shared
    names = lib.ngSpice_AllVecs(plot.encode("utf8"))
    out: dict[str, np.ndarray] = {}
    i = 0
    while names[i] != FFI.NULL:
        name = ffi_string_utf8(names[i])
        info = lib.ngGet_Vec_Info(f"{plot}.{name}".encode())
        if info != FFI.NULL and info.v_realdata != FFI.NULL:
            buf = ffi.buffer(info.v_realdata, info.v_length * 8)
            out[name.lower()] = np.frombuffer(buf, dtype=np.float64).copy()
        i += 1
    return out


def run_with_retries(render: Callable[[int], str], *, attempts: int,
                     vectors: Mapping[str, str] | None = None,
                     point: Mapping[str, object] | None = None,
                     on_run: Callable[[], None] | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Run ``render(0)``; on failure ``render(1)``, ... up to ``attempts`` decks.

    Returns:
        (vectors, index of the attempt that succeeded).

    Raises:
        SimulationError: every attempt failed; names the point and carries the last messages.
    """
    last: SimulationError | None = None
    for attempt in range(attempts):
        if on_run is not None:
            on_run()
        try:
            return run_deck(render(attempt), vectors=vectors, point=point), attempt
        except SimulationError as exc:
            last = exc
    assert last is not None
    raise SimulationError(f"ngspice failed after {attempts} attempts with stricter options",
                          point=dict(point or {}), log_tail=last.log_tail)


__all__ = ["available", "is_error_line", "library_path", "ngspice_version", "run_circuit",
           "run_deck", "run_with_retries"]
