"""What makes ZMP hurt: one factor at a time around a small all-conv net on Fashion-MNIST.

    flock /work/heavy.lock .venv/bin/python results/what_makes_zmp_hurt.py [RUN_DIR]
        [--images N] [--only NAME,...] [--report-only]

Per network (``NETS``; resumable: every step's file in RUN_DIR/NAME/ is kept and skipped when
present): train (`nmpkit.ml.train.train`, weights + sidecar), convert (`cosim.convert`, the
first 1,000 training images for normalization), simulate NMP and ZMP (ideal IF, reset by
subtraction) to T = 300 on the first N test images (one run gives T = 100 and 300), the short-T
diagnostics (T = 32 on 256 test images: discarded charge per neuron per step, fraction at the
floor, rates), and the rule's drive statistics (`nmpkit.studies.zmp_rule.layer_drive` on 512
training images). Then it fits the rule on the networks marked "fit", tests it on those marked
"test", rewrites nmpkit/studies/zmp_rule_fit.py with the fitted line and writes
results/what_makes_zmp_hurt.md (`zmp_rule_report`). Default RUN_DIR: results/what_makes_zmp_hurt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cosim  # noqa: E402
from calib.io import atomic_write_json, atomic_write_npz, provenance  # noqa: E402
from nmpkit.ml.architectures import small_allconv  # noqa: E402
from nmpkit.ml.data import load_dataset, to_tensor  # noqa: E402
from nmpkit.ml.recipe import Recipe  # noqa: E402
from nmpkit.ml.train import TrainConfig, load_weights, train  # noqa: E402
from nmpkit.ml.zoo import NetworkSpec, get_network  # noqa: E402
from nmpkit.studies import stats  # noqa: E402
from nmpkit.studies.zmp_rule import KAPPA_GRID, layer_drive, surrogate_loss, zmp_score  # noqa: E402,E501

DATA = "/usr/share/datasets/fashion-mnist"
T_LONG, T_SHORT, T_REPORT = 300, 32, (100, 300)
DIAG_IMAGES, DRIVE_IMAGES, CALIB_IMAGES = 256, 512, 1000
BASE = dict(depth=4, width=16, batchnorm=True, dropout=0.0, weight_decay=1e-4, train_n=25600,
            epochs=1, lr=5e-3, batch_size=64, percentile=99.99, encoding="current", seed=0)
# name: (factor, changes from BASE, role). Roles fixed before any network ran: the rule is
# fitted on the architecture/regularization factors and tested on everything else.
NETS: dict[str, tuple[str, dict, str]] = {
    "base": ("base", {}, "fit"),
    "p99.9": ("percentile", dict(percentile=99.9), "test"),
    "p100": ("percentile", dict(percentile=100.0), "test"),
    "poisson": ("input coding", dict(encoding="poisson"), "test"),
    "allconv28": ("shipped net (zoo allconv28, 32/64 ch, 4 epochs on 60k)", {}, "test"),
    "depth2": ("depth", dict(depth=2), "fit"),
    "depth7": ("depth", dict(depth=7), "fit"),
    "nobn": ("BatchNorm", dict(batchnorm=False), "fit"),
    "dropout": ("dropout", dict(dropout=0.3), "fit"),
    "wd0": ("weight decay", dict(weight_decay=0.0), "fit"),
    "wd1e-3": ("weight decay", dict(weight_decay=1e-3), "fit"),
    "depth10": ("depth", dict(depth=10), "fit"),
    "seed1": ("seed", dict(seed=1), "test"),
    "short": ("training length", dict(train_n=6400), "test"),
    "width8": ("width", dict(width=8), "test"),
    "depth7-nobn": ("depth × BatchNorm", dict(depth=7, batchnorm=False), "test"),
    "seed2": ("seed", dict(seed=2), "test"),
    "width32": ("width", dict(width=32), "test"),
    "long": ("training length", dict(epochs=4), "test"),
}
DISPLAY = ("base depth2 depth7 depth10 nobn depth7-nobn dropout wd0 wd1e-3 short long width8 "
           "width32 seed1 seed2 p99.9 p100 poisson allconv28").split()  # the report's order
SHIPPED = {"allconv28": ROOT / "nmpkit" / "weights" / "allconv28_fashion.pt"}
TRAIN_KEYS = ("depth", "width", "batchnorm", "dropout", "weight_decay", "train_n", "epochs",
              "lr", "batch_size", "seed")


def settings(name: str) -> dict:
    return BASE | NETS[name][1]


def spec_for(s: dict) -> NetworkSpec:
    tag = "-".join(f"{k}={s[k]}" for k in TRAIN_KEYS)
    return NetworkSpec(
        name=f"small_allconv[{tag}]",
        build=partial(small_allconv, s["depth"], s["width"], s["batchnorm"], s["dropout"]),
        task="classify", datasets=("fashion-mnist",), input_shape=(1, 28, 28), mean=(0.0,),
        std=(1.0,), recipe=Recipe(optimizer="adam", lr=s["lr"], weight_decay=s["weight_decay"],
                                  batch_size=s["batch_size"], epochs=s["epochs"], schedule="cosine",
                                  seed=s["seed"]))


def weights_for(run: Path, name: str, data, log) -> tuple[NetworkSpec, Path]:
    """Train (or reuse) the network; nets differing only in conversion share the base weights."""
    if name in SHIPPED:
        return get_network(name), SHIPPED[name]
    s = settings(name)
    spec = spec_for(s)
    key = spec.name.replace("small_allconv[", "").rstrip("]").replace("=", "")
    path = run / "weights" / f"{key}.pt"
    if not path.is_file():
        t0 = time.monotonic()
        train(spec, data, path, TrainConfig(epochs=s["epochs"], seed=s["seed"],
                                            train_limit=s["train_n"], checkpoint_seconds=30.0,
                                            resume=True,
                                            command_line=" ".join(sys.argv)))
        path.with_name(path.name + ".ckpt").unlink(missing_ok=True)
        log(f"{name}: trained in {time.monotonic() - t0:.0f} s")
    return spec, path


def correct_at(res: cosim.SimulationResult, labels: torch.Tensor, ts: tuple[int, ...]
               ) -> dict[int, np.ndarray]:
    cum = res.output_spikes.to(torch.int32).cumsum(0)
    return {t: (cum[t - 1].argmax(-1) == labels).numpy() for t in ts}


def simulate(net, x, bound, T, encoding, record_floor, seed=0):
    gen = torch.Generator().manual_seed(seed) if encoding == "poisson" else None
    return cosim.simulate(net, x, timesteps=T, lower_bound=bound, encoding=encoding,
                          generator=gen, record_floor=record_floor)


def surrogate(run: Path, name: str, data) -> None:
    """The rule's diffusion surrogate on 512 labelled training images, for every κ of the grid
    (the fit picks one on the fit nets; ``name``/surrogate.json)."""
    out = run / name / "surrogate.json"
    if out.is_file():
        return
    s = settings(name)
    spec, wpath = weights_for(run, name, data, print)
    x_cal = to_tensor(data.x_train[:CALIB_IMAGES], (0.0,), (1.0,))
    net = cosim.convert(load_weights(spec, wpath), x_cal, percentile=s["percentile"])
    y = torch.from_numpy(data.y_train[:DRIVE_IMAGES]).long()
    losses = [surrogate_loss(net, x_cal[:DRIVE_IMAGES], y, k, s["encoding"]) for k in KAPPA_GRID]
    atomic_write_json(out, dict(kappa=list(KAPPA_GRID), loss=losses, images=DRIVE_IMAGES,
                                provenance=provenance(command=" ".join(sys.argv))))


def evaluate(run: Path, name: str, data, n_images: int, log) -> dict:
    out = run / name / "record.json"
    if out.is_file():
        surrogate(run, name, data)
        return json.loads(out.read_text())
    s = settings(name)
    spec, wpath = weights_for(run, name, data, log)
    model = load_weights(spec, wpath)
    x_cal = to_tensor(data.x_train[:CALIB_IMAGES], (0.0,), (1.0,))
    x = to_tensor(data.x_test[:n_images], (0.0,), (1.0,))
    y = torch.from_numpy(data.y_test[:n_images]).long()
    with torch.no_grad():
        ann_correct = (model(x).argmax(1) == y).numpy()
    net = cosim.convert(model, x_cal, percentile=s["percentile"])
    t0 = time.monotonic()
    sims, corr = {}, {}
    for cond, bound in (("nmp", None), ("zmp", 0.0)):
        part = run / name / f"{cond}.npz"
        if not part.is_file():
            res = simulate(net, x, bound, T_LONG, s["encoding"], bound is not None)
            c = correct_at(res, y, T_REPORT)
            extra = dict(floor_charge=np.array(res.floor_charge),
                         floor_hit_fraction=np.array(res.floor_hit_fraction)) if bound == 0 \
                else {}
            arrays = dict(accuracy=res.accuracy_per_step(y).numpy(),
                          layer_rates=np.array(res.layer_rates),
                          **{f"correct_{t}": v for t, v in c.items()}, **extra)
            atomic_write_npz(part, arrays)
        sims[cond] = dict(np.load(part))
        corr[cond] = {t: sims[cond][f"correct_{t}"] for t in T_REPORT}
    sim_s = time.monotonic() - t0
    xd = x[:DIAG_IMAGES]
    short = {}
    for cond, bound in (("nmp", None), ("zmp", 0.0)):
        r = simulate(net, xd, bound, T_SHORT, s["encoding"], True)
        short[cond] = dict(layer_rates=list(r.layer_rates), floor_charge=list(r.floor_charge),
                           floor_hit_fraction=list(r.floor_hit_fraction),
                           accuracy=float(r.accuracy_per_step(y[:DIAG_IMAGES])[-1]))
    drive = layer_drive(net, x_cal[:DRIVE_IMAGES], s["encoding"])
    train_meta = json.loads(wpath.with_suffix(".json").read_text())
    rec = dict(
        name=name, factor=NETS[name][0], role=NETS[name][2],
        settings=s if name not in SHIPPED else {k: s[k] for k in ("percentile", "encoding")},
        weights=str(wpath), layers=[ly.name for ly in net.layers],
        layer_sizes=[ly.size for ly in net.layers],
        ann_full_test=train_meta.get("history", [{}])[-1].get("test_accuracy"),
        ann=stats.accuracy(ann_correct).as_dict(),
        accuracy={c: {str(t): stats.accuracy(corr[c][t]).as_dict() for t in T_REPORT}
                  for c in corr},
        nmp_minus_zmp={str(t): stats.compare(corr["nmp"][t], corr["zmp"][t]).as_dict()
                       for t in T_REPORT},
        accuracy_per_step={c: sims[c]["accuracy"].tolist() for c in sims},
        long_run=dict(nmp_rates=sims["nmp"]["layer_rates"].tolist(),
                      zmp_rates=sims["zmp"]["layer_rates"].tolist(),
                      zmp_floor_charge=sims["zmp"]["floor_charge"].tolist(),
                      zmp_floor_hit_fraction=sims["zmp"]["floor_hit_fraction"].tolist()),
        short_run=dict(timesteps=T_SHORT, images=int(xd.shape[0]), **short),
        drive=[d.as_dict() for d in drive], score=zmp_score(drive),
        images=n_images, simulate_seconds=round(sim_s, 1),
        provenance=provenance(command=" ".join(sys.argv), dataset=data.source))
    atomic_write_json(out, rec)
    surrogate(run, name, data)
    d = rec["nmp_minus_zmp"]["300"]
    log(f"{name}: ANN {rec['ann']['estimate']:.4f} NMP−ZMP@300 {100 * d['difference']:+.2f} %p "
        f"({100 * d['ci_low']:+.2f}…{100 * d['ci_high']:+.2f}) score {rec['score']:.3f} "
        f"[{sim_s:.0f} s]")
    return rec


FINDINGS = """## Findings (T = 300, 1,000 test images per net; full tables below)

