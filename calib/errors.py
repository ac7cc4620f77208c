"""Errors raised by the calibration layer (tables, fits, calibration files)."""

from __future__ import annotations


class CalibrationError(ValueError):
    """A table or calibration file is malformed: names the file, the field/column and the problem."""


__all__ = ["CalibrationError"]
