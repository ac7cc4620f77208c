"""Errors of the orchestration layer."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad command-line or config input: one line for the user, exit code 2."""


__all__ = ["UsageError"]