- **Seed noise is large**: the base recipe with seeds 0/1/2 loses 12.2 / 17.2 / 9.2 %p (CIs
  9.6–14.8, 14.4–20.0, 6.9–11.5). A factor counts only where it moves the loss well beyond that.
- **BatchNorm is the strongest switch**: without it the base net loses −0.3 %p (CI −1.7…+1.1) and
  the 7-conv net +0.2 %p (−0.8…+1.2), against 12.2 and 3.9 %p with it.
- **Training longer hurts more**: 6,400 images 4.0 %p (ANN 67.9%), 25,600 images 12.2 %p (77.3%),
  4 epochs 44.6 %p (CI 41.2–47.8; ANN 86.3%, NMP 85.4%, ZMP 40.8%).
- **Narrow nets hurt more**: width 8 / 16 / 32 lose 40.8 / 12.2 / 6.8 %p.
- **Depth is not monotone here**: 2 / 4 / 7 / 10 convs lose 3.7 / 12.2 / 3.9 / 1.2 %p (ANN 41 / 77
  / 84 / 84%). Depth alone does not make the floor matter (results/default_networks.md reads its
  depth contrast that way; there depth, width, BatchNorm and dropout all changed at once).
- Dropout 0.3 after the strided convs: 1.4 %p (−0.2…+3.0). Weight decay 0 / 1e-4 / 1e-3:
  11.5 / 12.2 / 17.2 %p (within the seed spread). Percentile 99.9 / 99.99 / 100: 9.3 / 12.2 /
  13.7 %p (same weights). Poisson input instead of constant current: 27.7 %p (the first layer
  then gets noisy input too). The shipped allconv28: 6.2 %p (CI 4.4–8.1; results/default_networks.md
  has 6.05 %p at T = 200 on 2,000 images).
