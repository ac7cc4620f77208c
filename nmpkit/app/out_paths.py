"""Output paths a command will write, checked before any work starts (a bad ``--out`` fails at
once, not after training): a results folder, or a file in a creatable, writable folder."""

from __future__ import annotations

from pathlib import Path

from nmpkit.app.errors import UsageError


def check_out_dir(path: str | Path, field: str = "--out") -> Path:
    """``path`` can be a results folder: an existing folder or creatable under a writable one
    (checked before any work starts, so a bad ``--out`` fails at once, not after training)."""
    import os

    p = Path(path)
    if str(path).strip() == "" or "\x00" in str(path):
        raise UsageError(f"{field} {str(path)!r} is not a usable folder name")
    if p.exists() and not p.is_dir():
        raise UsageError(f"{field} {str(p)!r} exists and is not a folder; expected an output "
                         "folder")
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{field} {str(p)!r}: {str(probe)!r} is a file, not a folder; expected "
                         "an output folder")
    if not os.access(probe, os.W_OK | os.X_OK) or not _can_create_in(probe):
        raise UsageError(f"{field} {str(p)!r}: {str(probe)!r} is not writable; expected an "
                         "output folder you can write")
    return p


def check_out_file(path: str | Path, field: str = "--out") -> Path:
    """``path`` can be an output file: not a folder, its folder existing or creatable and
    writable (checked before any work starts)."""
    p = Path(path)
    if str(path).strip() == "" or "\x00" in str(path) or p.name in ("", ".", ".."):
        raise UsageError(f"{field} {str(path)!r} is not a usable file name")
    if p.is_dir():
        raise UsageError(f"{field} {str(p)!r} is a folder; expected a file name to write")
    check_out_dir(p.parent if str(p.parent) else ".", field=f"{field} {str(p)!r}: folder")
    return p


def _can_create_in(folder: Path) -> bool:
    """A file can really be made in ``folder`` (``os.access`` says yes to root in /proc)."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".nmpkit-probe-"):
            return True
    except OSError:
        return False
