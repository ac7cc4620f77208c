"""Per-layer floors: one negative supply per layer group, and the least-energy allocation.

Every layer group gets its own V_NEG supply (its own pump), chosen from the calibration's
measured V_NEG table (``floor_levels``: the floor-table points, deepest first; the shallowest is
ZMP when its floor is 0 θ). An allocation is one table index per group; ``Evaluator`` simulates
it with the calibrated neurons (one per spiking layer, ``cosim.calibrated_neuron`` at that
layer's V_NEG, no mismatch) on the fast engine and caches it by the allocation tuple.

Energy per inference of an allocation: the circuit's energy model (``calib.energy_terms``, the
terms of ``cosim.energy(..., eta=...)``) with each layer at its own group's V_NEG, each group with
its own charge pump (efficiency ``eta``, default 0.5) and its own bias arrays
(``nmpkit.studies.layers_energy``). ``eta=None`` (or a calibration without the per-V_DD energy
fit) falls back to the per-event pricing with η = 1; ``Evaluator.energy_note`` says which.

The decision rule (``nmpkit.studies.stats``): an allocation is feasible when its accuracy drop
against NMP (no floor) on the same images is, at 95% confidence (Newcombe's paired interval,
McNemar's exact p beside it), at most ``tolerance``. The search (``search_floors``):

1. NMP, then every uniform allocation (one global floor); the *global floor* is the
   least-energy feasible one;
2. coordinate descent from it: for each group in layer order, try every other level with the
   other groups fixed, move to the least-energy feasible one if it costs less; repeat passes
   until one changes nothing (or ``max_passes``);
3. per group, whether it can live at ZMP: the chosen allocation with that group alone at the
   shallowest level, feasible or not.

The search starts from the global floor, so its answer never costs more than it. Each feasibility
test is a 95% test and many are made; the chosen allocation's own comparison is what is reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from calib.calibration import Calibration
from calib.energy_terms import ETA_DEFAULT
from nmpkit.errors import ConfigError
from nmpkit.studies import stats


def check_eta(eta: Any) -> float:
    """``eta`` (the charge-pump efficiency) in (0, 1], else ConfigError naming it."""
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not 0 < eta <= 1:
        raise ConfigError(f"eta (the negative supplies' charge-pump efficiency) must be in "
                          f"(0, 1], got {eta!r}")
    return float(eta)


@dataclass(frozen=True, slots=True)
class LayerGroups:
    """Group names and the spiking-layer indices of each (every layer in exactly one group)."""

    names: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]
    layer_names: tuple[str, ...]

    def group_of(self, layer: int) -> int:
        return next(g for g, m in enumerate(self.members) if layer in m)


def make_groups(layer_names: Sequence[str],
                groups: Mapping[str, Sequence[str | int]] | None = None) -> LayerGroups:
    """Layer groups from ``{group: [layer name or index, ...]}``; layers named in no group get a
    group of their own (named after the layer). None or {}: every spiking layer its own group.

    Raises:
        ConfigError: an empty group, an unknown layer, or a layer in two groups.
    """
    names = tuple(str(n) for n in layer_names)
    if not names:
        raise ConfigError("layer groups: the network has no spiking layers")
    taken: dict[int, str] = {}
    out: list[tuple[str, tuple[int, ...]]] = []
    for gname, layers in (groups or {}).items():
        if isinstance(layers, str | int) or not layers:
            raise ConfigError(f"layer group {gname!r} is empty or not a list, got {layers!r}; "
                              f"expected a non-empty list of layers out of {list(names)}")
        idx = []
        for ly in layers:
            if isinstance(ly, int) and not isinstance(ly, bool) and 0 <= ly < len(names):
                i = ly
            elif isinstance(ly, str) and ly in names:
                i = names.index(ly)
            else:
                raise ConfigError(f"layer group {gname!r}: unknown layer {ly!r}; expected one "
                                  f"of {list(names)} (or an index 0..{len(names) - 1})")
            if i in taken:
                raise ConfigError(f"layer {names[i]!r} is in two layer groups "
                                  f"({taken[i]!r} and {gname!r}); expected each in one")
            taken[i] = str(gname)
            idx.append(i)
        out.append((str(gname), tuple(sorted(idx))))
    out += [(names[i], (i,)) for i in range(len(names)) if i not in taken]
    out.sort(key=lambda g: g[1][0])
    if len({g for g, _ in out}) != len(out):
        raise ConfigError(f"layer groups: duplicate group names in {[g for g, _ in out]}")
    return LayerGroups(names=tuple(g for g, _ in out), members=tuple(m for _, m in out),
                       layer_names=names)


@dataclass(frozen=True, slots=True)
class Level:
    """One entry of the V_NEG table: the supply and the measured floor it gives (θ)."""

    v_neg_volts: float
    floor_theta: float


def floor_levels(cal: Calibration, v_neg_volts: Sequence[float] | None = None) -> tuple[Level, ...]:
    """The V_NEG table the search moves over, deepest floor first (default: the calibration's
    floor-table points ≤ 0 V). Two supplies giving the same floor keep the shallower one.

    Raises:
        ConfigError: a V_NEG > 0 or outside the floor table, or fewer than one level.
    """
    lo, hi = min(cal.floor_v_neg_volts), max(cal.floor_v_neg_volts)
    vs = [v for v in cal.floor_v_neg_volts if v <= 0] if v_neg_volts is None else list(v_neg_volts)
    for v in vs:
        if not (isinstance(v, int | float) and not isinstance(v, bool)
                and lo - 1e-9 <= v <= min(hi, 0.0) + 1e-9):
            raise ConfigError(f"v_neg_volts: {v!r} is outside the calibrated floor table; "
                              f"expected a value in [{lo:g}, {min(hi, 0.0):g}] V")
    if not vs:
        raise ConfigError("v_neg_volts: no V_NEG levels to search over; expected at least one")
    by_floor: dict[float, float] = {}
    for v in sorted({float(v) for v in vs}):
        by_floor[round(cal.floor_theta(v), 9)] = v  # ascending V_NEG: the shallower one wins
    return tuple(Level(v_neg_volts=v, floor_theta=f) for f, v in sorted(by_floor.items()))


def check_tolerance(tolerance: float) -> float:
    """``tolerance`` as an accuracy fraction in (0, 1), else ConfigError naming it."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) \
            or not 0 < tolerance < 1:
        raise ConfigError(f"tolerance must be an accuracy fraction in (0, 1) (0.005 = 0.5 %p), "
                          f"got {tolerance!r}")
    return float(tolerance)