- **The balance of excitation and inhibition does not predict it**: the cancelled drive
  Σ min(P, N) / rate (`zmp_score`) is about the same in nets that lose 0 and
  45 %p (Pearson r = −0.04 on the fit nets); neither does depth, the discarded charge at short T
  nor the fraction of excited-but-negative neurons (table "candidates").
- **What does is the input's variance**: the floor turns membrane fluctuations below 0 into
  spurious spikes, so what matters is how large each neuron's input noise is relative to θ —
  large single weights (BatchNorm folding, long training, few channels) and noisy input spikes
  (Poisson). The diffusion surrogate (`nmpkit.studies.zmp_rule`) models exactly that, without
  simulating spikes.
- **The rule, tested out of sample** (T = 300; κ = 0.48 fitted on base, depth2/7/10, nobn,
  dropout, wd0, wd1e-3; tested on the 11 others, which include a different training length,
  width, seed, percentile, input coding, the depth × BatchNorm interaction and the shipped
  allconv28): Spearman ρ = 0.96 between predicted and measured loss, mean absolute error
  3.5 %p, the prediction inside the measured 95% CI for 6 of 11 (allconv28: predicted 6.1 %p,
  measured 6.2 %p, CI 4.4–8.1). It ranks the nets right but overshoots the worst one (long:
  64.6 predicted, 44.6 measured). At T = 100: ρ = 0.93, error 4.8 %p. A user checks it with
  `nmpkit.studies.zmp_rule.predict_zmp_loss(cosim.convert(model, x_cal), x, y)` on a few
  labelled batches (512 images here; the whole 19-net × 13-κ grid took 47 s on 2 cores),
  before any spike is simulated.
