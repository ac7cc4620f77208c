"""Load a report in headless Chromium: figures loaded?, console errors?, a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
          "--virtual-time-budget=5000")


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@dataclass(frozen=True, slots=True)
class BrowserCheck:
    figures_ok: bool
    title: str
    console: tuple[str, ...]
    screenshot: Path | None


def check_page(html_path: str | Path, screenshot: str | Path | None = None,
               *, width: int = 1100, height: int = 6000) -> BrowserCheck:
    """Open ``html_path`` in headless Chromium; report the page's own figure check and console."""
    exe = chromium_path()
    if exe is None:
        raise FileNotFoundError("chromium not found (Debian package 'chromium')")
    url = Path(html_path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="nmpkit-chromium-") as ud:
        base = [exe, *_FLAGS, f"--user-data-dir={ud}"]
        dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                             timeout=120)
        shot = None
        if screenshot is not None:
            shot = Path(screenshot).resolve()
            subprocess.run([*base, f"--screenshot={shot}", f"--window-size={width},{height}", url],
                           capture_output=True, text=True, timeout=120, check=True)
    console = tuple(line for line in dom.stderr.splitlines()
                    if ":CONSOLE" in line or "Uncaught" in line)
    m = re.search(r"<title>(.*?)</title>", dom.stdout)
    return BrowserCheck(figures_ok='data-figures-ok="true"' in dom.stdout,
                        title=m.group(1) if m else "", console=console, screenshot=shot)
