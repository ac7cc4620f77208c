"""results/ pages from `nmpkit layers` / `optimize` / `tradeoff` outputs.

    python results/answer_md.py layers OUT_MNIST OUT_ALLCONV28 ...   # each an `nmpkit layers --out`
    python results/answer_md.py optimize OUT [--name optimize_cifar10]  # an `nmpkit optimize --out`
    python results/answer_md.py tradeoff OUT [--name tradeoff_mnist_1000] [--intro TEXT]

Copies the JSON and CSV of each run beside the page (results/layers/<network>/,
results/optimize/ or results/NAME/) and writes the page from them: nothing in the tables is typed
by hand (a run folder that already is that folder is read in place). The trade-off page
(results/answer_tradeoff.py) rebuilds its command from the run's own record (``tradeoff.json``'s
``config``: the values of every option); ``--command`` overrides it (repeatable, one line each)
for every kind, the layers and optimize pages defaulting to the commands that made the pages in
results/. ``python results/answer_md.py KIND --help`` lists the options.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the sibling page modules, also when loaded by file path (tests)
    sys.path.insert(0, str(HERE))

from answer_tradeoff import EXTRAPOLATION, tradeoff_command, tradeoff_page  # noqa: E402


def _copy(src: Path, dest: Path) -> None:
    """``src`` into ``dest`` unless it already is that file (results/layers/<net> as an OUT)."""
    if not (dest.exists() and src.resolve() == dest.resolve()):
        shutil.copyfile(src, dest)


def _pct(p: dict) -> str:
    return (f"{100 * p['estimate']:.2f}% (95% CI {100 * p['ci_low']:.2f}–{100 * p['ci_high']:.2f}"
            f"%, n = {p['n']:,})")


def _drop(c: dict) -> str:
    return (f"{100 * c['difference']:+.2f} %p (95% CI {100 * c['ci_low']:+.2f} to "
            f"{100 * c['ci_high']:+.2f} %p; flips {c['a_only']}/{c['b_only']}, "
            f"McNemar p = {c['p_value']:.2g})")


OPTIMIZE_COMMAND = (
    "python -m nmpkit optimize --network mnist --weights nmpkit/weights/mnist.pt --dataset mnist "
    "--data-root /work/shared/datasets/mnist.npz --limit 1000 --timesteps 100 --n-trials 18 "
    "--startup-trials 4 --seed 0 --workers 2 --threads 2 --out OUT")
OPTIMIZE_NOTE = ("under `flock /work/heavy.lock` on 2 cores, 7 min 26 s wall for 18 trials from an "
                 "empty study, its SPICE points from the previous run's content-addressed cache "
                 "(1,015 of 1,070 cached; 775 s user CPU, peak RSS 1.0 GB; ngspice on 2 worker "
                 "processes); from an empty cache the same study took 35 min 0 s at 2889f18, "
                 "then with the engine on one thread (fixed in 573a3a0); rerunning continues the "
                 "study in OUT/optuna.db. Since 91e0692 a design's θ of membrane takes its mirror "
                 "ratio out of the f–I's input charge: the floors in θ of designs with a ratio "
                 "≠ 1 changed (the best design's from -1.48 to -0.58 θ), energies and accuracies "
                 "did not, and the two study designs refused before as 'floor above rest' are "
                 "evaluated")


def layers_section(out: Path) -> str:
    d = json.loads((out / "layers.json").read_text())
    net = d["network"]
    dest = HERE / "layers" / net
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("layers.json", "layers.csv"):
        _copy(out / f, dest / f)
    levels = ", ".join(f"{lv['floor_theta']:.2f} θ ({lv['v_neg_volts']:g} V)"
                       for lv in d["levels"])
    lines = [f"## {net} ({d['dataset']}, {d['samples']:,} test images, T = {d['timesteps']}, "
             f"V_DD {d['v_dd_volts']:g} V)", "",
             f"Levels: {levels}; "
             f"tolerance {100 * d['tolerance']:g} %p; energy: {d['energy_model']}; "
             f"{d['simulations']} simulations ({d['simulations_restored']} restored), "
             f"{d['passes']} pass(es).", "",
             f"NMP: {_pct(d['nmp']['accuracy'])}.", "", f"**{d['text']}**", ""]
    if d.get("allocation"):
        lines += ["| group | layers | floor | V_NEG | can live at ZMP alone "
                  "| ZMP alone: drop vs NMP "
                  "| energy (nJ) | V_NEG share (nJ) |", "|---|---|---|---|---|---|---|---|"]
        for g in d["allocation"]["groups"]:
            lines.append(f"| {g['name']} | {', '.join(g['layers'])} | {g['floor_theta']:.2f} θ | "
                         f"{g['v_neg_volts']:g} V | {'yes' if g['can_live_at_zmp'] else 'no'} | "
                         f"{_drop(g['zmp_alone_vs_nmp'])} | {1e9 * g['energy_joules']:.4g} | "
                         f"{1e9 * g['vneg_energy_joules']:.4g} |")
        lines.append("")
    rows = [("ZMP everywhere", d["zmp"]), ("best global floor", d.get("global_floor")),
            ("per-layer allocation", d.get("allocation"))]
    lines += ["| configuration | accuracy | drop vs NMP | energy per inference (nJ) |",
              "|---|---|---|---|"]
    for label, c in rows:
        if c:
            lines.append(f"| {label} | {_pct(c['accuracy'])} | {_drop(c['vs_nmp'])} | "
                         f"{1e9 * c['energy_joules']:.5g} |")
    csv = pd.read_csv(out / "layers.csv")
    z = csv[csv["config"] == "zmp"]
    if not z.empty:
        lines += ["", "Diagnostic at ZMP everywhere (`layers.csv`): discarded charge ε (θ per "
                  "neuron per step) / fraction of neurons at the floor per layer: "
                  + ", ".join(f"{r.layer}: {r.discarded_theta_per_neuron_step:.3g} / "
                              f"{r.hit_fraction:.3g}" for r in z.itertuples()) + "."]
    p = d["provenance"]
    lines += ["", f"Provenance: `{p['command']}`, git {p['git_revision'][:12]}, "
              f"{p['created_utc']}, calibration `{p['calibration']}`, weights "
              f"`{p['weights']}` (sha256 {p['weights_sha256'][:12]}…), data `{p['data_source']}`."
              f" Files: `results/layers/{net}/`.", ""]
    return "\n".join(lines)


def spread_lines(df: pd.DataFrame, samples: int) -> list[str]:
    """One line on how far apart the evaluated designs' accuracies lie: where they are all within
    a few images, the accuracy constraint does not bind and energy alone orders the designs."""
    ev = df[df["accuracy"].notna()]
    if ev.empty:
        return []
    lo, hi = float(ev["accuracy"].min()), float(ev["accuracy"].max())
    flo, fhi = float(ev["floor_theta"].min()), float(ev["floor_theta"].max())
    line = (f"- the {len(ev)} evaluated designs score {100 * lo:.2f}–{100 * hi:.2f}% on the same "
            f"{samples:,} images (floors {flo:.2f} to {fhi:.2f} θ), "
            f"{(apart := round((hi - lo) * samples))} image(s) apart")
    if apart <= 2:
        line += (": on this network and T no floor reached costs accuracy, so the accuracy "
                 "constraint does not bind and energy alone orders the designs")
    return [line + "."]


def optimize_page(out: Path, commands: list[str] | None = None,
                  note: str = OPTIMIZE_NOTE, name: str = "optimize") -> str:
    from nmpkit.studies import tradeoff_presets as tp

    d = json.loads((out / "optimize.json").read_text())
    dest = HERE / name
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("optimize.json", "optimize.csv"):
        _copy(out / f, dest / f)
    df = pd.read_csv(out / "optimize.csv")
    presets = tp.sentences(tp.cheapest(tp.from_optimize(df, d["timesteps"])))
    rule, best = d["rule"], d.get("best_at_rule_accuracy") or d.get("best")
    c = d["classifier"]
    lines = ["# The optimizer's front vs the study's −2 θ rule", "",
             f"`{c['network']}` on {c['dataset']} ({d['samples']:,} test images, T = "
             f"{d['timesteps']}), {d['n_trials']} trials in study `{d['study_name']}`.", "",
             f"Made with ({note}):", "",
             "```", *(commands or [OPTIMIZE_COMMAND]),
             "python results/answer_md.py optimize OUT", "```", "",
             "```", d["text"], "```", "",
             f"- −2 θ rule: {_pct(rule['accuracy'])}, {1e9 * rule['energy_joules']:.4g} nJ per "
             f"inference (V_NEG {rule['design']['v_neg_volts']:.4g} V at V_DD "
             f"{rule['design']['v_dd_volts']:g} V).", ]
    if best:
        save = 100 * (1 - best["energy_joules"] / rule["energy_joules"])
        lines.append(f"- best design at the rule's accuracy requirement: "
                     f"{best['design']['topology']} V_DD {best['design']['v_dd_volts']:.3g} V, "
                     f"V_NEG {best['design']['v_neg_volts']:.3g} V: {_pct(best['accuracy'])}, "
                     f"{1e9 * best['energy_joules']:.4g} nJ: **{save:.1f}% less energy** than "
                     f"the rule.")
    lines += [f"- SPICE: {json.dumps(d['spice'])}.", *spread_lines(df, d["samples"]), ""]
    lines += ["## The two presets side by side", ""] + [f"- {s}" for s in presets]
    lines += preset_census(out, d, best) + [""]
    front = df[df.get("pareto", False) == True]  # noqa: E712
    if not front.empty:
        lines += ["## Pareto front (feasible and not)", "",
                  "| trial | preset | V_DD | V_NEG | floor (θ) | accuracy | energy (nJ) | "
                  "feasible |", "|---|---|---|---|---|---|---|---|"]
        for r in front.itertuples():
            lines.append(f"| {r.number} | {r.preset} | {r.v_dd_volts:.3g} | {r.v_neg_volts:.3g} "
                         f"| {r.floor_theta:.2f} | {100 * r.accuracy:.2f}% "
                         f"({100 * r.accuracy_ci_low:.2f}–{100 * r.accuracy_ci_high:.2f}) | "
                         f"{1e9 * r.energy_joules:.4g} | {r.feasible} |")
        lines.append("")
    p = d["provenance"]
    lines += [f"Provenance: `{p['command']}`, git {p['git_revision'][:12]}, {p['created_utc']}, "
              f"weights `{c['weights']}` (sha256 {c['weights_sha256'][:12]}…), data "
              f"`{c['data_source']}`. Files: `results/{name}/`.", ""]
    return "\n".join(lines)


LAYERS_COMMANDS = [
    "python -m nmpkit layers --calibration results/calibration/calibration-default.json "
    "--network mnist --weights nmpkit/weights/mnist.pt --dataset mnist "
    "--data-root /work/shared/datasets/mnist.npz --limit 300 --timesteps 200 --v-neg -1.0 0.0 "
    "--tolerance 0.02 --eta 0.5 --max-passes 2 --out OUT_MNIST",
    "python -m nmpkit layers --calibration results/calibration/calibration-default.json "
    "--network allconv28 --weights nmpkit/weights/allconv28_fashion.pt --dataset fashion-mnist "
    "--data-root /usr/share/datasets/fashion-mnist --limit 300 --timesteps 200 "
    "--v-neg -1.0 0.0 --tolerance 0.02 --eta 0.5 --max-passes 2 --out OUT_ALLCONV28",
    "python -m nmpkit layers --calibration results/calibration/calibration-default.json "
    "--network cifar10 --weights nmpkit/weights/cifar10.pt --dataset cifar10 "
    "--data-root /work/shared/datasets/cifar10.npz --limit 300 --timesteps 100 "
    "--v-neg -1.0 0.0 --tolerance 0.02 --eta 0.5 --max-passes 2 --batch 50 --out OUT_CIFAR10",
    "python results/answer_md.py layers OUT_MNIST OUT_ALLCONV28 OUT_CIFAR10"]


def preset_census(out: Path, d: dict, best: dict | None) -> list[str]:
    """Per preset: trials evaluated / feasible / not characterizable (and why), from the study's
    own storage (optimize.csv leaves the preset of a pruned trial empty)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = optuna.load_study(study_name=d["study_name"], storage=f"sqlite:///{out / 'optuna.db'}")
    per: dict[str, dict[str, int]] = {}
    reasons: dict[str, set[str]] = {}
    for t in st.trials:
        preset = str(t.params.get("preset", "?"))
        rec = t.user_attrs.get("record") or {}
        status = str(rec.get("status", t.state.name))
        per.setdefault(preset, {}).setdefault(status, 0)
        per[preset][status] += 1
        if rec.get("reason"):
            reasons.setdefault(preset, set()).add(str(rec["reason"]).split(",")[0][:90])
    lines = ["- trials per preset: " + "; ".join(
        f"{p}: " + ", ".join(f"{n} {s}" for s, n in sorted(c.items())) for p, c in per.items())]
    for p, rs in reasons.items():
        lines.append(f"- {p}, why not characterizable: " + " | ".join(sorted(rs)))
    rule = d["rule"]
    if best and rule.get("energy_joules"):
        lines.append(
            f"- at T = {d['timesteps']} on the same {d['samples']:,} images: the study neuron's "
            f"evaluated design (the −2 θ rule, {rule['design']['topology']}) costs "
            f"{1e9 * rule['energy_joules']:.4g} nJ at {_pct(rule['accuracy'])}; the cheapest "
            f"feasible {best['design']['topology']} design {1e9 * best['energy_joules']:.4g} nJ "
            f"at {_pct(best['accuracy'])}: {best['design']['topology']} is "
            f"{100 * (1 - best['energy_joules'] / rule['energy_joules']):.1f}% cheaper here.")
    return lines


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="results/answer_md.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="kind", required=True)
    lay = sub.add_parser("layers", help="results/layers.md from `nmpkit layers --out` folders")
    lay.add_argument("outs", nargs="+", type=Path, help="one `nmpkit layers --out` per network")
    opt = sub.add_parser("optimize", help="results/optimize.md from an `nmpkit optimize --out`")
    opt.add_argument("outs", nargs=1, type=Path, help="the `nmpkit optimize --out` folder")
    opt.add_argument("--name", default="optimize",
                     help="page results/NAME.md, files results/NAME/ (default: %(default)s)")
    opt.add_argument("--note", default=OPTIMIZE_NOTE,
                     help="how the run was made (wall time, lock; default: %(default)s)")
    tr = sub.add_parser("tradeoff", help="results/NAME.md from an `nmpkit tradeoff --out`")
    tr.add_argument("outs", nargs=1, type=Path, help="the `nmpkit tradeoff --out` folder")
    tr.add_argument("--name", default="tradeoff_mnist",
                    help="page results/NAME.md, files results/NAME/ (default: %(default)s)")
    tr.add_argument("--intro", default="", help="a paragraph under the title (default: none)")
    tr.add_argument("--extrapolation", default=EXTRAPOLATION,
                    help="the '10,000 images' section ('' = none; default: the 500-image "
                         "page's estimate)")
    for q in (lay, opt, tr):
        q.add_argument("--command", action="append", default=None, dest="commands",
                       help="a command line that made OUT (repeatable; default: "
                            + ("rebuilt from OUT/tradeoff.json's config)" if q is tr else
                               "the commands that made the page in results/)"))
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    from calib.io import atomic_write_text

    args = parse(argv)
    outs = args.outs
    name = getattr(args, "name", "x")
    if not name or name.startswith(".") or any(not (c.isalnum() or c in "_-.") for c in name):
        raise SystemExit(f"--name must be a plain file name (letters, digits, _ - .), "
                         f"got {name!r}")
    if args.kind == "layers":
        head = ["# Per-layer floors: which layers need a deep floor", "",
                "`nmpkit layers` with the circuit energy model (each layer group its own pump "
                "and bias). Made with (each under `flock /work/heavy.lock`; resumable through "
                "OUT/.parts):", "", "```", *(args.commands or LAYERS_COMMANDS), "```", "",
                "Read with care: n images resolve a drop of z²/(n+z²) at best (the flip-free "
                "bound: 300 images 1.3 %p, hence their 2 %p tolerance; 500 images 0.76 %p, "
                "hence 1 %p); the search makes many 95% tests, so an allocation one image away "
                "from the line can pass or fail by chance; the chosen allocation's own paired "
                "comparison is the one reported.",
                ""]
        atomic_write_text(HERE / "layers.md", "\n".join(head) + "\n".join(
            layers_section(o) for o in outs))
    elif args.kind == "tradeoff":
        atomic_write_text(HERE / f"{args.name}.md", tradeoff_page(
            outs[0], args.extrapolation or None, name=args.name, intro=args.intro,
            commands=args.commands))
    else:
        atomic_write_text(HERE / f"{args.name}.md", optimize_page(outs[0], args.commands,
                                                                  args.note, args.name))
    return 0


__all__ = ["EXTRAPOLATION", "layers_section", "main", "optimize_page", "parse", "preset_census",
           "tradeoff_command", "tradeoff_page"]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
