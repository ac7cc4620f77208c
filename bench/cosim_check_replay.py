"""Where the co-simulation check's error comes from (issue 9): circuit vs cosim per neuron, with
the circuit's own hidden spike times replayed into the calibrated output neuron.

    flock /work/heavy.lock python bench/cosim_check_replay.py run OUT.json --images 0 1 2
    python bench/cosim_check_replay.py analyse OUT.json [MORE.json ...]

``run``: the check's network (`small_network`, Fashion-MNIST, seed 0, T = 60) in ngspice at
``--v-neg`` (one image after another; run two processes on two cores), and saves per image the
circuit's counts and spike times, with the transient's maximum step (`circuits.spice_network.
default_max_step`: ~10 ns since session 38; the ``replay_sc_*`` files of sessions 35-37 ran at
34 ns, which `bench/spice_network_step.py` shows is not converged) and ngspice's version.
``analyse``, for every saved image:

* the gated model (8 sub-steps) started where the calibration says (``Calibration.start_theta``:
  the membrane controller's level) and at ``--v-init`` values (``IFNeuron.v_init``, the membrane
  at t = 0 in θ), pooled error Σ|cosim − circuit| / Σ circuit, all neurons and the
  output layer;
* the **replay**: the output layer alone, the calibrated neuron on a grid of dt/``n``, driven by
  the circuit's own hidden spikes (each at its rising-edge time). What the replay still misses
  is the output neuron model's, not the hidden layer's timing.

Every pooled error comes with a 95% BCa bootstrap interval over the images (their neurons
resampled together).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T = 60


def _setup(cal_path: str, data_root: str, v_neg: float):
    from calib.calibration import Calibration
    from cosim.calibrated import calibrated_neurons
    from nmpkit.ml.data import load_dataset
    from nmpkit.studies.cosim_check import small_network
    from nmpkit.studies.cosim_check_net import linear_ops

    cal = Calibration.load(cal_path)
    ds = load_dataset("fashion-mnist", data_root)
    net, pool = small_network(ds.x_train, ds.y_train, hidden=20, seed=0)
    neurons = calibrated_neurons(cal, [ly.shape for ly in net.layers], v_neg_volts=v_neg)
    return cal, ds, net, pool, linear_ops(net), neurons


def run(a) -> None:
    from circuits.spice_network import measure_gate_seconds, simulate_network

    torch.set_num_threads(1)
    cal, ds, net, pool, layers, _ = _setup(a.calibration, a.data_root, a.v_neg)
    design = dict(cal.sources["fi"]["provenance"]["design"])
    gate_s = measure_gate_seconds(design, v_dd_volts=cal.v_dd_volts, v_neg_volts=a.v_neg,
                                  i_amps=0.4 * cal.i_unit_amps,
                                  q_guess_coulombs=cal.q_spike_coulombs)
    out = []
    for i in a.images:
        x = pool(ds.x_test[i:i + 1])[0].double().numpy()
        t0 = time.time()
        r = simulate_network(design, v_dd_volts=cal.v_dd_volts, v_neg_volts=a.v_neg,
                             first_currents=layers[0][0] @ x + layers[0][1],
                             weights=[w for w, _ in layers[1:]],
                             biases=[b for _, b in layers[1:]], i_unit_amps=cal.i_unit_amps,
                             dt_seconds=cal.dt_seconds, timesteps=T, gate_seconds=gate_s,
                             v_init_volts=cal.rest_at(a.v_neg))
        out.append({"image": i, "ngspice_seconds": time.time() - t0,
                    "counts": [c.tolist() for c in r.counts],
                    "spike_times": [[t.tolist() for t in ly] for ly in r.spike_times]})
        print(f"image {i}: {out[-1]['ngspice_seconds']:.0f} s", flush=True)
    Path(a.out).write_text(json.dumps({
        "v_neg": a.v_neg, "calibration": a.calibration, "gate_seconds": gate_s,
        "t_max_seconds": r.t_max_seconds, "ngspice_version": r.ngspice_version, "images": out}))


def _replay(layers, neuron, dt: float, hidden_times, n: int) -> np.ndarray:
    from cosim.neuron import IFState, StepParams, if_step
    from cosim.substep import substep_neuron

    w, b = (torch.as_tensor(v) for v in layers[1])
    p = StepParams.of(substep_neuron(neuron, n))
    st = IFState(torch.full((w.shape[0],), float(p.v0), dtype=torch.float64), None, None)
    idx = [np.floor(np.asarray(ts) / (dt / n)).astype(int) for ts in hidden_times]
    counts = np.zeros(w.shape[0], int)
    for t in range(T * n):
        s = torch.tensor([float(np.sum(ix == t)) for ix in idx], dtype=torch.float64)
        sp, st = if_step(st, w @ s + b / n, p)
        counts += sp.numpy().astype(int)
    return counts


def analyse(a) -> None:
    from cosim import simulate, substepped

    recs = [json.loads(Path(f).read_text()) for f in a.files]
    v_neg = recs[0]["v_neg"]
    cal, ds, net, pool, layers, neurons = _setup(recs[0]["calibration"], a.data_root, v_neg)
    tot: dict[str, list[list[float]]] = {}

    def add(key: str, circ: list[np.ndarray], model: list[np.ndarray]) -> None:
        c, m = np.concatenate(circ), np.concatenate(model)
        tot.setdefault(key, []).append([np.abs(c - m).sum(), c.sum(),
                                        np.abs(circ[-1] - model[-1]).sum(), circ[-1].sum()])

    n_img = 0
    for rec in recs:
        for im in rec["images"]:
            n_img += 1
            circ = [np.asarray(c) for c in im["counts"]]
            x = pool(ds.x_test[im["image"]:im["image"] + 1])
            for v0 in (None, *a.v_init):  # None: the calibrated start (the controller's)
                neu = neurons if v0 is None else [dataclasses.replace(u, v_init=v0)
                                                  for u in neurons]
                fine, fn = substepped(net, neu, 8)
                r = simulate(fine, x, timesteps=8 * T, neuron=fn)
                what = (f"calibrated start {neurons[0].v_init:+.4f}" if v0 is None
                        else f"v_init {v0:g}")
                add(f"8 sub-steps, {what}", circ,
                    [c[0].reshape(-1).numpy() for c in r.spike_counts])
            for n in (8, 64):
                rep = _replay(layers, neurons[1], cal.dt_seconds, im["spike_times"][0], n)
                add(f"replay of the circuit's hidden spikes, dt/{n}", circ[:1] + [circ[1]],
                    [circ[0], rep])
    print(f"V_NEG {v_neg} V, {n_img} images, T = {T}: pooled error Σ|model − circuit| / Σ circuit"
          " (95% BCa interval over images)")
    for k, rows in tot.items():
        r = np.asarray(rows)
        (e, lo, hi), (eo, loo, hio) = _ratio_ci(r[:, 0], r[:, 1]), _ratio_ci(r[:, 2], r[:, 3])
        print(f"  {k:<44} all neurons {100 * e:5.2f}% ({100 * lo:.2f}-{100 * hi:.2f})   "
              f"output layer {100 * eo:5.2f}% ({100 * loo:.2f}-{100 * hio:.2f})")


def _ratio_ci(err: np.ndarray, tot: np.ndarray) -> tuple[float, float, float]:
    """Σ err / Σ tot, with `nmpkit.studies.stats.ratio_interval`'s paired 95% BCa interval over
    images (a ratio of means is the ratio of sums; NaN for one image)."""
    from nmpkit.studies.stats import ratio_interval

    if err.size < 2:
        return float(err.sum() / tot.sum()), float("nan"), float("nan")
    ci = ratio_interval(err, tot)
    return ci.estimate, ci.ci_low, ci.ci_high


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("--images", type=int, nargs="+", default=[0])
    r.add_argument("--v-neg", type=float, default=0.0)
    r.add_argument("--calibration", default="results/calibration/calibration-default.json")
    z = sub.add_parser("analyse")
    z.add_argument("files", nargs="+")
    z.add_argument("--v-init", type=float, nargs="*", default=[0.0])
    for p in (r, z):
        p.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    (run if a.cmd == "run" else analyse)(a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
