"""The stages of `nmpkit run`, each a thin binding of the run config to a library call or to
the same subcommand a user would type, so the pipeline and the CLI cannot drift apart.

characterize → calibrate → train → evaluate → tradeoff → modulate → cosim_check → report.
Long stages keep their resumable work (ngspice point cache, simulated chunks, finished sweep
points) under ``RUN/cache/STAGE`` and copy their results into the stage folder when done.
The autoencoder (an MSE task) runs characterize, calibrate, train and evaluate; the trade-off,
modulation and co-simulation stages are defined for classifiers and say so when skipped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from nmpkit.app.pipeline import Stage, StageContext

CLASSIFIERS = ("mnist", "fashion-mnist", "cifar10", "svhn")


def _command(module: str, argv: Sequence[str], ctx: StageContext) -> int:
    """Run ``nmpkit <module> argv`` in-process with the stage's quietness."""
    mod = importlib.import_module(f"nmpkit.app.commands.{module}")
    parser = argparse.ArgumentParser(prog=f"nmpkit {mod.NAME}")
    mod.add_arguments(parser)
    args = parser.parse_args([str(a) for a in argv])
    args.quiet, args.json = ctx.quiet, False
    rc = int(mod.run(args) or 0)
    if rc != 0:
        raise RuntimeError(f"stage {ctx.name}: `nmpkit {mod.NAME}` returned {rc}")
    return rc


def _copy_results(src: Path, dst: Path, patterns: Sequence[str] = ("*.csv", "*.json", "*.png",
                                                                    "*.npz")) -> None:
    for pat in patterns:
        for f in sorted(src.glob(pat)):
            shutil.copy2(f, dst / f.name)


def _dataset(cfg: Mapping[str, Any]) -> str:
    ds = cfg["data"]["dataset"]
    return "cifar10" if ds == "autoencoder" else ds


def _is_classifier(cfg: Mapping[str, Any]) -> bool:
    return cfg["data"]["dataset"] in CLASSIFIERS


# --- characterize ---------------------------------------------------------------------------

def _characterize_inputs(cfg):
    return {"design": cfg["design"], "quick": cfg["characterize"]["quick"],
            "seed": cfg["run"]["seed"]}


def _characterize(ctx: StageContext) -> dict[str, Any]:
    from circuits import characterize, default_grid, quick_grid
    from circuits.design import design_from_mapping

    design = design_from_mapping(dict(ctx.inputs["design"]), source="config [design]")
    make = quick_grid if ctx.inputs["quick"] else default_grid
    grid = make(design, seed=ctx.inputs["seed"])
    c = ctx.config["characterize"]
    paths = characterize(design, grid, ctx.out_dir, workers=c["workers"] or None,
                         scheduler=c["scheduler"] or None, progress=not ctx.quiet,
                         cache_dir=ctx.cache_dir)
    return {"tables": sorted(paths), "v_dd_volts": design.v_dd_volts,
            "v_neg_volts": design.v_neg_volts}


# --- calibrate ------------------------------------------------------------------------------

def _calibrate(ctx: StageContext) -> dict[str, Any]:
    from nmpkit.app.commands.calibrate import calibrate

    cal, _ = calibrate(ctx.upstream["characterize"], ctx.out_dir / "calibration.json")
    return {"dt_seconds": cal.dt_seconds, "i_unit_amps": cal.i_unit_amps}


# --- train ----------------------------------------------------------------------------------

def _train_inputs(cfg):
    return {"data": {k: cfg["data"][k] for k in ("dataset", "root")},
            "network": cfg["network"], "seed": cfg["run"]["seed"]}


def _train(ctx: StageContext) -> dict[str, Any]:
    net, data = ctx.inputs["network"], ctx.inputs["data"]
    out = ctx.out_dir / "weights.pt"
    if net["weights"]:
        src = Path(net["weights"])
        if not src.is_file():
            from nmpkit.app.errors import UsageError

            raise UsageError(f"network.weights {str(src)!r} does not exist")
        shutil.copy2(src, out)
        side = src.with_suffix(".json")
        meta = json.loads(side.read_text()) if side.is_file() else {"source": str(src)}
    else:
        cache_w = ctx.cache_dir / "weights.pt"
        from nmpkit.app.commands.train import train_zoo

        train_zoo(net["name"], data_root=data["root"], dataset=_dataset(ctx.config), out=cache_w,
                  quiet=ctx.quiet, epochs=net["epochs"], seed=ctx.inputs["seed"], resume=True)
        shutil.copy2(cache_w, out)
        meta = json.loads(cache_w.with_suffix(".json").read_text())
    (ctx.out_dir / "weights.json").write_text(json.dumps(meta, indent=2, default=str))
    last = (meta.get("history") or [{}])[-1]
    metrics = {k: last[k] for k in ("test_accuracy", "test_mse") if k in last}
    (ctx.out_dir / "metrics.json").write_text(json.dumps(metrics))
    return metrics


