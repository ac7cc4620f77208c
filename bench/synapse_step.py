"""How fast a synaptic event's charge reaches the membrane (issue 9): the default neuron's
excitatory and inhibitory input mirrors, pulsed from rest, with the membrane held.

    python bench/synapse_step.py [--calibration results/calibration/calibration-default.json]
        [--v-mem 0.25 0.05] [--weights 0.1 0.3 1 2] [--train 10] [--out OUT.json]

A testbench of one `if_neuron` (`circuits.spice_network`'s deck: same subcircuit, supplies, reset
rail and membrane controller) with its membrane held by a voltage source at ``--v-mem`` (so it
never fires) and one current pulse into the excitatory or inhibitory port: the network's synaptic
pulse (width = the calibration's measured gate, 0.31 µs; charge |w|·q, q = one θ of charge), from
a mirror that has been idle (its gate at the operating point). The membrane's charge is the held
source's current minus the same run without the pulse, integrated. Printed: the fraction of |w|·q
delivered by the end of the pulse, 1, 3 and 8 steps (dt) later; ``--train N``: the same for N
events one step apart (the fraction of N·|w|·q delivered by one step after the last);
``--prebias I``: a standing current I into the inhibitory port and out of the excitatory one (the
mirrors never idle; the membrane's net standing current is their mismatch), without changing the
netlist.

What an ideal synapse (the step model) does: 1.000 by the end of the pulse, for every weight.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T0 = 1e-6
TAIL_STEPS = 8


def _deck(design, port: str, amps: float, v_mem: float, gate: float, dt: float, n: int,
          prebias: float = 0.0) -> str:
    from circuits.spice_network import NETLIST_DIR, _num
    from circuits.spice_network import _deck as net_deck
    from circuits.spice_replay import prebias_sources

    pts = ["0 0"]
    for k in range(n):
        a = T0 + k * dt
        pts.append(" ".join(_num("t", v) for v in (a, 0, a + 5e-9, amps, a + gate - 5e-9, amps,
                                                   a + gate, 0)))
    src = (f"Ipulse 0 h0_0 PWL({' '.join(pts)})" if port == "inh"
           else f"Ipulse e0_0 0 PWL({' '.join(pts)})")
    deck = net_deck(design=design, v_dd=1.0, v_neg=0.0, models="generic_bsim3",
                    netlist_dir=NETLIST_DIR, layers=[1],
                    body=[f"Vhold m0_0 0 dc {_num('v_mem', v_mem)}", src,
                          *prebias_sources(prebias)],
                    t_stop=T0 + (n - 1 + TAIL_STEPS) * dt, t_max=5e-9, probes=["i(vhold)"])
    return deck.replace(".ic v(m0_0)=0.000000000e+00\n", "")  # the source holds the membrane


@functools.lru_cache(maxsize=64)
def _baseline(deck: str) -> np.ndarray:
    """The run without the pulse (one per membrane, port, train and pre-bias: not per weight)."""
    from circuits.spice_batch import _run

    return _run(deck, 300)[0]


def delivered(design, port: str, w: float, v_mem: float, *, q: float, gate: float, dt: float,
              n: int = 1, prebias: float = 0.0) -> list[float]:
    """Fractions of n·|w|·q on the membrane at the pulse end, and 1, 3, 8 dt after the last."""
    from circuits.spice_batch import _run

    amps = w * q / gate
    a = _run(_deck(design, port, amps, v_mem, gate, dt, n, prebias), 300)[0]
    b = _baseline(_deck(design, port, 0.0, v_mem, gate, dt, n, prebias))
    t = a[:, 0]
    i = a[:, 1] - np.interp(t, b[:, 0], b[:, 1])
    if port == "inh":  # charge drawn out of the membrane: the held source supplies it
        i = -i
    cq = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))]) / (n * w * q)
    last = T0 + (n - 1) * dt
    return [float(np.interp(last + x, t, cq)) for x in (gate, dt, 3 * dt,
                                                        TAIL_STEPS * dt - 1e-8)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibration", default="results/calibration/calibration-default.json")
    ap.add_argument("--v-mem", type=float, nargs="+", default=[0.25, 0.05])
    ap.add_argument("--weights", type=float, nargs="+", default=[0.1, 0.3, 1.0, 2.0])
    ap.add_argument("--train", type=int, default=10, help="events one step apart (0: none)")
    ap.add_argument("--gate-seconds", type=float, default=3.122e-7,
                    help="synaptic pulse width (the co-sim check's measured gate)")
    ap.add_argument("--prebias", type=float, nargs="+", default=[0.0],
                    help="standing current (A) into the inhibitory port and, equal, out of the "
                         "excitatory one: a pre-biased mirror, the netlist unchanged")
    ap.add_argument("--out")
    a = ap.parse_args()
    from calib.calibration import Calibration

    cal = Calibration.load(a.calibration)
    design = dict(cal.sources["fi"]["provenance"]["design"])
    dt, q = cal.dt_seconds, cal.i_unit_amps * cal.dt_seconds
    rows = []
    print(f"V_DD 1 V, V_NEG 0 V, dt {dt * 1e6:.2f} us, q {q * 1e12:.3f} pC, pulse "
          f"{a.gate_seconds * 1e9:.0f} ns: fraction of the events' charge on the membrane by "
          f"the pulse end / 1 / 3 / {TAIL_STEPS} dt after the last event")
    for pb in a.prebias:
        for v_mem in a.v_mem:
            for port in ("inh", "exc"):
                for n in ([1, a.train] if a.train > 1 else [1]):
                    for w in a.weights:
                        f = delivered(design, port, w, v_mem, q=q, gate=a.gate_seconds, dt=dt,
                                      n=n, prebias=pb)
                        rows.append({"prebias_amps": pb, "v_mem": v_mem, "port": port,
                                     "events": n, "w": w, "fractions": f})
                        print(f"  pre-bias {pb * 1e9:g} nA, membrane {v_mem:.2f} V, {port}, "
                              f"{n:2d} event(s) of w {w:g}: " + " / ".join(f"{x:.3f}" for x in f),
                              flush=True)
    if a.out:
        from calib.io import atomic_write_json, provenance

        atomic_write_json(Path(a.out), {"rows": rows, "dt_seconds": dt, "q_coulombs": q,
                                        "gate_seconds": a.gate_seconds,
                                        "calibration": a.calibration,
                                        "provenance": provenance(command="bench/synapse_step.py")})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
