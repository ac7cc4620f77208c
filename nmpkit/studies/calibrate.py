"""A calibration fitted from characterization tables, with the provenance of the fit: what
`nmpkit calibrate`, `nmpkit run`'s calibrate stage and `nmpkit optimize`'s per-design calibrations
all write (so the study does not import the CLI's command module)."""

from __future__ import annotations

RATE_FRACTION = 0.25
"""Default fraction of the circuit's max rate that one spike per step maps to."""


def calibrate(table_dir, out, *, dt_seconds: float | None = None,
              rate_fraction: float = RATE_FRACTION, v_dd_volts: float | None = None,
              v_neg_volts: float | None = None):
    """``calib.fit`` of ``table_dir`` with the provenance of `nmpkit calibrate`, saved to ``out``.

    Returns ``(calibration, path)``.
    """
    import dataclasses

    from calib import fit
    from calib.fit import FIT_VERSION
    from calib.io import provenance

    fit_args = dict(dt_seconds=dt_seconds, rate_fraction=rate_fraction, v_dd_volts=v_dd_volts,
                    v_neg_volts=v_neg_volts)
    cal = fit(table_dir, **fit_args)
    prov = provenance(command="nmpkit calibrate", table_dir=str(table_dir),
                      fit_version=FIT_VERSION, **fit_args)
    cal = dataclasses.replace(cal, sources=cal.sources | {"calibrate": prov})
    return cal, cal.save(out)