# --- evaluate -------------------------------------------------------------------------------

def _evaluate_inputs(cfg):
    return {"evaluate": cfg["evaluate"], "eval_limit": cfg["data"]["eval_limit"],
            "dataset": cfg["data"]["dataset"], "root": cfg["data"]["root"]}


def _bounds(floors: Sequence[float]) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = [("nmp", None), ("zmp", 0.0)]
    out += [(f"floor{f:g}", float(f)) for f in floors if f != 0]
    return out


def _evaluate(ctx: StageContext) -> dict[str, Any]:
    ev, cfg = ctx.inputs["evaluate"], ctx.config
    weights = ctx.upstream["train"] / "weights.pt"
    curves, finals, corr = [], [], []
    for label, lb in _bounds(ev["floors"]):
        csv = ctx.cache_dir / f"{label}.csv"
        argv = [cfg["network"]["name"], "--weights", weights, "--timesteps", ev["timesteps"],
                "--lower-bound", "nmp" if lb is None else lb, "--percentile", ev["percentile"],
                "--out", csv, "--data-root", ctx.inputs["root"]]
        if _is_classifier(cfg):
            argv += ["--dataset", ctx.inputs["dataset"]]
        if ctx.inputs["eval_limit"]:
            argv += ["--limit", ctx.inputs["eval_limit"]]
        _command("evaluate", argv, ctx)
        df = pd.read_csv(csv)
        metric = "accuracy" if "accuracy" in df else "mse"
        curves.append(df.assign(condition=label, lower_bound=lb))
        summ = json.loads(csv.with_suffix(".json").read_text())
        finals.append({"condition": label, "lower_bound": lb,
                       f"final_{metric}": float(df[metric].iloc[-1]),
                       f"best_{metric}": summ.get(f"best_{metric}"),
                       "best_t": summ.get("best_t")})
        corr_csv = csv.with_name(csv.stem + "_corr.csv")
        if corr_csv.is_file() and label in ("nmp", "zmp"):
            corr.append(pd.read_csv(corr_csv).assign(condition=label))
        shutil.copy2(csv.with_suffix(".json"), ctx.out_dir / f"{label}.json")
    pd.concat(curves).to_csv(ctx.out_dir / "accuracy_per_step.csv", index=False)
    pd.DataFrame(finals).to_csv(ctx.out_dir / "floors.csv", index=False)
    if corr:
        pd.concat(corr).to_csv(ctx.out_dir / "correlation.csv", index=False)
    return {f["condition"]: round(next(v for k, v in f.items() if k.startswith("final_")), 5)
            for f in finals}


# --- tradeoff, modulate, cosim-check (classifiers) ----------------------------------------

def _classifier_argv(ctx: StageContext) -> list[Any]:
    cfg = ctx.config
    return ["--calibration", ctx.upstream["calibrate"] / "calibration.json",
            "--network", cfg["network"]["name"], "--dataset", cfg["data"]["dataset"],
            "--data-root", cfg["data"]["root"]]


def _skip_unless_classifier(ctx: StageContext) -> dict[str, Any] | None:
    if _is_classifier(ctx.config):
        return None
    note = f"not run: defined for classifiers, dataset is {ctx.config['data']['dataset']!r}"
    (ctx.out_dir / "skipped.txt").write_text(note + "\n")
    return {"skipped": note}


def _tradeoff(ctx: StageContext) -> dict[str, Any]:
    from nmpkit.studies.tradeoff import TradeoffConfig
    from nmpkit.studies.tradeoff import run as run_study

    if (skip := _skip_unless_classifier(ctx)) is not None:
        return skip
    t, cfg = ctx.config["tradeoff"], ctx.config
    res = run_study(TradeoffConfig(
        calibration=str(ctx.upstream["calibrate"] / "calibration.json"),
        weights=str(ctx.upstream["train"] / "weights.pt"), data_root=cfg["data"]["root"],
        network=cfg["network"]["name"], dataset=cfg["data"]["dataset"], limit=t["eval_limit"],
        timesteps=tuple(t["timesteps"]), v_neg_volts=tuple(t["v_neg_volts"]),
        v_dd_volts=tuple(t["v_dd_volts"]), tolerance=t["tolerance"],
        energy_samples=t["energy_samples"]),
        parts_dir=ctx.cache_dir / "parts", progress=None if ctx.quiet else print)
    res.save(ctx.out_dir)
    rec = res.recommendation()
    return {"T": rec["timesteps"], "resolved": rec["resolved"],
            "v_dd_volts": rec["v_dd_volts"], "v_neg_volts": rec["v_neg_volts"],
            "floor_theta": rec["floor_theta"], "accuracy": rec["accuracy"],
            "energy_joules": rec["energy_joules"], "images_needed": rec["images_needed"],
            "samples": rec["nmp"]["samples"]}


