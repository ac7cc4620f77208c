"""`nmpkit optimize`: circuit parameters searched for energy per inference vs accuracy, SPICE in
the loop, with Optuna's multi-objective TPE sampler.

Each trial draws a design from the space (`optimize_space`: preset, V_DD, V_NEG, C_mem, the reset
packet, mirror sizing; the safe operating area V_DD − V_NEG <= ``max_gate_volts`` by
construction), characterizes it in ngspice through the content-addressed sweep, fits its
calibration and runs the converted classifier for ``timesteps`` steps on a fixed image set
(`optimize_eval`). Objectives: energy per inference (minimize) and accuracy (maximize). The
accuracy target is an Optuna constraint (feasible when <= 0):

* ``tolerance`` mode (default 0.5 %p): the upper end of the 95% Newcombe interval of the paired
  drop ``acc_NMP - acc_trial`` minus the tolerance (`stats.non_inferior`); NMP is the reference
  design's calibrated neuron without a floor, on the same images;
* ``target_accuracy`` mode: the target minus the lower end of the trial's 95% Wilson interval.

Before the search the reference design (``preset("default")`` at ``rule_v_dd_volts``) is
characterized over V_NEG, and the study's −2 θ rule (its V_NEG where the floor is −2 θ) is
evaluated the same way: the baseline the front is compared with, at the same T and images.

The study lives in ``OUT/optuna.db`` (SQLite RDBStorage; the study name hashes everything that
defines it), so a second call with the same inputs continues it: ``n_trials`` is the study's total,
trials already finished are not repeated, and a trial a killed run left RUNNING is marked FAIL
(its design's points are in the cache, so redoing it is cheap).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nmpkit.studies.optimize_output import OptimizeResult
from nmpkit.studies.optimize_space import (
    DEFAULT_MAX_GATE_VOLTS,
    DEFAULT_SPACE,
    OptimizeError,
    parse_space,
    sample_design,
    soa_ok,
)

STUDY_RULE_FLOOR = -2.0
RULE_V_NEG_GRID = (0.0, -0.5, -1.0, -1.2)  # the reference neuron's reset rail is -1.2 V


@dataclass(frozen=True, slots=True, kw_only=True)
class OptimizeConfig:
    """What one study searches and how it judges a design (see the module docstring); where
    `run` loads the classifier (``weights``, ``data_root``, ...: not part of the study's identity,
    the classifier's own record is) and keeps the study (``study_dir``)."""

    n_trials: int = 12
    timesteps: int = 100
    seed: int = 0
    space: tuple[str, ...] = DEFAULT_SPACE
    tolerance: float = 0.005
    target_accuracy: float | None = None
    max_gate_volts: float = DEFAULT_MAX_GATE_VOLTS
    rule_v_dd_volts: float = 1.0
    startup_trials: int = 5
    grid_currents: int = 8
    rule_v_neg_grid: tuple[float, ...] = RULE_V_NEG_GRID
    workers: int | None = None
    scheduler: str | None = None
    batch: int = 250
    network: str = "mnist"
    weights: str | None = None
    dataset: str = "mnist"
    data_root: str | None = None
    limit: int = 1000
    study_dir: str | None = None

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> OptimizeError:
            return OptimizeError(f"{name} must be {rule}, got {getattr(self, name)!r}")

        for name in ("n_trials", "timesteps", "batch", "grid_currents"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(name, "an integer >= 1")
        if isinstance(self.startup_trials, bool) or not isinstance(self.startup_trials, int) \
                or self.startup_trials < 1:
            raise bad("startup_trials", "an integer >= 1")
        if not (isinstance(self.tolerance, (int, float)) and 0 <= self.tolerance < 1):
            raise bad("tolerance", "an accuracy fraction in [0, 1)")
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            raise bad("target_accuracy", "an accuracy fraction in (0, 1] or None")
        if not (math.isfinite(self.max_gate_volts) and 0 < self.max_gate_volts <= 5):
            raise bad("max_gate_volts", "a voltage in (0, 5]")
        if not 0.6 <= self.rule_v_dd_volts <= 2.0:
            raise bad("rule_v_dd_volts", "a V_DD in [0.6, 2.0] V")
        if self.grid_currents < 3:
            raise bad("grid_currents", "an integer >= 3 (the fit needs firing points)")
        if not self.rule_v_neg_grid or any(not -2.0 <= v <= 0 for v in self.rule_v_neg_grid):
            raise bad("rule_v_neg_grid", "a non-empty tuple of V_NEG values in [-2, 0] V")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 0:
            raise bad("limit", "an integer >= 0 (0 = all images)")
        parse_space(self.space)

    def identity(self) -> dict[str, Any]:
        """The fields that define the study (not how it is executed)."""
        out = dataclasses.asdict(self)
        for k in ("n_trials", "workers", "scheduler", "batch", "network", "weights", "dataset",
                  "data_root", "limit", "study_dir"):
            out.pop(k)
        out["space"] = list(self.space)
        out["rule_v_neg_grid"] = list(self.rule_v_neg_grid)
        return out


@dataclass(slots=True)
class Baseline:
    """The reference NMP and the −2 θ rule, evaluated before the search."""

    nmp: Any
    rule: dict[str, Any]
    rule_eval: Any | None
    reference: dict[str, Any] = field(default_factory=dict)


def _accuracy_record(correct) -> dict[str, Any]:
    from nmpkit.studies.stats import accuracy

    return accuracy(correct).as_dict()


def baseline(ev: Any, cfg: OptimizeConfig) -> Baseline:
    """Characterize the reference design over V_NEG, evaluate NMP and the −2 θ rule."""
    from calib.errors import CalibrationError
    from circuits.design import preset
    from nmpkit.studies.optimize_eval import calibration_digest, trial_grid

    ref_design = preset("default", v_dd_volts=cfg.rule_v_dd_volts)
    grid = trial_grid(ref_design, tuple(sorted(set(cfg.rule_v_neg_grid), reverse=True)),
                      currents=cfg.grid_currents)
    ref = ev.characterize(ref_design, grid)
    nmp = ev.evaluate(ref.calibration, None)
    reference = {"design": ref_design.to_dict(), "design_key": ref.key, "calibration_digest":
                 calibration_digest(ref.calibration), "accuracy": _accuracy_record(nmp.correct),
                 "spice": ref.use}
    try:
        v_rule = round(ref.calibration.v_neg_for_floor(STUDY_RULE_FLOOR), 4)
    except CalibrationError as exc:
        return Baseline(nmp=nmp, rule={"unavailable": str(exc)}, rule_eval=None,
                        reference=reference)
    rule_design = dataclasses.replace(ref_design, v_neg_volts=v_rule,
                                      v_rst_volts=min(ref_design.v_rst_volts, v_rule))
    ch = ev.characterize(rule_design)
    r = ev.evaluate(ch.calibration, rule_design)
    rule = {"design": rule_design.to_dict(), "v_dd_volts": rule_design.v_dd_volts,
            "v_neg_volts": v_rule, "target_floor_theta": STUDY_RULE_FLOOR,
            "floor_theta": r.floor_theta, "calibration_digest": ch.calibration_digest,
            "accuracy": _accuracy_record(r.correct), "energy_joules": r.energy_joules,
            "soa_ok": soa_ok(rule_design, cfg.max_gate_volts),
            "v_dd_minus_v_neg_volts": rule_design.v_dd_volts - v_rule, "spice": ch.use}
    return Baseline(nmp=nmp, rule=rule, rule_eval=r, reference=reference)


def constraint_value(cfg: OptimizeConfig, nmp_correct, correct) -> tuple[float, dict[str, Any]]:
    """(Optuna constraint, <= 0 when the accuracy target is met; the comparison behind it)."""
    from nmpkit.studies.stats import Z95, compare, images_needed, proportion

    cmp = compare(nmp_correct, correct)
    info: dict[str, Any] = {"vs_nmp": cmp.as_dict()}
    if cfg.target_accuracy is not None:
        acc = proportion(int(correct.sum()), int(correct.size))
        info["rule"] = (f"lower end of the 95% Wilson interval >= "
                        f"{cfg.target_accuracy:g}")
        return cfg.target_accuracy - acc.ci_low, info
    info["rule"] = (f"non-inferior to NMP (stats.non_inferior): upper end of the 95% interval of "
                    f"the paired drop <= {cfg.tolerance:g}; with no flips the Wilson bound "
                    f"z²/(n+z²)")
    info["images_needed"] = images_needed(cmp, cfg.tolerance)
    flips = cmp.a_only + cmp.b_only
    bound = cmp.ci_high if flips else Z95 * Z95 / (cmp.n + Z95 * Z95)
    info["drop_bound"] = bound
    return bound - cfg.tolerance, info


def _study(cfg: OptimizeConfig, out: Path, clf_info: dict[str, Any]):
    import optuna

    from calib.io import content_hash

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = "optimize-" + content_hash({"config": cfg.identity(), "classifier": clf_info})[:16]
    sampler = optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=cfg.startup_trials)
    study = optuna.create_study(storage=f"sqlite:///{(out / 'optuna.db').resolve()}",
                                study_name=name, directions=["minimize", "maximize"],
                                sampler=sampler, load_if_exists=True)
    stale = [t for t in study.get_trials(deepcopy=False)
             if t.state == optuna.trial.TrialState.RUNNING]
    for t in stale:  # left by a killed run
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
    return study


def run(cfg: OptimizeConfig, clf: Any = None, *,
        progress: Callable[[str], None] | None = None) -> OptimizeResult:
    """Run (or continue) the study kept in ``cfg.study_dir`` on ``clf`` (default: the classifier
    ``cfg`` names, `load_classifier`); the result, not yet saved (`OptimizeResult.save`)."""
    if cfg.study_dir is None:
        raise OptimizeError("study_dir must be the folder that keeps the study, got None")
    if clf is None:
        from nmpkit.studies.classifier import load_classifier

        for name in ("weights", "data_root"):
            if getattr(cfg, name) is None:
                raise OptimizeError(f"{name} must name the classifier's file, got None")
        clf = load_classifier(network=cfg.network, weights=cfg.weights, dataset=cfg.dataset,
                              data_root=cfg.data_root, limit=cfg.limit)
    return OptimizeResult.of(_search(cfg, clf, Path(cfg.study_dir), progress))


def run_optimize(cfg: OptimizeConfig, clf: Any, out_dir: str | Path, *,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """`run` in ``out_dir`` and save there (``optimize.json`` / ``optimize.csv``); the summary
    (`optimize_output.summarize`)."""
    res = run(dataclasses.replace(cfg, study_dir=str(out_dir)), clf, progress=progress)
    res.save(out_dir)
    return res.summary


def _search(cfg: OptimizeConfig, clf: Any, out: Path,
            progress: Callable[[str], None] | None) -> dict[str, Any]:
    """The study itself (baseline, then the trials still missing); `summarize`'s record."""
    import optuna

    from calib.errors import CalibrationError
    from circuits.errors import CircuitError
    from nmpkit.studies.optimize_eval import DesignEvaluator
    from nmpkit.studies.optimize_output import summarize, trial_record

    say = progress or (lambda _m: None)
    out.mkdir(parents=True, exist_ok=True)
    space = parse_space(cfg.space)
    ev = DesignEvaluator(clf, timesteps=cfg.timesteps, out_dir=out, workers=cfg.workers,
                         scheduler=cfg.scheduler, batch=cfg.batch, currents=cfg.grid_currents)
    base = baseline(ev, cfg)
    say(f"NMP reference {100 * base.nmp.accuracy:.2f}% on {base.nmp.correct.size} images; "
        + (f"−2 θ rule V_NEG {base.rule['v_neg_volts']:g} V: "
           f"{100 * base.rule['accuracy']['estimate']:.2f}%, {base.rule['energy_joules']:.4g} J"
           if "unavailable" not in base.rule else f"−2 θ rule: {base.rule['unavailable']}"))
    study = _study(cfg, out, clf.info)
    done = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    todo = max(0, cfg.n_trials - len(done))

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        try:
            design = sample_design(trial, space, max_gate_volts=cfg.max_gate_volts)
        except (CircuitError, OptimizeError) as exc:
            trial.set_user_attr("record", {"status": "invalid design", "reason": str(exc)})
            raise optuna.TrialPruned(str(exc)) from None
        try:
            ch = ev.characterize(design)
            r = ev.evaluate(ch.calibration, design)
        except (CircuitError, CalibrationError) as exc:
            trial.set_user_attr("record", {"status": "not characterizable",
                                           "design": design.to_dict(), "reason": str(exc)})
            raise optuna.TrialPruned(str(exc)) from None
        cval, info = constraint_value(cfg, base.nmp.correct, r.correct)
        trial.set_constraint("accuracy_target", float(cval))
        trial.set_constraint("soa", design.v_dd_volts - design.v_neg_volts - cfg.max_gate_volts)
        rec = trial_record(design, ch, r, info, cval, cfg)
        trial.set_user_attr("record", rec)
        if r.energy_joules is None:
            rec["status"] = "energy unavailable"
            trial.set_user_attr("record", rec)
            raise optuna.TrialPruned("energy unavailable")
        say(f"trial {trial.number}: {design.topology} V_DD {design.v_dd_volts:.3f} V "
            f"V_NEG {design.v_neg_volts:.3f} V: {100 * r.accuracy:.2f}%, "
            f"{r.energy_joules:.4g} J, {'feasible' if cval <= 0 else 'infeasible'}; "
            f"SPICE {ch.use}")
        return r.energy_joules, r.accuracy

    if todo:
        say(f"study {study.study_name}: {len(done)} trial(s) done, running {todo} more")
        study.optimize(objective, n_trials=todo, catch=())
    return summarize(study, base, cfg, ev.use.as_dict(), clf.info)


__all__ = ["OptimizeConfig", "OptimizeResult", "RULE_V_NEG_GRID", "STUDY_RULE_FLOOR", "baseline",
           "constraint_value", "run", "run_optimize"]
