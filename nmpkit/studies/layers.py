"""Per-layer floors: one negative supply per layer group, and the least-energy allocation.

Every layer group gets its own V_NEG supply (its own pump), chosen from the calibration's
measured V_NEG table (``floor_levels``: the floor-table points, deepest first; the shallowest is
ZMP when its floor is 0 θ). An allocation is one table index per group; ``Evaluator`` simulates
it with the calibrated neurons (one per spiking layer, ``cosim.calibrated_neuron`` at that
layer's V_NEG, no mismatch) on the fast engine and caches it by the allocation tuple
(``nmpkit.studies.layers_eval``).

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calib.calibration import Calibration
from nmpkit.errors import ConfigError


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


__all__ = ["Alloc", "LayerGroups", "Level", "check_eta", "check_tolerance", "floor_levels",
           "make_groups"]
