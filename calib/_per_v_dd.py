"""Validation of `Calibration.by_v_dd` (the calibrations at the grid's other V_DD)."""

from __future__ import annotations

from typing import Any

from calib.errors import CalibrationError


def per_v_dd(cal: Any, cls: type) -> tuple[Any, ...]:
    """Normalize ``by_v_dd``: Calibrations (dicts are read), no nesting, distinct V_DD other than
    the nominal one, ascending."""
    items = cal.by_v_dd
    if isinstance(items, (str, bytes, dict)) or not hasattr(items, "__iter__"):
        raise CalibrationError(f"field 'by_v_dd' must be a list of calibrations, got {items!r}")
    out: list[Any] = []
    for k, c in enumerate(items):
        if isinstance(c, dict):
            c = cls.from_dict(c, where=f"by_v_dd[{k}]")
        if not isinstance(c, cls):
            raise CalibrationError(f"field 'by_v_dd'[{k}] must be a calibration, got {c!r}")
        if c.by_v_dd:
            raise CalibrationError(f"field 'by_v_dd'[{k}] must not hold calibrations itself")
        out.append(c)
    vs = [cal.v_dd_volts, *(c.v_dd_volts for c in out)]
    if len({round(v, 9) for v in vs}) != len(vs):
        raise CalibrationError(
            f"field 'by_v_dd' must hold one calibration per V_DD other than the nominal "
            f"{cal.v_dd_volts!r} V, got V_DD {[c.v_dd_volts for c in out]}")
    return tuple(sorted(out, key=lambda c: c.v_dd_volts))
