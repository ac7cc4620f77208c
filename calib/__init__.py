"""calib: lookup tables and the fitted, unit-mapped calibration that bridges circuits and cosim."""

from calib.calibration import Calibration
from calib.errors import CalibrationError
from calib.fit import fit

__all__ = ["Calibration", "CalibrationError", "fit"]
