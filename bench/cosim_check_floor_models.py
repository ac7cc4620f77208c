"""The ZMP co-sim check's residual under three floor models the engine does not have (issue 9).

The co-simulation check's whole network (hidden layer fed its constant currents, output layer fed
the hidden spikes), re-implemented here as a plain NumPy step loop on ``n`` sub-steps, matching
``cosim.simulate(substepped(...))`` bit for bit when every option is off (the script checks that
first), and compared with the network circuit's counts of a ``bench/cosim_check_replay.py run``
file. About 20 s per model, no ngspice:

    python bench/cosim_check_floor_models.py [REPLAY.json]

The models (each one measured quantity, not a fit, unless said):

* ``floor``: the calibration's own floor before ``Calibration.floor_theta`` clips it to <= 0
  (``(v_mem_min − rest) / θ``: at V_DD 1 V and V_NEG 0 V the membrane floors at 0 V while the
  network's v = 0 is v_sense − θ = −11.6 mV, so +0.022 θ); the engine refuses a floor above rest;
* ``inh_only``: that floor applied only to a sub-step whose net input is inhibitory (a membrane a
  reset left below 0 V is lifted only by an inhibitory event, whose mirror then conducts from the
  V_NEG rail);
* ``soft``: the inhibitory mirror's compliance near its floor, the inhibitory input scaled by
  min(1, (v − floor) / soft) (``soft`` in θ; a fitted width: `bench/synapse_step.py` measures a
  lone inhibitory event 0.05 V above the ZMP floor delivering 0.48-0.78 of its charge in a step).

Prints the pooled error Σ|model − circuit| / Σ circuit over all neurons (95% BCa interval over
images), the hidden layer's error, the output layer's, and the summed count bias model − circuit.
All figures are in-sample on the file's images: a model chosen here is not evidence until it is
checked on images it was not chosen on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT = "results/calibration/cosim_check/replay_sc_vneg0_images0-9.json"


@dataclasses.dataclass(frozen=True)
class Model:
    n: int = 8
    floor: float | None = None  # None: the calibrated neuron's lower bound
    inh_only: bool = False
    soft: float = 0.0

    def label(self) -> str:
        parts = [f"{self.n} sub-steps"]
        if self.floor is not None:
            parts.append(f"floor {self.floor:+.4f}" + (" (inhibition only)" if self.inh_only
                                                          else ""))
        if self.soft:
            parts.append(f"soft {self.soft:g} θ")
        return ", ".join(parts)


def _transfer(neuron, n: int):
    from cosim.substep import substep_transfer

    xs, ys = substep_transfer(neuron.transfer, n)
    xs, ys = xs.double().numpy(), ys.double().numpy()
    s0 = (ys[1] - ys[0]) / (xs[1] - xs[0])
    s1 = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])

    def f(u: np.ndarray) -> np.ndarray:  # piecewise linear, its end segments extended
        out = np.interp(u, xs, ys)
        out = np.where(u < xs[0], ys[0] + s0 * (u - xs[0]), out)
        return np.where(u > xs[-1], ys[-1] + s1 * (u - xs[-1]), out)
    return f


def simulate(layers, neuron, x: np.ndarray, steps: int, m: Model) -> list[np.ndarray]:
    """Hidden and output counts of the two-layer check network under model ``m``."""
    (w0, b0), (w1, b1) = ((np.asarray(w, float), np.asarray(b, float)) for w, b in layers)
    lb = float(neuron.lower_bound if m.floor is None else m.floor)
    f = _transfer(neuron, m.n)
    y0 = f((w0 @ x + b0) / m.n)
    wp, wn = np.clip(w1, 0, None), np.clip(w1, None, 0)
    v0, v1 = np.zeros(b0.size), np.zeros(b1.size)
    c0, c1 = np.zeros(b0.size, int), np.zeros(b1.size, int)
    for _ in range(steps * m.n):
        v0 = np.maximum(v0 + y0, lb)
        s = v0 >= 1.0
        c0 += s
        v0 = v0 - s
        inh = wn @ s
        if m.soft > 0:
            inh = inh * np.clip((v1 - lb) / m.soft, 0.0, 1.0)
        y = f(wp @ s + b1 / m.n + inh)
        v1 = np.where(y < 0, np.maximum(v1 + y, lb), v1 + y) if m.inh_only else \
            np.maximum(v1 + y, lb)
        s1 = v1 >= 1.0
        c1 += s1
        v1 = v1 - s1
    return [c0, c1]


def main() -> int:
    import torch
    from cosim_check_replay import T, _ratio_ci, _setup

    from cosim import simulate as cosim_simulate
    from cosim import substepped

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--soft", type=float, nargs="*", default=[0.1, 0.2, 0.3])
    a = ap.parse_args()
    rec = json.loads(Path(a.file).read_text())
    v_neg = float(rec["v_neg"])
    cal, ds, net, pool, layers, neurons = _setup(rec["calibration"], a.data_root, v_neg)
    at = cal.at(cal.v_dd_volts)
    vm = float(np.interp(v_neg, at.floor_v_neg_volts, at.floor_v_mem_min_volts))
    raw = (vm - at.rest_at(v_neg)) / at.theta_at(v_neg)
    xs = {im["image"]: pool(ds.x_test[im["image"]:im["image"] + 1]) for im in rec["images"]}

    im0 = rec["images"][0]  # the NumPy loop is the engine's when every option is off
    fine, fn = substepped(net, neurons, 8)
    ref = cosim_simulate(fine, xs[im0["image"]], timesteps=8 * T, neuron=fn)
    mine = simulate(layers, neurons[0], xs[im0["image"]][0].double().numpy(), T, Model())
    for k, c in enumerate(ref.spike_counts):
        if not np.array_equal(c[0].reshape(-1).numpy().astype(int), mine[k]):
            raise SystemExit(f"the NumPy loop differs from cosim.simulate in layer {k}")
    torch.set_num_threads(1)

    models = [Model(), Model(n=32), Model(floor=raw), Model(floor=raw, inh_only=True)]
    models += [Model(soft=s) for s in a.soft] + [Model(floor=raw, soft=s) for s in a.soft[:1]]
    print(f"V_NEG {v_neg} V, V_DD {cal.v_dd_volts} V, {len(rec['images'])} images x "
          f"{sum(len(c) for c in im0['counts'])} neurons, T = {T}; the calibration's floor "
          f"before clipping {raw:+.4f} θ (engine: {neurons[0].lower_bound})")
    for m in models:
        rows = []
        for im in rec["images"]:
            circ = [np.asarray(c) for c in im["counts"]]
            got = simulate(layers, neurons[0], xs[im["image"]][0].double().numpy(), T, m)
            c, g = np.concatenate(circ), np.concatenate(got)
            rows.append([np.abs(c - g).sum(), c.sum(), np.abs(circ[0] - got[0]).sum(),
                         circ[0].sum(), np.abs(circ[1] - got[1]).sum(), circ[1].sum(),
                         g.sum() - c.sum()])
        r = np.asarray(rows, dtype=float)
        e, lo, hi = _ratio_ci(r[:, 0], r[:, 1])
        print(f"  {m.label():<44} all {100 * e:5.2f}% ({100 * lo:.2f}-{100 * hi:.2f})  "
              f"hidden {100 * r[:, 2].sum() / r[:, 3].sum():4.2f}%  "
              f"output {100 * r[:, 4].sum() / r[:, 5].sum():5.2f}%  "
              f"bias {r[:, 6].sum():+.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
