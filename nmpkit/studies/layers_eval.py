"""Simulating one allocation of V_NEG levels to layer groups (``nmpkit.studies.layers``): the
``Evaluator`` runs the converted network with one calibrated neuron per spiking layer at its
group's V_NEG, prices it (``layers_energy``), caches it by the allocation tuple and, with a
``parts_dir``, keeps each finished allocation on disk so a killed search resumes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from calib.calibration import Calibration
from calib.energy_terms import ETA_DEFAULT
from nmpkit.errors import ConfigError
from nmpkit.studies import stats
from nmpkit.studies.layers import Alloc, LayerGroups, Level, check_eta


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
            array_size=self.array_size)
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


__all__ = ["Evaluation", "Evaluator", "final_correct"]
