"""The stages of `nmpkit run`, each a thin binding of the run config to a library call (a
study's ``run(XConfig(...))``, the same call the subcommand makes), so the pipeline and the CLI
cannot drift apart.

characterize → calibrate → (train → evaluate) per network → tradeoff → modulate → cosim_check →
report. The first network's stages are ``train``/``evaluate``, the others' ``train-NAME``/
``evaluate-NAME``; the trade-off runs on the networks marked ``tradeoff``.
Long stages keep their resumable work (ngspice point cache, simulated chunks, finished sweep
points) under ``RUN/cache/STAGE`` and copy their results into the stage folder when done.
The autoencoder (an MSE task) runs characterize, calibrate, train and evaluate; the trade-off,
modulation and co-simulation stages are defined for classifiers and say so when skipped.
"""

from __future__ import annotations

from typing import Any

from nmpkit.app.config_types import RunConfig
from nmpkit.app.pipeline import Stage, StageContext
from nmpkit.app.stages_networks import network_stages, skip_unless_classifier

# --- characterize ---------------------------------------------------------------------------

def _characterize_inputs(cfg: RunConfig) -> dict[str, Any]:
    return {"design": cfg.section("design"), "quick": cfg.characterize.quick,
            "seed": cfg.run.seed}


def _characterize(ctx: StageContext) -> dict[str, Any]:
    from circuits import characterize, default_grid, quick_grid
    from circuits.design import design_from_mapping

    design = design_from_mapping(dict(ctx.inputs["design"]), source="config [design]")
    make = quick_grid if ctx.inputs["quick"] else default_grid
    grid = make(design, seed=ctx.inputs["seed"])
    c = ctx.config.characterize
    paths = characterize(design, grid, ctx.out_dir, workers=c.workers or None,
                         scheduler=c.scheduler or None, progress=not ctx.quiet,
                         cache_dir=ctx.cache_dir)
    from calib.errors import CalibrationError
    from nmpkit.studies.characterize import energy_profile_of

    try:  # the device energy profile next to the tables (as `nmpkit characterize` writes it)
        energy_profile_of(str(ctx.out_dir))
    except CalibrationError:
        pass  # a grid the fit cannot use: the calibrate stage reports it
    return {"tables": sorted(paths), "v_dd_volts": design.v_dd_volts,
            "v_neg_volts": design.v_neg_volts}


# --- calibrate ------------------------------------------------------------------------------
def _fit_version() -> dict[str, str]:
    """The calibrate stage's inputs: the fit's version (a changed fit refits, not reuses)."""
    from calib.fit import FIT_VERSION

    return {"fit_version": FIT_VERSION}


def _calibrate(ctx: StageContext) -> dict[str, Any]:
    from nmpkit.studies.calibrate import calibrate

    cal, _ = calibrate(ctx.upstream["characterize"], ctx.out_dir / "calibration.json")
    return {"dt_seconds": cal.dt_seconds, "i_unit_amps": cal.i_unit_amps}


# --- modulate, cosim-check (classifiers) -----------------------------------------------

def _modulate(ctx: StageContext) -> dict[str, Any]:
    from nmpkit.studies.modulation import ModulateConfig
    from nmpkit.studies.modulation import run as run_study

    if (skip := skip_unless_classifier(ctx)) is not None:
        return skip
    v, cfg = ctx.config.variation, ctx.config
    res = run_study(ModulateConfig(
        calibration=str(ctx.upstream["calibrate"] / "calibration.json"),
        weights=str(ctx.upstream["train"] / "weights.pt"), data_root=cfg.data.root,
        network=cfg.network.name, dataset=cfg.data.dataset, limit=v.eval_limit,
        timesteps=v.timesteps, sigmas=v.sigmas, window=v.window_steps or None,
        max_pulses=v.max_pulses, seed=cfg.run.seed),
        progress=None if ctx.quiet else print)
    res.save(ctx.out_dir)
    return res.summary()


def _cosim_check(ctx: StageContext) -> dict[str, Any]:
    ds = ctx.config.data.dataset
    if ds not in ("mnist", "fashion-mnist"):
        note = f"not run: the co-simulation network reads 28x28 digits, dataset is {ds!r}"
        (ctx.out_dir / "skipped.txt").write_text(note + "\n")
        return {"skipped": note}
    from nmpkit.studies.cosim_check import CosimCheckConfig
    from nmpkit.studies.cosim_check import run as run_check

    c = ctx.config.cosim_check
    res = run_check(CosimCheckConfig(
        calibration=str(ctx.upstream["calibrate"] / "calibration.json"), dataset=ds,
        data_root=ctx.config.data.root, hidden=c.hidden, timesteps=c.timesteps,
        v_neg_volts=c.v_neg_volts, seed=ctx.config.run.seed, substeps=c.substeps,
        samples=c.samples),
        progress=None if ctx.quiet else (lambda p: print(
            f"V_NEG {p.v_neg_volts:g} V sample {p.sample}: ngspice {p.ngspice_seconds:.1f} s")))
    res.save(ctx.out_dir)
    g = res.summary["gate"]
    return {**{f"{r['model']}@{r['v_neg_volts']:g}V": f"{100 * r['rel_mae']:.2f}%"
               for r in res.rows},
            "gate": f"{g.get('verdict', 'passed' if g['passed'] else 'FAILED')} "
                    f"(<= {100 * g['limit_rel_mae']:g}% for {g['model']}, {c.substeps} "
                    f"sub-steps, {c.samples} image(s) per V_NEG)"}


# --- report ---------------------------------------------------------------------------------

def _report(ctx: StageContext) -> dict[str, Any]:
    from nmpkit.report.html import write_report

    path = write_report(ctx.run_dir, ctx.out_dir)
    return {"report": str(ctx.run_dir / "report" / path.name)}


def default_stages(cfg: RunConfig | None = None) -> list[Stage]:
    """The stages of `nmpkit run` for ``cfg`` (default: the embedded config), in order.

    Modulation runs on the first network (its weights in ``train/``).
    """
    from nmpkit.app.config import default_config

    cfg = default_config() if cfg is None else cfg
    def clf(cfg: RunConfig) -> dict[str, Any]:
        return {"data": cfg.section("data"), "network": cfg.network.name}

    nets, trade = network_stages(cfg)
    return [
        Stage(name="characterize", needs=(), inputs=_characterize_inputs, run=_characterize),
        Stage(name="calibrate", needs=("characterize",), inputs=lambda cfg: _fit_version(),
              run=_calibrate),
        *nets,
        *trade,
        Stage(name="modulate", needs=("calibrate", "train"),
              inputs=lambda cfg: {**clf(cfg), "variation": cfg.section("variation"),
                                  "seed": cfg.run.seed}, run=_modulate),
        Stage(name="cosim_check", needs=("calibrate",),
              inputs=lambda cfg: {"cosim_check": cfg.section("cosim_check"),
                                  "data": cfg.section("data"), "seed": cfg.run.seed},
              run=_cosim_check),
        Stage(name="report", needs=("characterize", "calibrate", *(s.name for s in nets),
                                    *(s.name for s in trade), "modulate", "cosim_check"),
              inputs=lambda cfg: {}, run=_report),
    ]
