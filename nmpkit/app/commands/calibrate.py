"""`nmpkit calibrate TABLE_DIR --out calibration.json`: fit the unit-mapped neuron model.

Reads ``fi``, ``floor``, ``energy``, ``mismatch`` (and, when present, ``waveform``) from a table
directory written by ``nmpkit characterize`` and writes one versioned calibration JSON file whose
``sources`` name every table and what produced it (plus this command's own provenance).
"""

from __future__ import annotations

import argparse

from nmpkit.studies.calibrate import RATE_FRACTION

NAME = "calibrate"
HELP = "fit a calibration (unit mapping, transfer curve, floor, energy, mismatch) from tables"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("table_dir", help="directory written by `nmpkit characterize`")
    p.add_argument("--out", default="calibration.json",
                   help="calibration file to write (default: %(default)s)")
    p.add_argument("--dt", type=float, default=None, metavar="SECONDS",
                   help="network timestep (default: 1 / (rate-fraction x max rate))")
    p.add_argument("--rate-fraction", type=float, default=RATE_FRACTION,
                   help="fraction of the circuit's max rate that one spike per step maps to "
                   "(default: %(default)s)")
    p.add_argument("--v-dd", type=float, default=None, help="operating V_DD (default: design's)")
    p.add_argument("--v-neg", type=float, default=None,
                   help="operating V_NEG of the transfer curve (default: design's)")


def run(args: argparse.Namespace) -> int:
    import json

    from nmpkit.studies.calibrate import calibrate

    cal, path = calibrate(args.table_dir, args.out, dt_seconds=args.dt,
                          rate_fraction=args.rate_fraction, v_dd_volts=args.v_dd,
                          v_neg_volts=args.v_neg)
    summary = {
        "calibration": str(path), "dt_seconds": cal.dt_seconds,
        "i_unit_amps": cal.i_unit_amps, "q_spike_coulombs": cal.q_spike_coulombs,
        "theta_volts": cal.theta_volts, "v_rest_volts": cal.v_rest_volts,
        "max_rate_hertz": cal.max_rate_hertz,
        "floor_theta": {str(v): round(cal.floor_theta(v), 4) for v in cal.floor_v_neg_volts},
        "membrane_floor_theta": {str(v): round(cal.membrane_floor_theta(v), 4)
                                 for v in cal.floor_v_neg_volts},
        "v_start_volts": cal.v_start_volts,
        "start_theta": round(cal.start_theta(cal.v_neg_volts), 4),
        "energy_regime": dict(zip(map(str, cal.energy_v_dd_volts), cal.energy_regime)),
        "energy_exponent": cal.energy_exponent,
        "gain_std": cal.gain_std, "threshold_std": cal.threshold_std,
    }
    if args.json:
        print(json.dumps(summary))
    elif not args.quiet:
        print(f"calibration: {path}")
        print(f"  dt = {cal.dt_seconds:.4g} s, weight 1 = {cal.i_unit_amps:.4g} A, "
              f"θ = {cal.q_spike_coulombs:.4g} C ({cal.theta_volts:.4g} V of membrane), "
              f"rest {cal.v_rest_volts:.4g} V, max rate {cal.max_rate_hertz:.4g} Hz")
        print("  floor (θ) at V_NEG: " + ", ".join(
            f"{v:g} V → {cal.floor_theta(v):.3f}" for v in cal.floor_v_neg_volts))
        zmp = max(cal.floor_v_neg_volts)
        start = ("at rest (no membrane controller)" if cal.v_start_volts is None else
                 f"at {cal.v_start_volts:g} V, {cal.start_theta(cal.v_neg_volts):+.4f} θ from "
                 f"the post-reset level (membrane controller)")
        print(f"  the neuron model's floor at V_NEG {zmp:g} V: "
              f"{cal.membrane_floor_theta(zmp):+.4f} θ (only inhibition meets a floor above "
              f"rest); inputs start {start}")
        print("  E_spike(V_DD): " + ", ".join(
            f"{v:g} V {e:.3g} J ({r})" for v, e, r in zip(
                cal.energy_v_dd_volts, cal.e_spike_vdd_joules, cal.energy_regime)))
        print(f"  mismatch: rate gain σ {cal.gain_std:.3g}, threshold σ {cal.threshold_std:.3g} "
              f"({cal.mismatch_samples} MC samples)")
    return 0
