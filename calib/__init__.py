"""calib: lookup tables and the fitted, unit-mapped calibration that bridges circuits and cosim."""

from calib.errors import CalibrationError

__all__ = ["CalibrationError"]
