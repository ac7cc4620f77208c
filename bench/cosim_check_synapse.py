"""What the co-simulation check's output layer still misses (issue 9): each output neuron alone in
ngspice, fed the circuit's own hidden spikes, against a continuous-time clamped integrator fed the
same charge pulses.

    flock /work/heavy.lock python bench/cosim_check_synapse.py \\
        results/calibration/cosim_check/replay_vneg0_images0-9.json \\
        --variant '{}' --variant '{"w_inh_meters": 5e-7}' --out OUT.json [--figure F.png]

For every image saved by ``bench/cosim_check_replay.py run`` and every output neuron:

* ``network``: the count of the whole-network circuit run (the file's);
* ``replay``: `circuits.spice_replay.replay_neuron` — the same neuron (the calibration's design,
  with a ``--variant``'s parameters on top), its synapses pulsed at the hidden layer's recorded
  spike times (rectangles of the measured gate width carrying |w|·q each), the bias as a current;
* ``clamped``: the ideal the step model stands for, in continuous time: the same rectangles and
  bias into v' = I(t), v ≥ floor (the calibration's floor at the file's V_NEG), v ≥ 1 → v − 1, on
  a grid of dt/2000.

Errors are pooled, Σ|a − b| / Σ b over the output neurons, with a 95% BCa bootstrap interval
over images (`nmpkit.studies.stats.ratio_interval`, the images resampled with their neurons).
``replay`` vs ``network`` says how well the replay testbench stands for the network; ``replay``
vs ``clamped`` is what the circuit's synapses and floor do that an instantaneous clamped
integrator does not.
``--grid`` tries two changes to the integrator (inhibition through a first-order filter, a soft
floor), in-sample on the same neurons; ``--reuse`` takes an earlier run's replays (no ngspice).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

T = 60
GRID = 2000  # sub-steps per step of the continuous-time reference


def _load(path: str, data_root: str):
    """The replay run, its calibration, the output layer's (w, b), the check's linear layers and
    calibrated neurons (`cosim_check_replay._setup`, which trains the check's network: once)."""
    from cosim_check_replay import _setup

    rec = json.loads(Path(path).read_text())
    cal, _, _, _, layers, neurons = _setup(rec["calibration"], data_root, rec["v_neg"])
    w, b = (np.asarray(v, dtype=float) for v in layers[1])
    return rec, cal, w, b, layers, neurons


def clamped(w: np.ndarray, b: np.ndarray, hidden_times, dt: float, gate: float,
            floor: float, *, tau_inh: float = 0.0, soft: float = 0.0,
            grid: int = GRID, trace: bool = False):
    """Counts of the continuous-time clamped integrator (all output neurons at once).

    ``tau_inh`` (steps): the inhibitory input through a first-order filter of that time constant;
    ``soft`` (θ): the inhibitory current scaled by min(1, (v − floor) / soft) (a mirror in triode
    near its floor). Both 0: the ideal the step model stands for. ``trace``: also the membrane
    after every grid point, (neurons, T · grid).
    """
    n = T * grid
    kw = max(1, round(gate / dt * grid))
    drive = np.zeros((w.shape[1], n))
    for j, ts in enumerate(hidden_times):
        for t in ts:
            k0 = int(t / dt * grid)
            drive[j, k0:k0 + kw] += 1.0 / kw
    exc = np.clip(w, 0, None) @ drive + (b / grid)[:, None]
    inh = np.clip(w, None, 0) @ drive
    if tau_inh > 0:
        a, acc = np.exp(-1.0 / (tau_inh * grid)), np.zeros(w.shape[0])
        for k in range(n):
            acc = a * acc + (1 - a) * inh[:, k]
            inh[:, k] = acc
    v = np.full(w.shape[0], float(floor))
    c = np.zeros(w.shape[0], dtype=int)
    vs = np.empty((w.shape[0], n)) if trace else None
    for k in range(n):
        g = np.minimum(1.0, (v - floor) / soft) if soft > 0 else 1.0
        v = np.maximum(v + exc[:, k] + g * inh[:, k], floor)
        s = v >= 1.0
        c += s
        v = v - s
        if vs is not None:
            vs[:, k] = v
    return (c, vs) if trace else c


def _replay_one(args) -> int:
    from circuits.spice_replay import replay_neuron

    design, v_neg, cal_d, times, w_row, bias, gate = args
    design = dict(design)
    prebias = float(design.pop("prebias_amps", 0.0))  # not a subcircuit parameter
    return replay_neuron(design, prebias_amps=prebias, v_dd_volts=cal_d["v_dd"], v_neg_volts=v_neg,
                         spike_times=times, weights=w_row, bias=bias,
                         i_unit_amps=cal_d["i_unit"], dt_seconds=cal_d["dt"], timesteps=T,
                         gate_seconds=gate, v_init_volts=cal_d["rest"]).count


def pooled(a: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    """Σ|a − ref| / Σ ref over (images × neurons), with a 95% BCa interval over images."""
    from cosim_check_replay import _ratio_ci

    return _ratio_ci(np.abs(a - ref).sum(axis=1), ref.sum(axis=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", help="a bench/cosim_check_replay.py run's JSON")
    ap.add_argument("--variant", action="append", default=None,
                    help="JSON object of subcircuit parameters on top of the calibration's "
                         "design, plus optionally prebias_amps (replay_neuron's emulated "
                         "pre-bias; repeatable; default: the design itself)")
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--figure", help="PNG: image 1's output neuron 8, replay vs clamped")
    ap.add_argument("--reuse", help="an earlier --out: take its replays instead of running ngspice")
    ap.add_argument("--grid", action="store_true",
                    help="also the clamped integrator with a filtered (tau_inh 0 / 0.1 / 0.2 dt) "
                         "and soft-floored (0 / 0.05 / 0.1 / 0.2 / 0.4 θ) inhibition, vs the "
                         "network and the first variant's replay (dt/500 grid)")
    a = ap.parse_args()
    variants = [json.loads(v) for v in (a.variant or ["{}"])]
    for v in variants:
        if not isinstance(v, dict) or not all(isinstance(x, (int, float)) for x in v.values()):
            raise SystemExit(f"--variant must be a JSON object of numbers, got {v!r}")
    rec, cal, w, b, _, _ = _load(a.file, a.data_root)
    v_neg, gate = float(rec["v_neg"]), float(rec["gate_seconds"])
    design = dict(cal.sources["fi"]["provenance"]["design"])
    floor = float(cal.floor_theta(v_neg))
    cal_d = {"v_dd": cal.v_dd_volts, "i_unit": cal.i_unit_amps, "dt": cal.dt_seconds,
             "rest": cal.rest_at(v_neg)}
    images = rec["images"]
    network = np.array([im["counts"][1] for im in images])
    ref = np.array([clamped(w, b, im["spike_times"][0], cal.dt_seconds, gate, floor)
                    for im in images])
    out = {"file": a.file, "v_neg": v_neg, "floor_theta": floor, "gate_seconds": gate,
           "images": [im["image"] for im in images], "network": network.tolist(),
           "clamped": ref.tolist(), "variants": []}
    est, lo, hi = pooled(network, ref)
    print(f"V_NEG {v_neg} V, {len(images)} images x {w.shape[0]} output neurons, T = {T}")
    print(f"  network circuit vs clamped integrator: {100 * est:.2f}% "
          f"({100 * lo:.2f}-{100 * hi:.2f})")
    old = json.loads(Path(a.reuse).read_text())["variants"] if a.reuse else []
    for v in variants:
        t0 = time.time()
        prev = [r for r in old if r["variant"] == v]
        if prev:
            rep, secs = np.array(prev[0]["replay"]), prev[0]["seconds"]
        else:
            jobs = [({**design, **v}, v_neg, cal_d, im["spike_times"][0], w[k], float(b[k]),
                     gate) for im in images for k in range(w.shape[0])]
            with ProcessPoolExecutor(a.workers) as ex:
                rep = np.array(list(ex.map(_replay_one, jobs))).reshape(network.shape)
            secs = time.time() - t0
        row = {"variant": v, "replay": rep.tolist(), "seconds": secs,
               "replay_vs_network": pooled(rep, network),
               "replay_vs_clamped": pooled(rep, ref)}
        out["variants"].append(row)
        (e1, l1, h1), (e2, l2, h2) = row["replay_vs_network"], row["replay_vs_clamped"]
        print(f"  replay {json.dumps(v)}: vs network {100 * e1:.2f}% ({100 * l1:.2f}-"
              f"{100 * h1:.2f}), vs clamped {100 * e2:.2f}% ({100 * l2:.2f}-{100 * h2:.2f}); "
              f"{row['seconds']:.0f} s")
    if a.grid:
        rep0 = np.array(out["variants"][0]["replay"])
        out["grid"] = []
        for tau in (0.0, 0.1, 0.2):
            for soft in (0.0, 0.05, 0.1, 0.2, 0.4):
                m = np.array([clamped(w, b, im["spike_times"][0], cal.dt_seconds, gate, floor,
                                      tau_inh=tau, soft=soft, grid=500) for im in images])
                g = {"tau_inh_steps": tau, "soft_floor_theta": soft, "counts": m.tolist(),
                     "vs_network": pooled(m, network), "vs_replay": pooled(m, rep0)}
                out["grid"].append(g)
                (e1, l1, h1), (e2, _, _) = g["vs_network"], g["vs_replay"]
                print(f"  clamped, inhibition filtered {tau:g} dt, soft floor {soft:g} θ: vs "
                      f"network {100 * e1:.2f}% ({100 * l1:.2f}-{100 * h1:.2f}), vs replay "
                      f"{100 * e2:.2f}%", flush=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    if a.figure:
        _figure(a.figure, images, w, b, cal, cal_d, design, v_neg, gate, floor)
    return 0


def _figure(path, images, w, b, cal, cal_d, design, v_neg, gate, floor) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from circuits.spice_replay import replay_neuron

    im = next((x for x in images if x["image"] == 1), images[0])
    k = 8
    r = replay_neuron(design, v_dd_volts=cal_d["v_dd"], v_neg_volts=v_neg,
                      spike_times=im["spike_times"][0], weights=w[k], bias=float(b[k]),
                      i_unit_amps=cal_d["i_unit"], dt_seconds=cal_d["dt"], timesteps=T,
                      gate_seconds=gate, v_init_volts=cal_d["rest"])
    dt = cal.dt_seconds
    count, vs = clamped(w[k:k + 1], b[k:k + 1], im["spike_times"][0], dt, gate, floor,
                        trace=True)
    vs = vs[0]
    tg = np.arange(vs.size) / GRID
    fig, axes = plt.subplots(3, 1, figsize=(12, 7), sharey=True)
    for ax, (lo, hi) in zip(axes, [(0, 20), (20, 40), (40, 60)]):
        s = slice(lo * GRID, hi * GRID)
        ax.plot(tg[s], vs[s], lw=0.9, label="clamped integrator (θ)")
        m = (r.time / dt >= lo) & (r.time / dt < hi)
        ax.plot(r.time[m] / dt, (r.v_mem[m] - cal_d["rest"]) / cal.theta_at(v_neg), lw=0.9,
                label="circuit membrane − rest (θ)")
        ax.axhline(0, color="k", lw=0.3)
        ax.set_ylim(-0.3, 1.2)
    axes[0].legend(fontsize=8, loc="upper right")
    axes[0].set_title(f"image {im['image']}, output neuron {k}, V_NEG {v_neg} V: circuit "
                      f"{r.count} spikes, clamped integrator {int(count[0])}")
    axes[-1].set_xlabel("t / dt")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    raise SystemExit(main())
