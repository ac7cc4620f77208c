"""The gate every SPICE deck passes before ngspice sees it: no path into the control language.

ngspice runs shell commands from its control language (``.control`` ... ``.endc`` blocks, lines
starting with ``*#``, files starting with ``*ng_script``), loads shared libraries (``.osdi``) and
reads any file a ``.include``/``.lib`` names. Tried on ngspice 39, each of these ran ``shell``
commands, in batch mode and in the shared library alike, also from inside an included file. So:

* `check_deck` refuses every control-language line (case-insensitive, after leading whitespace:
  ``.control``/``.endc`` prefixes as ngspice matches them, ``*#``, ``*ng_script``, ``.osdi``,
  ``.exec``, and lines headed by exec-like commands such as ``shell``/``source``) and every dot
  card outside a fixed allow-list of netlist cards;
* ``.include``/``.inc``/``.lib <file> <section>`` are resolved (symlinks followed) and accepted
  only inside `allowed_roots` (``netlists/`` plus folders named in ``$NMPKIT_MODEL_DIRS``, an
  explicit allow-list), read as regular UTF-8 files, scanned the same way, recursively, and
  **inlined**: ngspice never opens a path that came from an input;
* errors name the file (``repr``, so a crafted name cannot fake lines), the line number and the
  rule; they never quote a line of an included file (``.include /etc/passwd`` leaks nothing).

Example::

    from circuits.deck_guard import check_deck
    safe_text = check_deck(text)          # DeckError on anything unsafe
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from circuits.errors import DeckError

NETLIST_DIR = Path(str(resources.files("netlists")))
"""The installed ``netlists`` package (``if_neuron.sub``, ``models/*.lib``): package data."""
ROOTS_ENV = "NMPKIT_MODEL_DIRS"
"""Environment variable: extra model-card folders (``os.pathsep``-separated) decks may include."""
MAX_FILE_BYTES = 64 * 2**20
MAX_DEPTH = 16
MAX_FILES = 512

_CONTROL_PREFIXES = ("*#", "*ng_script", ".control", ".endc", ".osdi", ".exec", ".hdl",
                     ".pre_osdi", ".codemodel")
_EXEC_WORDS = frozenset({"shell", "sh", "source", "exec", "codemodel", "osdi"})
"""Line heads refused although ngspice reads such a line as an element (a switch ``shell``...):
command words that run programs or load code in the control language (defence in depth)."""
_CARDS = frozenset({
    ".ac", ".dc", ".disto", ".else", ".elseif", ".end", ".endif", ".endl", ".ends", ".four",
    ".func", ".global", ".ic", ".if", ".lib", ".meas", ".measure", ".model", ".nodeset",
    ".noise", ".op", ".opt", ".option", ".options", ".param", ".plot", ".print", ".probe",
    ".pz", ".save", ".sens", ".sp", ".subckt", ".temp", ".tf", ".title", ".tran", ".width",
    ".inc", ".include",
})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def identifier(value: object, *, field: str) -> str:
    """``value`` if it is a plain identifier (letters, digits, ``_``; at most 64 characters).

    Raises:
        DeckError: anything else (a path, a newline, spaces, non-strings), naming ``field``.
    """
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        raise DeckError(f"{field} must be an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64 "
                        f"characters), got {value!r}")
    return value


def allowed_roots(extra: Iterable[str | os.PathLike[str]] = ()) -> tuple[Path, ...]:
    """Folders decks may include from: ``netlists/``, ``$NMPKIT_MODEL_DIRS`` and ``extra``
    (each resolved; a listed folder that does not exist is an error)."""
    listed = [p for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p]
    roots = [NETLIST_DIR.resolve()]
    for raw in [*listed, *extra]:
        path = Path(raw)
        if not path.is_absolute() or not path.is_dir():
            where = f"${ROOTS_ENV}" if raw in listed else "allowed_dirs"
            raise DeckError(f"{where} entry {str(raw)!r} must be an existing absolute folder")
        roots.append(path.resolve())
    return tuple(roots)


def inside(path: str | os.PathLike[str], *, field: str, roots: tuple[Path, ...]) -> Path:
    """``path`` resolved (symlinks followed); it must exist and lie inside one of ``roots``."""
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise DeckError(f"{field}: {str(path)!r} does not exist ({type(exc).__name__})") from None
    if not any(real.is_relative_to(r) for r in roots):
        raise DeckError(f"{field}: {str(path)!r} resolves to {str(real)!r}, outside the allowed "
                        f"folders {[str(r) for r in roots]}; add a model-card folder to "
                        f"${ROOTS_ENV} to allow it")
    return real


def read_file(path: str | os.PathLike[str], *, field: str, roots: tuple[Path, ...]) -> str:
    """Text of a SPICE file inside ``roots``, scanned and with its includes inlined."""
    return _expand_file(inside(path, field=field, roots=roots), field, roots, [], [0])


def check_deck(text: str, *, where: str = "deck", roots: tuple[Path, ...] | None = None) -> str:
    """``text`` with every include inlined, after refusing any control-language line.

    Relative include paths in ``text`` are refused (a deck has no folder of its own).

    Raises:
        DeckError: a control-language or unknown line, an include outside ``roots`` (default
            `allowed_roots`), a missing/non-regular/non-UTF-8 file, a cycle or too deep nesting.
    """
    if not isinstance(text, str):
        raise DeckError(f"{where} must be SPICE text (str), got {type(text).__name__}")
    return _expand(text, where, None, roots or allowed_roots(), [], [0])


def _expand_file(real: Path, field: str, roots: tuple[Path, ...], stack: list[Path],
                 count: list[int], section: str | None = None) -> str:
    if real in stack:
        raise DeckError(f"{field}: {str(real)!r} includes itself (cycle through "
                        f"{[str(p) for p in stack]})")
    if len(stack) >= MAX_DEPTH:
        raise DeckError(f"{field}: includes nested deeper than {MAX_DEPTH} at {str(real)!r}")
    count[0] += 1
    if count[0] > MAX_FILES:
        raise DeckError(f"{field}: more than {MAX_FILES} included files")
    text = _read(real, field, roots)
    if section is not None:
        for no, line in enumerate(text.splitlines(), start=1):  # the whole file, not only
            _control(line.lstrip().lower(), f"{str(real)!r} line {no}")  # the section
        text = _section(text, section, real, field)
    return _expand(text, repr(str(real)), real.parent, roots, [*stack, real], count)


def _read(real: Path, field: str, roots: tuple[Path, ...]) -> str:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise DeckError(f"{field}: cannot open {str(real)!r} ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DeckError(f"{field}: {str(real)!r} is not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise DeckError(f"{field}: {str(real)!r} has {st.st_size} bytes, more than the "
                            f"{MAX_FILE_BYTES} a model file may have")
        proc = f"/proc/self/fd/{fd}"
        if os.path.exists(proc):  # what was opened, not what the name pointed to before
            opened = Path(os.path.realpath(proc))
            if not any(opened.is_relative_to(r) for r in roots):
                raise DeckError(f"{field}: {str(real)!r} changed to a file outside the allowed "
                                "folders while it was opened")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if b"\0" in data:
        raise DeckError(f"{field}: {str(real)!r} is a binary file, not SPICE text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DeckError(f"{field}: {str(real)!r} is not UTF-8 text") from None


def _section(text: str, name: str, real: Path, field: str) -> str:
    """The lines between ``.lib <name>`` and its ``.endl`` (ngspice's library sections)."""
    out: list[str] | None = None
    for line in text.splitlines():
        words = line.split()
        head = words[0].lower() if words else ""
        if out is None:
            if head == ".lib" and len(words) == 2 and words[1].lower() == name.lower():
                out = []
        elif head == ".endl":
            return "\n".join(out)
        else:
            out.append(line)
    raise DeckError(f"{field}: {str(real)!r} has no complete library section {name!r}")


def _path_args(rest: str, where: str, n: int) -> list[str]:
    """The arguments of an include line: a (possibly quoted) path, then plain words."""
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0:
            raise DeckError(f"{where}: unterminated quoted path")
        args = [rest[1:end], *rest[end + 1:].split()]
    else:
        args = rest.split()
    if len(args) != n or not args[0]:
        raise DeckError(f"{where}: expected {n} argument(s) (a path"
                        + (" and a section name" if n == 2 else "") + f"), got {len(args)}")
    return args


def _control(s: str, here: str) -> None:
    """Refuse a control-language line (``s``: the line lower-cased, leading blanks removed)."""
    for prefix in _CONTROL_PREFIXES:
        if s.startswith(prefix):
            raise DeckError(f"{here}: control-language line ({prefix!r}) refused; decks "
                            "never reach ngspice's control language")
    if s[:1].isalpha():
        word = re.split(r"[\s(,=]", s, maxsplit=1)[0]
        if word in _EXEC_WORDS or word.startswith("pre_"):
            raise DeckError(f"{here}: line headed by the control command {word!r} refused")


def _expand(text: str, where: str, base: Path | None, roots: tuple[Path, ...],
            stack: list[Path], count: list[int]) -> str:
    out: list[str] = []
    lines = text.splitlines()  # splits on more separators than ngspice: stricter, never looser
    for no, line in enumerate(lines, start=1):
        here = f"{where} line {no}"
        s = line.lstrip().lower()
        _control(s, here)
        if not s.startswith("."):
            out.append(line)
            continue
        word = re.split(r"[\s(,=\"']", s, maxsplit=1)[0]
        if word not in _CARDS:
            raise DeckError(f"{here}: dot card {word[:20]!r} is not one of the netlist cards "
                            f"allowed in a deck ({sorted(_CARDS)})")
        if word not in (".inc", ".include", ".lib"):
            out.append(line)
            continue
        rest = line.lstrip()[len(word):]
        words = rest.split()
        if word == ".lib" and len(words) == 1 and _IDENT.fullmatch(words[0]):
            out.append(line)  # ".lib <section>": the start of a library section
            continue
        if no < len(lines) and lines[no].lstrip().startswith("+"):
            raise DeckError(f"{here}: a {word} line cannot be continued on a '+' line")
        is_inc = word != ".lib"
        args = _path_args(rest, here, 1 if is_inc else 2)
        target = Path(args[0])
        if not target.is_absolute():
            if base is None:
                raise DeckError(f"{here}: {word} needs an absolute path inside "
                                f"{[str(r) for r in roots]}, got {args[0]!r}")
            target = base / target
        real = inside(target, field=here, roots=roots)
        body = _expand_file(real, here, roots, stack, count, None if is_inc else args[1])
        out.append(f"* inlined by circuits.deck_guard ({word})")
        out.append(body)
    return "\n".join(out) + ("\n" if text.endswith(("\n", "\r")) else "")


__all__ = ["MAX_DEPTH", "MAX_FILES", "MAX_FILE_BYTES", "NETLIST_DIR", "ROOTS_ENV",
           "allowed_roots", "check_deck", "identifier", "inside", "read_file"]