Alloc = tuple[int, ...] | None  # a level index per group; None = NMP (no floor)


@dataclass(slots=True)
class Evaluation:
    """One simulated allocation: per-sample correctness, energy and the floor diagnostic."""

    alloc: Alloc
    v_neg_by_layer: tuple[float | None, ...]
    correct: np.ndarray
    energy_joules: float
    layer_energy: tuple[dict[str, float], ...]
    floor_charge: tuple[float, ...]
    floor_hit_fraction: tuple[float, ...]
    spikes_per_inference: tuple[float, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy(self) -> stats.Proportion:
        return stats.accuracy(self.correct)


class Evaluator:
    """Simulates allocations of ``levels`` to ``groups``, each once (cached by the tuple)."""

    def __init__(self, cal: Calibration, net: Any, x: torch.Tensor, y: torch.Tensor, *,
                 groups: LayerGroups, levels: Sequence[Level], timesteps: int,
                 v_dd_volts: float | None = None, batch: int = 250,
                 parts_dir: Path | None = None, parts_key: str = "",
                 eta: float | None = ETA_DEFAULT, array_size: int | None = None) -> None:
        if len(groups.layer_names) != len(net.layers):
            raise ConfigError(f"layer groups name {len(groups.layer_names)} layers, the network "
                              f"has {len(net.layers)}")
        self.cal, self.net, self.x, self.y = cal, net, x, y
        self.groups, self.levels = groups, tuple(levels)
        self.timesteps, self.batch = int(timesteps), int(batch)
        self.v_dd_volts = float(cal.v_dd_volts if v_dd_volts is None else v_dd_volts)
        self.cache: dict[Alloc, Evaluation] = {}
        self.simulations = 0
        self.cache_hits = 0
        self.restored = 0
        self.parts_dir, self.parts_key = parts_dir, parts_key
        if eta is not None:
            check_eta(eta)
        if array_size is not None and (isinstance(array_size, bool)
                                       or not isinstance(array_size, int) or array_size < 1):
            raise ConfigError(f"array_size must be an integer >= 1 or None, got {array_size!r}")
        self.eta, self.array_size = eta, array_size
        self.energy_note = ""
        self._fan_cache: dict = {}
        self._neurons: dict[tuple[int, float | None], Any] = {}

    def _neuron(self, layer: int, v: float | None) -> Any:
        from cosim.calibrated import calibrated_neuron

        key = (layer, v)
        if key not in self._neurons:
            self._neurons[key] = calibrated_neuron(self.cal, v_neg_volts=v,
                                                   shape=self.net.layers[layer].shape)
        return self._neurons[key]

    def v_neg_by_layer(self, alloc: Alloc) -> tuple[float | None, ...]:
        if alloc is None:
            return (None,) * len(self.net.layers)
        if len(alloc) != len(self.groups.names) or not all(
                0 <= k < len(self.levels) for k in alloc):
            raise ConfigError(f"allocation {alloc!r}: expected one level index in "
                              f"0..{len(self.levels) - 1} per group {list(self.groups.names)}")
        return tuple(self.levels[alloc[self.groups.group_of(i)]].v_neg_volts
                     for i in range(len(self.net.layers)))

    def __call__(self, alloc: Alloc) -> Evaluation:
        alloc = None if alloc is None else tuple(int(k) for k in alloc)
        if alloc in self.cache:
            self.cache_hits += 1
            return self.cache[alloc]
        part = self._part(alloc)
        if part is not None and part.is_file():
            ev = _from_json(alloc, json.loads(part.read_text()))
            self.energy_note = ev.extra.get("energy_note", self.energy_note)
            self.restored += 1
        else:
            ev = self._simulate(alloc)
            self.simulations += 1
            if part is not None:
                from calib.io import atomic_write_json

                atomic_write_json(part, _to_json(ev))
        self.cache[alloc] = ev
        return ev

    def _part(self, alloc: Alloc) -> Path | None:
        """The file of a finished allocation in ``parts_dir``: keyed by ``parts_key`` (the
        caller's hash of calibration, data and T) and the layers' V_NEG, so a killed search
        resumes without re-simulating what it finished."""
        if self.parts_dir is None:
            return None
        from calib.io import content_hash

        key = content_hash({"key": self.parts_key, "v_neg": self.v_neg_by_layer(alloc),
                            "v_dd": self.v_dd_volts, "n": int(self.x.shape[0]), "eta": self.eta,
                            "array_size": self.array_size,
                            "groups": [list(m) for m in self.groups.members]})[:20]
        return Path(self.parts_dir) / f"alloc_{key}.json"

    def _simulate(self, alloc: Alloc) -> Evaluation:
        import cosim
        from nmpkit.studies.batched import batch_slices

        vs = self.v_neg_by_layer(alloc)
        neurons = tuple(self._neuron(i, v) for i, v in enumerate(vs))
        cfg = cosim.SimConfig(timesteps=self.timesteps, neuron=neurons, record_floor=True)
        parts, correct = [], []
        for sl in batch_slices(int(self.x.shape[0]), self.batch):
            res = cosim.simulate(self.net, self.x[sl], cfg)
            correct.append(final_correct(res, self.y[sl]))
            parts.append(res)
        res = cosim.SimulationResult.concat(parts) if len(parts) > 1 else parts[0]
        total, per_layer = self._energy(res, vs)
        return Evaluation(
            alloc=alloc, v_neg_by_layer=vs, correct=np.concatenate(correct),
            energy_joules=total, layer_energy=per_layer, floor_charge=res.floor_charge,
            floor_hit_fraction=res.floor_hit_fraction,
            spikes_per_inference=tuple(float(c.double().sum()) / res.batch_size
                                       for c in res.spike_counts),
            extra={"energy_note": self.energy_note})

    def _energy(self, res: Any, vs: Sequence[float | None]) -> tuple[float, tuple]:
        """Total joules per inference, and per layer {total, vneg, bias} joules at its own V_NEG
        (``layers_energy.layer_energy``)."""
        from nmpkit.studies.layers_energy import layer_energy

        total, per, self.energy_note = layer_energy(
            res, self.cal, v_dd_volts=self.v_dd_volts, v_neg_by_layer=vs,
            members=self.groups.members, net=self.net, inputs=self.x, eta=self.eta,
            array_size=self.array_size, fan_cache=self._fan_cache)
        return total, per


def _to_json(e: Evaluation) -> dict[str, Any]:
    return {"v_neg_by_layer": list(e.v_neg_by_layer), "correct": e.correct.astype(int).tolist(),
            "energy_joules": e.energy_joules, "layer_energy": list(e.layer_energy),
            "floor_charge": list(e.floor_charge), "floor_hit_fraction": list(e.floor_hit_fraction),
            "spikes_per_inference": list(e.spikes_per_inference),
            "energy_note": e.extra.get("energy_note", "")}


def _from_json(alloc: Alloc, d: dict[str, Any]) -> Evaluation:
    return Evaluation(
        alloc=alloc, v_neg_by_layer=tuple(d["v_neg_by_layer"]),
        correct=np.asarray(d["correct"], dtype=bool), energy_joules=float(d["energy_joules"]),
        layer_energy=tuple(d["layer_energy"]), floor_charge=tuple(d["floor_charge"]),
        floor_hit_fraction=tuple(d["floor_hit_fraction"]),
        spikes_per_inference=tuple(d["spikes_per_inference"]),
        extra={"energy_note": d.get("energy_note", "")})


def final_correct(res: Any, labels: torch.Tensor) -> np.ndarray:
    """(B,) bool: the class with the most output spikes after T steps (ties: the lowest index,
    the readout of ``SimulationResult.accuracy_per_step``) equals the label."""
    counts = res.output_counts.reshape(res.batch_size, -1).long()
    top = counts.max(1, keepdim=True).values
    first = (counts == top).long().argmax(1)  # first index holding the maximum
    return (first == labels.reshape(-1).long()).numpy()
