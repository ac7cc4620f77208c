"""The command line's error: bad arguments or config file (one line, exit code 2)."""

from __future__ import annotations

from nmpkit.errors import NmpkitError


class UsageError(NmpkitError, ValueError):
    """Bad command-line or config input: one line for the user, exit code 2."""


__all__ = ["UsageError"]
