"""The per-network stages of `nmpkit run` (train, evaluate, trade-off), each a thin binding of
the run config to a library call; `nmpkit.app.stages` puts them in order with the others.

The first network's stages are ``train``/``evaluate``, the others' ``train-NAME``/
``evaluate-NAME``; the trade-off runs on the networks marked ``tradeoff``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nmpkit.app.config_types import NetworkCfg, RunConfig
from nmpkit.app.networks import paired_rows, resolve_weights, stage_name
from nmpkit.app.pipeline import Stage, StageContext

CLASSIFIERS = ("mnist", "fashion-mnist", "cifar10", "svhn")


def _dataset(cfg: RunConfig) -> str:
    ds = cfg.data.dataset
    return "cifar10" if ds == "autoencoder" else ds


def _is_classifier(cfg: RunConfig) -> bool:
    return cfg.data.dataset in CLASSIFIERS


# --- train ---------------------------------------------------------------------------------

def _train_inputs(net: NetworkCfg):
    def inputs(cfg: RunConfig) -> dict[str, Any]:
        return {"data": {"dataset": cfg.data.dataset, "root": cfg.data.root},
                "network": {"name": net.name, "weights": net.weights, "epochs": net.epochs},
                "seed": cfg.run.seed}
    return inputs


def _train(ctx: StageContext) -> dict[str, Any]:
    net, data = ctx.inputs["network"], ctx.inputs["data"]
    out = ctx.out_dir / "weights.pt"
    if net["weights"]:
        src = resolve_weights(net["weights"])
        if not src.is_file():
            from nmpkit.app.errors import UsageError

            raise UsageError(f"network {net['name']!r}: weights {net['weights']!r} does not "
                             f"exist (looked for {str(src)!r})")
        shutil.copy2(src, out)
        side = src.with_suffix(".json")
        meta = json.loads(side.read_text()) if side.is_file() else {"source": str(src)}
        if meta.get("dataset") not in (None, _dataset(ctx.config)):
            from nmpkit.app.errors import UsageError

            raise UsageError(f"network {net['name']!r}: weights {net['weights']!r} were trained "
                             f"on {meta['dataset']!r}, data.dataset is "
                             f"{ctx.config.data.dataset!r}; set weights = \"\" to train "
                             "here, or give weights trained on that dataset")
    else:
        cache_w = ctx.cache_dir / "weights.pt"
        from nmpkit.studies.train_zoo import train_zoo

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

def _evaluate_inputs(net: NetworkCfg):
    def inputs(cfg: RunConfig) -> dict[str, Any]:
        return {"evaluate": cfg.section("evaluate"), "network": net.name,
                "eval_limit": net.eval_limit or cfg.data.eval_limit,
                "dataset": cfg.data.dataset, "root": cfg.data.root}
    return inputs


def _bounds(floors: Sequence[float]) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = [("nmp", None), ("zmp", 0.0)]
    out += [(f"floor{f:g}", float(f)) for f in floors if f != 0]
    return out


def _evaluate_stage(train_stage: str):
    def run(ctx: StageContext) -> dict[str, Any]:
        return _evaluate(ctx, ctx.upstream[train_stage] / "weights.pt")
    return run


def _evaluate(ctx: StageContext, weights: Path) -> dict[str, Any]:
    from nmpkit.studies import evaluate as study
    from nmpkit.studies.floor_sweep import FloorSweepResult

    ev, cfg = ctx.config.evaluate, ctx.config
    evaluations, correct = [], {}
    for label, lb in _bounds(ev.floors):
        sim = study.EvalConfig(timesteps=ev.timesteps, lower_bound=lb,
                               percentile=ev.percentile)
        res = study.run(study.EvaluateConfig(
            network=ctx.inputs["network"], weights=str(weights), sim=sim,
            data_root=ctx.inputs["root"], limit=ctx.inputs["eval_limit"] or None,
            dataset=ctx.inputs["dataset"] if _is_classifier(cfg) else None),
            parts_prefix=ctx.cache_dir / f"{label}.csv.parts",
            scheduler=cfg.characterize.scheduler or None)  # the run's cluster, if any
        res.save(ctx.cache_dir, label)
        evaluations.append((label, lb, res))
        if res.correct is not None:
            correct[label] = ctx.out_dir / f"{label}_correct.npz"
            shutil.copy2(ctx.cache_dir / correct[label].name, correct[label])
        shutil.copy2(ctx.cache_dir / f"{label}.json", ctx.out_dir / f"{label}.json")
    rows = paired_rows(correct, ev.compare_at, ev.timesteps) if "nmp" in correct else []
    sweep = FloorSweepResult.gather(evaluations, rows)
    sweep.save(ctx.out_dir, summaries=False)  # each LABEL.json: the evaluation's own, copied
    summary: dict[str, Any] = {k: round(v, 5) for k, v in sweep.finals_by_condition().items()}
    summary |= {f"nmp-zmp@T{r['timesteps']}": f"{100 * r['nmp_minus']:+.2f}%p "
                f"[{100 * r['diff_ci_low']:+.2f},{100 * r['diff_ci_high']:+.2f}] "
                f"p={r['p_vs_nmp']:.2g} n={r['samples']}"
                for r in rows if r["condition"] == "zmp"}
    return summary


# --- tradeoff (classifiers) ------------------------------------------------------------

def skip_unless_classifier(ctx: StageContext) -> dict[str, Any] | None:
    if _is_classifier(ctx.config):
        return None
    note = f"not run: defined for classifiers, dataset is {ctx.config.data.dataset!r}"
    (ctx.out_dir / "skipped.txt").write_text(note + "\n")
    return {"skipped": note}


def _tradeoff_stage(train_stage: str):
    def run(ctx: StageContext) -> dict[str, Any]:
        return _tradeoff(ctx, ctx.upstream[train_stage] / "weights.pt")
    return run


def _tradeoff(ctx: StageContext, weights: Path) -> dict[str, Any]:
    from nmpkit.studies.tradeoff import TradeoffConfig
    from nmpkit.studies.tradeoff import run as run_study

    if (skip := skip_unless_classifier(ctx)) is not None:
        return skip
    t, cfg = ctx.config.tradeoff, ctx.config
    res = run_study(TradeoffConfig(
        calibration=str(ctx.upstream["calibrate"] / "calibration.json"),
        weights=str(weights), data_root=cfg.data.root,
        network=ctx.inputs["network"], dataset=cfg.data.dataset, limit=t.eval_limit,
        timesteps=t.timesteps, v_neg_volts=t.v_neg_volts, v_dd_volts=t.v_dd_volts,
        tolerance=t.tolerance, energy_samples=t.energy_samples, eta=t.eta,
        scheduler=cfg.characterize.scheduler or None),  # the run's cluster, if any
        parts_dir=ctx.cache_dir / "parts", progress=None if ctx.quiet else print)
    res.save(ctx.out_dir)
    rec = res.recommendation()
    return {"T": rec["timesteps"], "resolved": rec["resolved"],
            "v_dd_volts": rec["v_dd_volts"], "v_neg_volts": rec["v_neg_volts"],
            "floor_theta": rec["floor_theta"], "accuracy": rec["accuracy"],
            "energy_joules": rec["energy_joules"], "images_needed": rec["images_needed"],
            "samples": rec["nmp"]["samples"]}


def network_stages(cfg: RunConfig) -> tuple[list[Stage], list[Stage]]:
    """(train + evaluate stages of every network, trade-off stages of those with ``tradeoff``)."""
    nets, trade = [], []
    for i, net in enumerate(cfg.networks):
        tr = stage_name("train", i, net)
        nets += [Stage(name=tr, needs=(), inputs=_train_inputs(net), run=_train),
                 Stage(name=stage_name("evaluate", i, net), needs=(tr,),
                       inputs=_evaluate_inputs(net), run=_evaluate_stage(tr))]
        if net.tradeoff:
            name = "tradeoff" if not trade else f"tradeoff-{net.name}"
            trade.append(Stage(
                name=name, needs=("calibrate", tr),
                inputs=lambda c, n=net.name: {"data": c.section("data"), "network": n,
                                              "tradeoff": c.section("tradeoff")},
                run=_tradeoff_stage(tr)))
    return nets, trade


__all__ = ["CLASSIFIERS", "network_stages", "skip_unless_classifier"]
