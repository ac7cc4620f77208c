"""Accuracy vs energy over the negative supply (the floor), V_DD and the latency budget T.

For every neuron (one per V_NEG today, see `tradeoff_sim.neuron_for`) the network runs ONCE to the
largest budget; accuracy at every budget comes from that run's per-step output spikes, energy at
every budget from the spikes up to it (`nmpkit.studies.tradeoff_sim`). Every V_DD prices the
spikes (``cosim.energy``). NMP (no floor) at the same T and on the same images is the reference;
the decision (`nmpkit.studies.tradeoff_decide`) is made only where the images support it.

As a typed call: ``run(TradeoffConfig(...)) -> TradeoffResult`` with ``.save(dir)`` /
``TradeoffResult.load(dir)`` (what `nmpkit tradeoff` and `nmpkit run`'s stage both use);
`evaluate` is the same study on an already loaded calibration and classifier.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from calib.calibration import Calibration
from calib.errors import CalibrationError
from nmpkit.errors import ConfigError
from nmpkit.studies.classifier import Classifier, load_classifier
from nmpkit.studies.distributed import neuron_digest
from nmpkit.studies.tradeoff_decide import (
    CONFIDENCE,
    DECISION_RULE,
    STUDY_RULE_FLOOR,
    decide,
    point_rows,
)
from nmpkit.studies.tradeoff_io import TradeoffResult
from nmpkit.studies.tradeoff_sim import (
    NEURON_NOTE,
    neuron_for,
    neuron_supply,
    pack,
    price,
    simulate_budgets,
    simulate_budgets_many,
    unpack,
)

REPORT_FLOORS = (0.0, -0.5, -1.0, -2.0)
VARIANTS_PER_PASS = 8  # neuron models simulated together by cosim.simulate_variants


def sweep_points(cal: Calibration, v_neg_volts: Sequence[float]) -> list[float]:
    """The sweep's V_NEG values: the given ones in the floor table's range, plus the V_NEG of each
    report floor (0, −0.5, −1, −2 θ) where the circuit reaches it."""
    lo, hi = min(cal.floor_v_neg_volts), max(cal.floor_v_neg_volts)
    pts = {round(float(v), 6) for v in v_neg_volts if lo - 1e-9 <= v <= hi + 1e-9}
    for f in REPORT_FLOORS:
        try:
            pts.add(round(cal.v_neg_for_floor(f), 6))
        except CalibrationError:
            continue
    if hi >= 0:
        pts.add(0.0)
    return sorted((p for p in pts if p <= 0), reverse=True)


def preset_of(cal: Calibration) -> str:
    """The neuron design's topology as the characterization recorded it ("unknown" if not)."""
    stack: list[Any] = [cal.sources]
    while stack:
        d = stack.pop()
        if isinstance(d, dict):
            des = d.get("design")
            if isinstance(des, dict) and (des.get("preset") or des.get("topology")):
                return str(des.get("preset") or des.get("topology"))
            stack.extend(d.values())
    return "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeoffConfig:
    """Everything `run` needs (the values of `nmpkit tradeoff`'s options)."""

    calibration: str
    weights: str
    data_root: str
    network: str = "mnist"
    dataset: str = "mnist"
    limit: int = 500
    timesteps: tuple[int, ...] = (25, 50, 100, 200, 500, 1000)
    v_neg_volts: tuple[float, ...] = (0.0, -0.1, -0.25, -0.5, -1.0)
    v_dd_volts: tuple[float, ...] = (0.8, 1.0, 1.2)
    tolerance: float = 0.005
    energy_samples: int = 1000
    batch: int = 250
    ideal: bool = False
    eta: float | None = 0.5
    array_size: int | None = None
    scheduler: str | None = None  # a Dask scheduler address: the simulations run there

    def __post_init__(self) -> None:
        try:
            ts = tuple(sorted({int(t) for t in self.timesteps}))
        except (TypeError, ValueError):
            raise ConfigError(f"timesteps must be a list of integers >= 1, got "
                              f"{self.timesteps!r}") from None
        object.__setattr__(self, "timesteps", ts)
        object.__setattr__(self, "v_neg_volts", tuple(float(v) for v in self.v_neg_volts))
        object.__setattr__(self, "v_dd_volts", tuple(float(v) for v in self.v_dd_volts))
        if not ts or ts[0] < 1:
            raise ConfigError(f"timesteps must be a non-empty list of integers >= 1, got "
                              f"{list(self.timesteps)}")
        if ts[-1] > 100_000:  # the config's bound: buffers past it outgrow memory
            raise ConfigError(f"timesteps must be <= 100000, got {ts[-1]}")
        if not self.v_neg_volts or any(not v <= 0 for v in self.v_neg_volts):
            raise ConfigError(f"v_neg_volts must be a non-empty list of values <= 0, got "
                              f"{list(self.v_neg_volts)}")
        if not self.v_dd_volts or any(not 0 < v <= 5 for v in self.v_dd_volts):
            raise ConfigError(f"v_dd_volts must be a non-empty list of volts in (0, 5], got "
                              f"{list(self.v_dd_volts)}")
        if isinstance(self.tolerance, bool) or not 0 <= self.tolerance < 1:
            raise ConfigError(f"tolerance must be an accuracy fraction in [0, 1) (0.005 = 0.5 "
                              f"%p), got {self.tolerance!r}")
        if self.eta is not None and (isinstance(self.eta, bool)
                                     or not isinstance(self.eta, int | float)
                                     or not 0 < self.eta <= 1):
            raise ConfigError(f"eta (the negative supply's charge-pump efficiency) must be in "
                              f"(0, 1] or None, got {self.eta!r}")
        if self.array_size is not None and (isinstance(self.array_size, bool)
                                            or not isinstance(self.array_size, int)
                                            or self.array_size < 1):
            raise ConfigError(f"array_size must be an integer >= 1 or None, got "
                              f"{self.array_size!r}")
        if self.scheduler is not None and (not isinstance(self.scheduler, str)
                                           or not self.scheduler.strip()):
            raise ConfigError(f"scheduler must be a Dask scheduler address such as "
                              f"'tcp://host:8786' or None, got {self.scheduler!r}")
        for name, lo in (("limit", 0), ("energy_samples", 0), ("batch", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")


def evaluate(cal: Calibration, clf: Classifier, cfg: TradeoffConfig, *,
             parts_dir: Path | None = None,
             progress: Callable[[str], None] | None = None,
             scheduler: Any = None) -> dict[str, Any]:
    """The study on a loaded calibration and classifier; the record `TradeoffResult` holds.

    ``scheduler`` (an address or a ``distributed.Client``; default ``cfg.scheduler``): the
    simulations run on that Dask cluster, chunk by chunk, with the local run's results.

    Finished neuron evaluations are stored in ``parts_dir`` (one JSON per neuron, keyed by the
    neuron, the budgets, the energy sample and the priced supplies; written atomically), so a
    killed sweep resumes without re-simulating them.
    """
    from calib.io import atomic_write_json, content_hash

    say = progress or (lambda s: None)
    inputs_key = content_hash({"cal": cal.to_dict(), "clf": clf.info})
    shapes = [ly.shape for ly in clf.net.layers]
    steps = list(cfg.timesteps)
    groups: dict[str, dict[str, Any]] = {}
    nmp_neurons = neuron_for(cal, shapes, v_dd_volts=cal.v_dd_volts, v_neg_volts=None)
    groups[neuron_digest(nmp_neurons)[:16]] = {"neurons": nmp_neurons, "pairs": [], "nmp": True}
    for vdd in cfg.v_dd_volts:
        for v in sweep_points(cal.at(neuron_supply(cal, vdd)), cfg.v_neg_volts):
            nrn = neuron_for(cal, shapes, v_dd_volts=vdd, v_neg_volts=v)
            g = groups.setdefault(neuron_digest(nrn)[:16], {"neurons": nrn, "pairs": []})
            g["pairs"].append((vdd, v))
    nmp_correct: dict[int, Any] = {}
    points = []
    keyed = []
    for fp, g in groups.items():
        key = content_hash({"inputs": inputs_key, "fp": fp, "steps": steps, "m": cfg.energy_samples,
                            "pairs": g["pairs"], "n": int(clf.x.shape[0]), "eta": cfg.eta,
                            "array_size": cfg.array_size})[:20]
        part = parts_dir / f"neuron_{key}.json" if parts_dir is not None else None
        keyed.append((fp, g, part, _read_part(part)))
    todo = [(fp, g, part) for fp, g, part, rec in keyed if rec is None]
    fresh: dict[str, dict[str, Any]] = {}
    for i in range(0, len(todo), VARIANTS_PER_PASS):
        chunk = todo[i:i + VARIANTS_PER_PASS]
        say(f"simulating {len(chunk)} neuron model(s) in one pass "
            f"({i + len(chunk)} of {len(todo)} to do)")
        sims = simulate_budgets_many(clf.net, clf.x, clf.y, [g["neurons"] for _, g, _ in chunk],
                                     steps=steps, batch=cfg.batch,
                                     energy_samples=cfg.energy_samples,
                                     scheduler=scheduler if scheduler is not None
                                     else cfg.scheduler)
        for (fp, g, part), (ok, counts) in zip(chunk, sims, strict=True):
            rec = {"correct": {str(t): pack(ok[k]) for k, t in enumerate(steps)}, "points": [
                {"v_dd_volts": vdd, "v_neg_volts": v,
                 "floor_theta": cal.at(neuron_supply(cal, vdd)).floor_theta(v),
                 "neuron_v_dd_volts": neuron_supply(cal, vdd),
                 "energy": {str(t): price(counts[t], cal, v_dd_volts=vdd, v_neg_volts=v,
                                          net=clf.net, inputs=clf.x, eta=cfg.eta,
                                          array_size=cfg.array_size) for t in steps}}
                for vdd, v in g["pairs"]]}
            if part is not None:
                atomic_write_json(part, rec)
            fresh[fp] = rec
    for fp, g, part, rec in keyed:
        rec = rec if rec is not None else fresh[fp]
        correct = {t: unpack(rec["correct"][str(t)]) for t in steps}
        if g.get("nmp"):
            nmp_correct = correct
        for p in rec["points"]:
            points.append(p | {"correct": correct,
                               "energy": {t: p["energy"][str(t)] for t in steps}})
        say(f"neuron {fp}: {len(rec['points'])} operating point(s); accuracy at T={steps[-1]} "
            f"{float(correct[steps[-1]].mean()):.4f}")
    rows = point_rows(nmp_correct, points, cfg.tolerance)
    budgets = decide(rows, tolerance=cfg.tolerance, default_v_dd=cal.v_dd_volts)
    rec: dict[str, Any] = {
        "rows": rows, "budgets": budgets, "headline_timesteps": steps[-1],
        "tolerance": cfg.tolerance, "confidence": CONFIDENCE, "decision_rule": DECISION_RULE,
        "study_rule_floor_theta": STUDY_RULE_FLOOR, "preset": preset_of(cal),
        "network": clf.info.get("network", ""), "simulations": len(groups),
        "operating_points": len(points),
        "calibration_v_dd_volts": cal.v_dd_volts,
        "notes": [NEURON_NOTE, f"energy per inference priced on the first "
                  f"{min(cfg.energy_samples or clf.x.shape[0], clf.x.shape[0])} test images "
                  f"(accuracy on all {clf.x.shape[0]}); every budget from one run to "
                  f"T = {steps[-1]} (the counts after each shorter budget kept by that run)"]}
    if cfg.ideal:
        rec["ideal_if_by_floor"] = _ideal(clf, steps, cfg.batch)
    return rec


def _ideal(clf: Classifier, steps: list[int], batch: int) -> list[dict[str, Any]]:
    """The plain IF at exactly the report floors (no circuit), for reference."""
    from cosim import IFNeuron

    out = []
    for f in REPORT_FLOORS:
        ok, _ = simulate_budgets(clf.net, clf.x, clf.y, IFNeuron(lower_bound=f), steps=steps[-1:],
                                 batch=batch, energy_samples=1)
        out.append({"floor_theta": f, "timesteps": steps[-1], "accuracy": float(ok[0].mean())})
    return out


def _read_part(part: Path | None) -> dict[str, Any] | None:
    """A finished part file, or None (none there, or unreadable: discarded with a one-line
    warning, then recomputed)."""
    if part is None or not part.is_file():
        return None
    try:
        rec = json.loads(part.read_text(encoding="utf-8"))
        if isinstance(rec, dict) and {"correct", "points"} <= rec.keys():
            return rec
    except (ValueError, OSError):
        pass
    import warnings

    warnings.warn(f"discarding the unreadable trade-off part {part.name}; recomputing it",
                  RuntimeWarning, stacklevel=3)
    part.unlink(missing_ok=True)
    return None


def run(cfg: TradeoffConfig, *, parts_dir: Path | None = None,
        progress: Callable[[str], None] | None = None) -> TradeoffResult:
    """Load the calibration, weights and data of ``cfg``; the trade-off with its decision."""
    from calib import Calibration
    from calib.io import provenance

    cal = Calibration.load(cfg.calibration)
    clf = load_classifier(network=cfg.network, weights=cfg.weights, dataset=cfg.dataset,
                          data_root=cfg.data_root, limit=cfg.limit)
    rec = evaluate(cal, clf, cfg, parts_dir=parts_dir, progress=progress)
    rec |= {"ann_accuracy": clf.ann_accuracy, "config": asdict(cfg),
            "provenance": provenance(command="nmpkit tradeoff", calibration=cfg.calibration,
                                     calibration_sources=cal.sources, **clf.info)}
    return TradeoffResult(rec)


__all__ = ["Classifier", "REPORT_FLOORS", "STUDY_RULE_FLOOR", "TradeoffConfig", "TradeoffResult",
           "evaluate", "load_classifier", "preset_of", "run", "sweep_points"]
