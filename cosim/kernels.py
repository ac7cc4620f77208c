"""Compiled CPU kernels for the engine's hot loops: the C++ in ``cosim/csrc``, built on first use.

Spikes travel between these kernels bit-packed: one row of a layer's spikes (one sample at one
step, ``n`` neurons in the engine's physical order) is ``ceil(n / 64)`` int64 words, bit ``j`` of
the row = neuron ``j`` fired (bits past ``n`` are zero). Each kernel is the plain arithmetic of the
step loop in another order of work:

- ``if_bits``: the IF update of one layer for a block of steps, sample by sample and 1024
  neurons at a time through all the steps (their state stays in L1), 16 neurons per vector
  step: the neuron of ``cosim.neuron`` with the torch step's float32 operations (threshold,
  floor, reset, and gain, transfer curve and refractory steps when present). Writes the spike
  bits, accumulates the spike counts and, for the output layer, the per-step prediction (most
  spikes so far, ties to the highest membrane potential, then the lowest index).
- ``conv_if``: event-driven Conv2d (groups = 1) on spike bits fused with the next layer's IF
  update. Per sample, output row by output row, the block's steps in order: for each output
  pixel, add the weight vectors ``w[ky, kx, c, :]`` of the active inputs in its receptive field
  (up to 64 output channels at a time in registers; with dilation 1 in x the KW taps of a
  kernel row are one contiguous run of input events; the last O % 16 <= 8 channels in a 4- or
  8-lane vector), add the bias, then update the row's neurons, whose state stays in L1 for the
  block. The current never goes to memory. ``conv_cur`` is the same sum returning the current.
- ``linear_bits``: event-driven Linear: for each input that fired, add its weight row into the
  rows where it fired (event-major, so each weight row is read from memory once per call), 64
  output columns at a time, their sums for the whole block contiguous (in L2).
- ``pack_bits`` / ``unpack_bits``: dense 0/1 spikes to bits and back.

Summation order inside a current: the bias last for convolutions (sum over ky, kx, c ascending,
then + bias), first for Linear (bias, then inputs ascending): fixed by the data, not by threads
or blocks. On the dyadic grid of the tests every order gives the same bits.

Sources: ``cosim/csrc`` (``neuron.h``: the IF step of ``cosim.neuron.if_step``, 16 neurons at a
time; ``neuron.cpp``: ``if_bits``; ``conv.cpp``, ``linear.cpp``, ``bits.cpp``; ``bindings.cpp``:
the Python module; style: the repository's ``.clang-format``), installed as package data. Built
with ``torch.utils.cpp_extension.load(sources=...)`` (g++ + ninja, about a minute once on two
cores, then cached by torch under a name that hashes the sources, the flags, the source folder (one
build per checkout: `build_tag`) and the CPU's feature flags: ``-march=native`` builds are
never shared between CPUs). AVX-512 paths where the CPU has
them, AVX2 paths where it has those (8-lane vectors: GCC lowers 16-lane vector types badly
without AVX-512), portable scalar code otherwise; every path computes the same bits.
``NMPKIT_COSIM_KERNELS=0`` disables the kernels, ``=generic`` builds the portable code and
``=avx2`` the AVX2 paths on an AVX-512 CPU (for tests); ``status()`` names the instruction set.

A failed build is never silent: ``simulate(..., kernels=True)`` raises ``KernelBuildError``
with the compiler's diagnostics (file:line of the sources); with ``kernels=None`` the engine
runs its pure-torch schedules, warns once (``RuntimeWarning``) and records the failure in
``SimulationResult.schedule["kernels"]``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from types import ModuleType

import torch

from cosim.errors import KernelBuildError

SOURCE_DIR = Path(__file__).resolve().parent / "csrc"
SOURCES: tuple[str, ...] = ("neuron.cpp", "bits.cpp", "conv.cpp", "linear.cpp", "bindings.cpp")
_FLAGS = ("-O3", "-march=native", "-fopenmp", "-ffp-contract=off")
_TAIL_LINES = 25  # compiler diagnostics kept in the error
_STATE: dict[str, object] = {}
MODES: dict[str, tuple[str, ...]] = {"native": (), "avx2": ("-DNMP_NO_AVX512",),
                                     "generic": ("-DNMP_GENERIC",)}


def source_hash(source_dir: Path = SOURCE_DIR) -> str:
    """Hash of every file of the kernel sources (``*.cpp`` and ``*.h``), names included."""
    h = hashlib.sha1()
    for path in sorted(source_dir.glob("*.[ch]*")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build_tag(source_dir: Path, flags: tuple[str, ...] | list[str]) -> str:
    """The build's cache name part: the sources' content, the flags and the source folder.

    The folder is in it because torch's extension cache is one folder per name and ninja
    rebuilds whenever the sources' paths change: without it two checkouts of the same version
    (a clean CI clone beside a working tree) took turns recompiling (~1 min each time on two
    cores) in the one folder, each rebuild under the other's loaded module."""
    folder = str(Path(source_dir).resolve())
    return hashlib.sha1((source_hash(source_dir) + " ".join(flags) + "\0" + folder)
                        .encode()).hexdigest()[:10]


