"""Errors raised by the calibration layer (tables, fits, calibration files)."""

from __future__ import annotations


class CalibrationError(ValueError):
    """A malformed table or calibration file: names the file, the field or column, the problem."""


__all__ = ["CalibrationError"]
