"""The ZMP co-sim check's residual under floor models beside the engine's (issue 9).

The co-simulation check's whole network (hidden layer fed its constant currents, output layer fed
the hidden spikes), re-implemented here as a plain NumPy step loop on ``n`` sub-steps, matching
``cosim.simulate(substepped(...))`` bit for bit with the calibrated neuron as it is (the
script checks that first), and compared with the network circuit's counts of
``bench/cosim_check_replay.py run`` files. About 20 s per model, no ngspice:

    python bench/cosim_check_floor_models.py [REPLAY.json ...]

The models (each one measured quantity, not a fit, unless said):

* the engine's (session 37): the calibration's measured floor ``membrane_floor_theta`` (at V_DD
  1 V, V_NEG 0 V the membrane floors at ground while the network's v = 0 is the post-reset level
  v_sense − θ = −11.7 mV: +0.022 θ), binding only on a sub-step whose input is inhibitory (the
  reset, on its own rail, still pulls below it), every membrane started at the controller's level
  (ground: ``start_theta``, +0.022 θ);
* ``clipped``: the model before session 37, floor 0 (clipped to rest) and start at v = 0;
* ``ungated``: the measured floor as ``max(v, floor)`` after every sub-step, the reset's residue
  lifted too (what the engine did for floors <= 0, where it makes no difference);
* ``soft``: the inhibitory mirror's compliance near its floor, the inhibitory input scaled by
  min(1, (v − floor) / soft) (``soft`` in θ; a fitted width: `bench/synapse_step.py` measures a
  lone inhibitory event 0.05 V above the ZMP floor delivering 0.48-0.78 of its charge in a step).

Prints the pooled error Σ|model − circuit| / Σ circuit over all neurons (95% BCa interval over
images), the hidden layer's error, the output layer's, and the summed count bias model − circuit.
Figures on the images a model was chosen on are in-sample: a model is evidence only on images it
was not chosen on.
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

DEFAULT = "results/calibration/cosim_check/replay_zmp_images0-9.json"


@dataclasses.dataclass(frozen=True)
class Model:
    n: int = 8
    floor: float | None = None  # None: the calibrated neuron's lower bound
    v_init: float | None = None  # None: the calibrated neuron's start
    ungated: bool = False
    soft: float = 0.0

    def label(self) -> str:
        parts = [f"{self.n} sub-steps"]
        if self.floor is not None:
            parts.append(f"floor {self.floor:+.4f}")
        if self.v_init is not None:
            parts.append(f"start {self.v_init:+.4f}")
        if self.ungated:
            parts.append("ungated max(v, floor)")
        if self.soft:
            parts.append(f"soft {self.soft:g} θ")
        return ", ".join(parts) if len(parts) > 1 or self.n != 8 else "8 sub-steps (the engine's)"


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
    start = float(neuron.v_init if m.v_init is None else m.v_init)
    f = _transfer(neuron, m.n)
    y0 = f((w0 @ x + b0) / m.n)
    wp, wn = np.clip(w1, 0, None), np.clip(w1, None, 0)
    v0, v1 = np.full(b0.size, start), np.full(b1.size, start)
    c0, c1 = np.zeros(b0.size, int), np.zeros(b1.size, int)

    def step(v: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = v + y
        s = v >= 1.0
        v = v - s
        held = np.maximum(v, lb)
        return (held if m.ungated else np.where(y < 0, held, v)), s

    for _ in range(steps * m.n):
        v0, s = step(v0, y0)
        c0 += s
        inh = wn @ s
        if m.soft > 0:
            inh = inh * np.clip((v1 - lb) / m.soft, 0.0, 1.0)
        v1, s1 = step(v1, f(wp @ s + b1 / m.n + inh))
        c1 += s1
    return [c0, c1]


def _versus(first: np.ndarray | None, r: np.ndarray) -> str:
    """This model's pooled error minus the first model's on the same images: a paired 95% BCa
    interval (`ratio_interval` of the per-image error differences over the circuit counts) and
    a Wilcoxon signed-rank p on the per-image errors."""
    if first is None or len(r) < 2:
        return ""
    from scipy.stats import wilcoxon

    from nmpkit.studies.stats import ratio_interval

    ci = ratio_interval(r[:, 0] - first[:, 0], r[:, 1])
    diff = r[:, 0] / r[:, 1] - first[:, 0] / first[:, 1]
    p = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    return (f"  vs the first: {100 * ci.estimate:+.2f} %p ({100 * ci.ci_low:+.2f} to "
            f"{100 * ci.ci_high:+.2f}), Wilcoxon p = {p:.3f}")


def main() -> int:
    import torch
    from cosim_check_replay import T, _ratio_ci, _setup

    from cosim import simulate as cosim_simulate
    from cosim import substepped

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", default=[DEFAULT])
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--soft", type=float, nargs="*", default=[0.1, 0.2, 0.3])
    a = ap.parse_args()
    recs = [json.loads(Path(f).read_text()) for f in a.files]
    images = [im for rec in recs for im in rec["images"]]
    v_neg = float(recs[0]["v_neg"])
    cal, ds, net, pool, layers, neurons = _setup(recs[0]["calibration"], a.data_root, v_neg)
    xs = {im["image"]: pool(ds.x_test[im["image"]:im["image"] + 1]) for im in images}

    im0 = images[0]  # the NumPy loop is the engine's with the calibrated neuron as it is
    fine, fn = substepped(net, neurons, 8)
    ref = cosim_simulate(fine, xs[im0["image"]], timesteps=8 * T, neuron=fn)
    mine = simulate(layers, neurons[0], xs[im0["image"]][0].double().numpy(), T, Model())
    for k, c in enumerate(ref.spike_counts):
        if not np.array_equal(c[0].reshape(-1).numpy().astype(int), mine[k]):
            raise SystemExit(f"the NumPy loop differs from cosim.simulate in layer {k}")
    torch.set_num_threads(1)

    models = [Model(), Model(n=32), Model(floor=min(0.0, neurons[0].lower_bound), v_init=0.0),
              Model(ungated=True)]
    models += [Model(soft=s) for s in a.soft]
    print(f"V_NEG {v_neg} V, V_DD {cal.v_dd_volts} V, {len(images)} images "
          f"{sorted(xs)} x {sum(len(c) for c in im0['counts'])} neurons, T = {T}; the "
          f"calibrated neuron's floor {neurons[0].lower_bound:+.4f} θ, start "
          f"{neurons[0].v_init:+.4f} θ")
    first = None
    for m in models:
        rows = []
        for im in images:
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
              f"bias {r[:, 6].sum():+.0f}" + _versus(first, r), flush=True)
        first = r if first is None else first
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