def build(mode: str = "native", source_dir: Path = SOURCE_DIR,
          build_dir: Path | None = None) -> ModuleType:
    """Compile (or load the cached build of) the kernels.

    Args:
        mode: ``"native"`` (AVX-512 or AVX2 where the CPU has it), ``"avx2"`` (no AVX-512 paths)
            or ``"generic"`` (portable code).
        source_dir: The folder with ``SOURCES`` (tests point it at a broken copy).
        build_dir: Where ninja builds; default torch's extension cache.

    Raises:
        KernelBuildError: the build failed; the message ends with the compiler's diagnostics.
    """
    from torch.utils.cpp_extension import load

    if mode not in MODES:
        raise ValueError(f"kernel build mode must be one of {', '.join(MODES)}, got {mode!r}")
    flags = list(_FLAGS) + list(MODES[mode])
    missing = [s for s in SOURCES if not (source_dir / s).is_file()]
    if missing:
        raise KernelBuildError(f"kernel sources missing in {source_dir}: {', '.join(missing)} "
                               "(cosim/csrc must be installed with the package)")
    tag = build_tag(source_dir, flags)
    lib = Path(torch.__file__).parent / "lib"
    if build_dir is not None:
        build_dir.mkdir(parents=True, exist_ok=True)
    try:
        return load(name=f"nmpkit_cosim_kernels_{tag}_{_cpu_tag()}",
                    sources=[str(source_dir / s) for s in SOURCES], extra_cflags=flags,
                    extra_include_paths=[str(source_dir)],
                    extra_ldflags=[f"-L{lib}", "-l:libgomp.so.1", f"-Wl,-rpath,{lib}"],
                    build_directory=None if build_dir is None else str(build_dir),
                    verbose=False)
    except Exception as err:  # noqa: BLE001  (no compiler, no ninja, a compile error)
        raise KernelBuildError(_diagnostic(err)) from err


def _diagnostic(err: Exception) -> str:
    """First line of the error, then the last lines of the compiler's output."""
    lines = [ln for ln in str(err).splitlines() if ln.strip()]
    head = f"{type(err).__name__}: {lines[0] if lines else ''}"
    errors = [ln for ln in lines[1:] if "error" in ln.lower()]
    tail = lines[1:][-_TAIL_LINES:]
    first = [ln for ln in errors[:3] if ln not in tail]
    return "\n".join([head, *first, *tail])


def load() -> ModuleType | None:
    """The compiled module, or None (disabled, or the build failed: see ``status()``)."""
    if "module" in _STATE:
        return _STATE["module"]  # type: ignore[return-value]
    module = None
    mode = os.environ.get("NMPKIT_COSIM_KERNELS", "1")
    if mode == "0":
        _STATE["status"] = "disabled by NMPKIT_COSIM_KERNELS=0"
    else:
        try:
            module = build(mode if mode in MODES else "native")
            _STATE["status"] = f"compiled kernels ({module.isa()})"
        except KernelBuildError as err:
            _STATE["error"] = str(err)
            _STATE["status"] = f"torch only (kernel build failed: {str(err).splitlines()[0]})"
            warnings.warn(f"cosim: the compiled kernels did not build; simulating with pure "
                          f"torch (slower). {err}", RuntimeWarning, stacklevel=3)
    _STATE["module"] = module
    return module


def require() -> ModuleType:
    """The compiled module, or ``KernelBuildError`` saying why there is none."""
    module = load()
    if module is None:
        detail = _STATE.get("error") or _STATE["status"]
        raise KernelBuildError(f"kernels=True but the compiled kernels are unavailable: {detail}")
    return module


def _cpu_tag() -> str:
    """Short hash of the CPU's feature flags: -march=native builds must not be shared."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    except OSError:
        import platform

        flags = platform.machine() + platform.processor()
    return hashlib.sha1(flags.encode()).hexdigest()[:8]


def status() -> str:
    """One line: ``compiled kernels (ISA)`` (ISA: ``avx512``, ``avx2`` or ``generic``),
    ``disabled ...`` or ``torch only (kernel build ...)``."""
    load()
    return str(_STATE["status"])


__all__ = ["MODES", "SOURCES", "SOURCE_DIR", "build", "build_tag", "load", "require", "source_hash",
           "status"]
