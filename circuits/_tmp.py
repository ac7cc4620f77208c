"""Private temporary folders that do not outlive their process, even a killed one.

`private_dir(prefix)` makes ``<tmp>/<prefix><host>-<pid>-<random>`` (unique per process and
call); it is removed when the returned ``TemporaryDirectory`` is cleaned up (``with`` exit, garbage
collection or interpreter exit). A process killed with SIGKILL cannot clean up, so every new
folder first removes the folders of the same prefix whose process (same host, the pid in the
name) is gone: `reap_stale`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def reap_stale(prefix: str) -> list[Path]:
    """Remove ``<tmp>/<prefix><host>-<pid>-*`` folders of this host whose process is gone."""
    pattern = re.compile(re.escape(prefix + _host()) + r"-(\d+)-")
    removed = []
    for path in Path(tempfile.gettempdir()).glob(prefix + "*"):
        match = pattern.match(path.name)
        if not match or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
            continue
        try:
            if path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        except OSError:
            continue
    if removed:
        log.warning("removed %d temporary folder(s) left by killed processes (%s...)",
                    len(removed), removed[0].name)
    return removed


def private_dir(prefix: str) -> tempfile.TemporaryDirectory:
    """A new private temporary folder (after reaping the stale ones of ``prefix``)."""
    reap_stale(prefix)
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{_host()}-{os.getpid()}-")


__all__ = ["private_dir", "reap_stale"]