def _modulate(ctx: StageContext) -> dict[str, Any]:
    from nmpkit.studies.modulation import ModulateConfig
    from nmpkit.studies.modulation import run as run_study

    if (skip := _skip_unless_classifier(ctx)) is not None:
        return skip
    v, cfg = ctx.config["variation"], ctx.config
    res = run_study(ModulateConfig(
        calibration=str(ctx.upstream["calibrate"] / "calibration.json"),
        weights=str(ctx.upstream["train"] / "weights.pt"), data_root=cfg["data"]["root"],
        network=cfg["network"]["name"], dataset=cfg["data"]["dataset"], limit=v["eval_limit"],
        timesteps=v["timesteps"], sigmas=tuple(v["sigmas"]), window=v["window_steps"] or None,
        max_pulses=v["max_pulses"], seed=cfg["run"]["seed"]),
        progress=None if ctx.quiet else print)
    res.save(ctx.out_dir)
    return {f"sigma={r['sigma']:g}": f"{r['accuracy_before']:.4f}->{r['accuracy_after']:.4f}"
            for r in res.rows}


def _cosim_check(ctx: StageContext) -> dict[str, Any]:
    ds = ctx.config["data"]["dataset"]
    if ds not in ("mnist", "fashion-mnist"):
        note = f"not run: the co-simulation network reads 28x28 digits, dataset is {ds!r}"
        (ctx.out_dir / "skipped.txt").write_text(note + "\n")
        return {"skipped": note}
    from nmpkit.studies.cosim_check import CosimCheckConfig
    from nmpkit.studies.cosim_check import run as run_check

    c = ctx.config["cosim_check"]
    res = run_check(CosimCheckConfig(
        calibration=str(ctx.upstream["calibrate"] / "calibration.json"), dataset=ds,
        data_root=ctx.config["data"]["root"], hidden=c["hidden"], timesteps=c["timesteps"],
        v_neg_volts=tuple(c["v_neg_volts"]), seed=ctx.config["run"]["seed"]),
        progress=None if ctx.quiet else (lambda p: print(
            f"V_NEG {p.v_neg_volts:g} V sample {p.sample}: ngspice {p.ngspice_seconds:.1f} s")))
    res.save(ctx.out_dir)
    return {f"{r['model']}@{r['v_neg_volts']:g}V": f"{100 * r['rel_mae']:.2f}%"
            for r in res.rows}


# --- report ---------------------------------------------------------------------------------

def _report(ctx: StageContext) -> dict[str, Any]:
    from nmpkit.report.html import write_report

    path = write_report(ctx.run_dir, ctx.out_dir)
    return {"report": str(ctx.run_dir / "report" / path.name)}


def default_stages() -> list[Stage]:
    """The stages of `nmpkit run`, in order."""
    cfg_slice = lambda *names: (lambda cfg: {n: cfg[n] for n in names})  # noqa: E731
    clf = lambda cfg: {"data": cfg["data"], "network": cfg["network"]["name"]}  # noqa: E731
    return [
        Stage(name="characterize", needs=(), inputs=_characterize_inputs, run=_characterize),
        Stage(name="calibrate", needs=("characterize",), inputs=lambda cfg: {},
              run=_calibrate),
        Stage(name="train", needs=(), inputs=_train_inputs, run=_train),
        Stage(name="evaluate", needs=("train",), inputs=_evaluate_inputs, run=_evaluate),
        Stage(name="tradeoff", needs=("calibrate", "train"),
              inputs=lambda cfg: {**clf(cfg), "tradeoff": cfg["tradeoff"]}, run=_tradeoff),
        Stage(name="modulate", needs=("calibrate", "train"),
              inputs=lambda cfg: {**clf(cfg), "variation": cfg["variation"],
                                  "seed": cfg["run"]["seed"]}, run=_modulate),
        Stage(name="cosim_check", needs=("calibrate",),
              inputs=lambda cfg: {**cfg_slice("cosim_check")(cfg), "data": cfg["data"],
                                  "seed": cfg["run"]["seed"]}, run=_cosim_check),
        Stage(name="report", needs=("characterize", "calibrate", "train", "evaluate",
                                    "tradeoff", "modulate", "cosim_check"),
              inputs=lambda cfg: {}, run=_report),
    ]
