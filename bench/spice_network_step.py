"""Is the network transient converged? Default neurons' periods at several maximum steps (issue 9).

The co-simulation check's reference is `circuits.spice_network.simulate_network`; its count of
every neuron is only as good as ngspice's time step, because the ``study`` neuron's reset pulse
is latched and timed by a capacitor and its length sets the charge a spike removes. This runs
seven default neurons on constant currents (0.1-0.7 θ per step, no synapses, T = 60 steps of the
calibration's dt) at each ``--steps`` (ns) and prints, per current, the period's error against
the calibration's transfer curve (``cosim.calibrated_neurons``; the rate taken from the second
to the last spike, so the controller's start does not enter):

    flock /work/heavy.lock python bench/spice_network_step.py --steps 34 20 10 5   # ~1 min

Measured (session 38, 2-core AVX-512 EPYC, V_DD 1 V, V_NEG 0): 34 ns (the earlier default,
min(dt/100, pulse/8)) up to 10.6% off, 20 ns up to 0.8%, 10 ns ≤ 0.14%, 5 ns ≤ 0.21%.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CURRENTS = (0.1, 0.13, 0.15, 0.2, 0.3, 0.45, 0.7)


def main() -> int:
    from calib.calibration import Calibration
    from circuits.spice_network import default_max_step, measure_gate_seconds, simulate_network
    from cosim.calibrated import calibrated_neurons

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibration", default="results/calibration/calibration-default.json")
    ap.add_argument("--v-neg", type=float, default=0.0)
    ap.add_argument("--steps", type=float, nargs="+", default=[34.0, 20.0, 10.0, 5.0],
                    help="maximum internal steps, ns")
    ap.add_argument("--timesteps", type=int, default=60)
    a = ap.parse_args()
    cal = Calibration.load(a.calibration)
    design = dict(cal.sources["fi"]["provenance"]["design"])
    neuron = calibrated_neurons(cal, [(len(CURRENTS),)], v_neg_volts=a.v_neg)[0]
    xs, ys = (t.double().numpy() for t in neuron.transfer)
    cur = np.asarray(CURRENTS)
    model = np.interp(cur, xs, ys)  # θ per step
    gate = measure_gate_seconds(design, v_dd_volts=cal.v_dd_volts, v_neg_volts=a.v_neg,
                                i_amps=0.4 * cal.i_unit_amps, q_guess_coulombs=cal.q_spike_coulombs)
    print(f"V_DD {cal.v_dd_volts} V, V_NEG {a.v_neg} V, dt {cal.dt_seconds * 1e6:.3f} us, "
          f"T = {a.timesteps}; the default step "
          f"{default_max_step(design, cal.dt_seconds) * 1e9:.1f} ns; period error vs the "
          "transfer curve, per input (θ/step):")
    print("  step    wall  " + "  ".join(f"{c:>7g}" for c in cur) + "    worst")
    for ns in a.steps:
        t0 = time.perf_counter()
        run = simulate_network(design, v_dd_volts=cal.v_dd_volts, v_neg_volts=a.v_neg,
                               first_currents=cur, weights=[], biases=[],
                               i_unit_amps=cal.i_unit_amps, dt_seconds=cal.dt_seconds,
                               timesteps=a.timesteps, gate_seconds=gate,
                               v_init_volts=cal.rest_at(a.v_neg), t_max_seconds=ns * 1e-9)
        wall = time.perf_counter() - t0
        err = []
        for r, ts in zip(model, run.spike_times[0]):
            ts = np.asarray(ts)
            if ts.size < 4:
                err.append(float("nan"))
                continue
            rate = (ts.size - 2) * cal.dt_seconds / (ts[-1] - ts[1])
            err.append(100 * (rate / r - 1))
        e = np.asarray(err)
        print(f"  {ns:4g} ns {wall:5.0f} s " + "  ".join(f"{x:+6.2f}%" for x in e)
              + f"  {np.nanmax(np.abs(e)):6.2f}%", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
