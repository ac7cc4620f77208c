"""Which part of the calibrated model departs from the circuit at ZMP (issue 9).

The co-sim check's output neurons fed the circuit's own hidden spikes: as the ideal clamped
integrator on a grid of dt/8, dt/64 and dt/2000 (`cosim_check_synapse.clamped`) and as the
calibrated neuron at dt/8 and dt/64 (`cosim_check_replay._replay`), each against the network
circuit's counts. About 1 min, no ngspice:

    python bench/cosim_check_isolate.py [REPLAY.json]

(default: results/calibration/cosim_check/replay_sc_vneg0_images0-9.json). Prints the pooled error
Σ|model − circuit| / Σ circuit with its 95% BCa interval over images, and the summed counts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT = "results/calibration/cosim_check/replay_sc_vneg0_images0-9.json"


def main() -> int:
    from cosim_check_replay import _replay
    from cosim_check_synapse import _load, clamped, pooled

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    rec, cal, w, b, layers, neurons = _load(a.file, a.data_root)
    v_neg = float(rec["v_neg"])
    gate, dt, floor = float(rec["gate_seconds"]), cal.dt_seconds, float(cal.floor_theta(v_neg))
    images = rec["images"]
    net = np.array([im["counts"][1] for im in images])

    def show(name: str, m: np.ndarray) -> None:
        e, lo, hi = pooled(m, net)
        print(f"  {name:<32} vs network {100 * e:5.2f}% ({100 * lo:.2f}-{100 * hi:.2f}), "
              f"{m.sum()} spikes (network {net.sum()})", flush=True)

    print(f"V_NEG {v_neg} V, {len(images)} images x {w.shape[0]} output neurons")
    for g in (8, 64, 2000):
        show(f"clamped integrator, dt/{g}",
             np.array([clamped(w, b, im["spike_times"][0], dt, gate, floor, grid=g)
                       for im in images]))
    for n in (8, 64):
        show(f"calibrated neuron, dt/{n}",
             np.array([_replay(layers, neurons[1], dt, im["spike_times"][0], n)
                       for im in images]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