"""  # written after the run, from the tables below

HEADER = """# What makes ZMP hurt (issue 11 §1): one factor at a time, and a rule to check first

Setup. Fashion-MNIST (Debian's `/usr/share/datasets/fashion-mnist`). Base net `small_allconv`
(`nmpkit.ml.zoo`): 16C3(2)-16C3-32C3(2)-10C1-GAP, BatchNorm after each hidden conv (folded by
`cosim.convert`), no dropout; Adam 5e-3, L2 1e-4, cosine, batch 64, one epoch on the first 25,600
training images, seed 0. One factor changes per net (table below; `depthN` = N convolutions; the
percentile and Poisson nets reuse the base weights). Conversion: `cosim.convert`, the given
percentile (base 99.99) of each layer's activations on the first 1,000 training images. Simulation:
`cosim.simulate`, ideal IF (threshold 1, reset by subtraction), constant-current input (Poisson
for `poisson`, seed 0), NMP (no floor) and ZMP (floor 0) on the same test images; one 300-step run
gives T = 100 and T = 300. Diagnostics at short T: T = 32 on the first 256 test images. The rule's
statistic is computed from the converted weights and 512 training images only.
`allconv28` is the zoo's shipped 7-conv net (results/default_networks.md), a held-out net trained
with a different recipe and width.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", nargs="?", default=str(ROOT / "results" / "what_makes_zmp_hurt"))
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--only", default="", help="comma-separated network names (default all)")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    run = Path(args.run_dir)
    names = [n for n in args.only.split(",") if n] or list(NETS)
    bad = [n for n in names if n not in NETS]
    if bad:
        ap.error(f"--only: unknown network(s) {bad}; choose from {', '.join(NETS)}")
    torch.set_num_threads(2)
    if not args.report_only:
        data = load_dataset("fashion-mnist", DATA)
        for n in names:
            evaluate(run, n, data, args.images, lambda m: print(m, flush=True))
    from nmpkit.studies.zmp_rule_report import write_report

    recs = [json.loads(p.read_text()) | {"surrogate": json.loads((p.parent / "surrogate.json")
                                                                 .read_text())}
            for n in DISPLAY if (p := run / n / "record.json").is_file()
            and (p.parent / "surrogate.json").is_file()]
    write_report(recs, run, ROOT / "results" / "what_makes_zmp_hurt.md",
                 ROOT / "nmpkit" / "studies" / "zmp_rule_fit.py", header=HEADER,
                 findings=FINDINGS)


if __name__ == "__main__":
    main()
