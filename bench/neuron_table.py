"""Issue 9's table (rest, θ, floor in θ at V_NEG 0 / −0.5 / −1 V) for both presets, from an
independent testbench: plain ``ngspice -b`` on a deck written here (``.include`` of the model
cards and the subcircuit file, one instance, ``wrdata``), none of the harness's rendering,
running or measuring code.

    python bench/neuron_table.py [--v-dd 1.0 ...] [--current 3e-8]

* rest: the membrane's minimum right after each reset (median over spikes 2..N);
* θ: the membrane 20 ns before each spike's rising edge (before the feedback kick) minus the
  following rest (median over spikes 2..N-1): the swing one spike removes;
* floor: the membrane's minimum under 100 nA of inhibition alone, as (floor − rest) / θ.
The membrane controller is held off (``ctl`` at the reset rail) and the membrane starts at 0 V.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circuits.design import preset  # noqa: E402  (design values only)

SUB = {"study": ROOT / "netlists" / "if_neuron.sub",
       "raised_rest": ROOT / "netlists" / "if_neuron_raised_rest.sub"}


def _run(design, *, v_dd: float, v_neg: float, i_exc: float, i_inh: float,
         t_stop: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    params = " ".join(f"{k}={v:.9e}" for k, v in design.subckt_params().items())
    study = design.topology == "study"
    ports = "exc inh mem out vdd vneg 0" + (" vrst vrst" if study else "")
    lines = ["* independent if_neuron testbench",
             f".include {ROOT / 'netlists' / 'models' / (design.model_cards + '.lib')}",
             f".include {SUB[design.topology]}",
             f"Vdd vdd 0 {v_dd}", f"Vneg vneg 0 {v_neg}",
             *([f"Vrst vrst 0 {design.v_rst_volts}"] if study else []),
             f"Iexc exc 0 {i_exc}", f"Iinh 0 inh {i_inh}",
             f"X1 {ports} if_neuron {params}",
             ".ic v(mem)=0", f".tran 1e-9 {t_stop} 0 2e-9",
             ".control", "set num_threads=1", "run", "wrdata out.txt v(mem) v(out)", ".endc",
             ".end"]
    with tempfile.TemporaryDirectory(prefix="nmpkit-table-") as tmp:
        (Path(tmp) / "tb.cir").write_text("\n".join(lines) + "\n")
        proc = subprocess.run([shutil.which("ngspice") or "ngspice", "-b", "tb.cir"], cwd=tmp,
                              capture_output=True, text=True, timeout=600)
        out = Path(tmp) / "out.txt"  # (batch mode exits 1 after a .control run: "no .print")
        if not out.is_file():
            raise RuntimeError("ngspice failed: " + proc.stderr[-800:])
        data = np.loadtxt(out)
    return data[:, 0], data[:, 1], data[:, 3]


def measure(design, *, v_dd: float, v_neg: float, i_exc: float) -> dict[str, float]:
    """rest, θ (V) at ``i_exc`` and the floor (V) under 100 nA of inhibition."""
    c = design.c_mem_farads + design.c_fb_farads
    t_stop = 10 * c * 0.6 * v_dd / i_exc
    t, vm, vo = _run(design, v_dd=v_dd, v_neg=v_neg, i_exc=i_exc, i_inh=0.0, t_stop=t_stop)
    up = np.nonzero((vo[:-1] < v_dd / 2) & (vo[1:] >= v_dd / 2))[0]
    rises = t[up]
    if rises.size < 4:
        raise RuntimeError(f"{rises.size} spikes at {i_exc} A, V_DD {v_dd}, V_NEG {v_neg}")
    gap = np.diff(rises).min()
    rests = [vm[(t >= r) & (t < r + 0.5 * gap)].min() for r in rises[1:]]
    tops = [np.interp(r - 2e-8, t, vm) for r in rises[1:]]
    swings = [tops[k + 1] - rests[k] for k in range(len(rests) - 1)]
    t2, vm2, _ = _run(design, v_dd=v_dd, v_neg=v_neg, i_exc=0.0, i_inh=1e-7,
                      t_stop=4 * c * (v_dd + 1.5) / 1e-7)
    return {"rest": float(np.median(rests)), "theta": float(np.median(swings)),
            "floor": float(vm2.min())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--v-dd", type=float, nargs="+", default=[1.0])
    ap.add_argument("--current", type=float, default=3e-8)
    args = ap.parse_args()
    print("| preset | V_DD | V_NEG | rest (V) | θ (V) | floor (V) | floor − rest (θ) |")
    print("|---|---|---|---|---|---|---|")
    for name in ("default", "raised_rest"):
        for v_dd in args.v_dd:
            d = preset(name, v_dd_volts=v_dd)
            for v_neg in (0.0, -0.5, -1.0):
                m = measure(d, v_dd=v_dd, v_neg=v_neg, i_exc=args.current)
                print(f"| {name} | {v_dd:g} | {v_neg:g} | {m['rest']:+.3f} | {m['theta']:.3f} | "
                      f"{m['floor']:+.3f} | {(m['floor'] - m['rest']) / m['theta']:+.2f} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
