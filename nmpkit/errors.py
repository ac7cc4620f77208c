"""Errors of nmpkit's library parts (ml, studies, report); the CLI's own `ConfigError` is in app."""

from __future__ import annotations


class NmpkitError(Exception):
    """Base of every error nmpkit raises on purpose (the CLI prints it as one line, exit 2)."""


class ConfigError(NmpkitError, ValueError):
    """A bad value in a study's config or a file it reads: names the field, the value, the rule."""


__all__ = ["ConfigError", "NmpkitError"]
