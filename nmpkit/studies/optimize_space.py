"""The search space of `nmpkit optimize`: which `circuits.NeuronDesign` fields vary, and how.

A space is a tuple of `Param`s, each spelled on the command line as ``NAME=SPEC``:

* ``v_dd_volts=0.8:1.2`` — a float in [0.8, 1.2] (absolute, SI units);
* ``c_mem_farads=x0.5:x2:log`` — a multiplier of the preset's value in [0.5, 2], sampled on a
  log scale (``x`` marks a relative range, so one range serves both presets);
* ``preset=default,raised_rest`` — a categorical (only ``preset``).

``NAME`` is a `NeuronDesign` field (or ``preset``); an unknown name, an empty or reversed range,
a non-positive bound on a log scale or an unknown preset raises one `OptimizeError` naming it.

The safe operating area: the gate of a device between the rails sees up to V_DD − V_NEG, so a design
is admissible only when ``v_dd_volts - v_neg_volts <= max_gate_volts`` (default 1.8 V, the rated
voltage of the 1.8 V-class model cards). `sample_design` enforces it by construction: V_NEG is drawn
from its range cut at ``v_dd - max_gate_volts`` (an empty cut raises), so no trial is spent outside
the area. Supplies are drawn on a 10 mV grid (``SUPPLY_STEP``). For the study topology the reset
rail ``v_rst_volts`` must lie at or below V_NEG; where a sampled V_NEG is deeper than the preset's
rail, the rail follows it (``v_rst = v_neg``) and the trial records the design it simulated.

The study neuron's reset packet is sized to remove C_total·θ (``netlists/if_neuron.sub``: the sink
current ``i_reset_amps`` times a timer pulse that does not scale with the membrane), so for the
``study`` topology ``i_reset_amps`` follows C_total = c_mem + c_fb when either capacitor is searched
(unless its range is absolute: then it is used as given), and a relative ``i_reset_amps`` range is a
multiplier of that matched packet, capped at ``STUDY_PACKET_MAX`` (a packet larger than C_total·θ
resets the membrane below rest and below a shallow floor: the calibration refuses such a neuron, so
no trial is spent on one). Without this coupling every study design of the default space was
refused (results/optimize.md, 2026-12-03).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from circuits.design import PRESETS, NeuronDesign, preset
from nmpkit.errors import NmpkitError

DEFAULT_MAX_GATE_VOLTS = 1.8
"""Rated gate voltage of the generic 1.8 V-class cards (``netlists/models/*.lib``)."""

DEFAULT_SPACE: tuple[str, ...] = (
    "preset=default,raised_rest",
    "v_dd_volts=0.8:1.2",
    "v_neg_volts=-1.0:0.0",
    "c_mem_farads=x0.5:x2:log",
    "i_reset_amps=x0.5:x1.3:log",
    "mirror_ratio=0.5:2:log",
)
"""The default space: preset, supplies, membrane C, the reset packet, mirror sizing."""

STUDY_PACKET_MAX = 1.0
"""Largest multiplier of the matched reset packet searched for the ``study`` topology."""

SUPPLY_FIELDS = ("v_dd_volts", "v_neg_volts", "v_rst_volts")
SUPPLY_STEP = 0.01
"""Supplies are drawn on a 10 mV grid (so a design repeats exactly and costs nothing)."""

_NOT_SEARCHABLE = {"model_cards", "topology"}  # topology comes with the preset


class OptimizeError(NmpkitError):
    """Bad optimizer input (space, budget, constraint)."""


@dataclass(frozen=True, slots=True)
class Param:
    """One searched parameter: a float range (``relative``: a multiplier of the preset's value)
    or, for ``preset``, a tuple of ``choices``."""

    name: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    relative: bool = False
    choices: tuple[str, ...] = ()

    def spec(self) -> str:
        if self.choices:
            return f"{self.name}={','.join(self.choices)}"
        x = "x" if self.relative else ""
        return f"{self.name}={x}{self.low:g}:{x}{self.high:g}" + (":log" if self.log else "")


def _fields() -> set[str]:
    return {f.name for f in dataclasses.fields(NeuronDesign)} - _NOT_SEARCHABLE


def _number(text: str, name: str, spec: str) -> tuple[float, bool]:
    rel = text.startswith("x")
    try:
        value = float(text[1:] if rel else text)
    except ValueError:
        raise OptimizeError(f"space {name}: bound {text!r} in {spec!r} is not a number "
                            "(expected e.g. 0.8:1.2 or x0.5:x2:log)") from None
    if not math.isfinite(value):
        raise OptimizeError(f"space {name}: bound {text!r} in {spec!r} must be finite")
    return value, rel


def parse_param(spec: str) -> Param:
    """``NAME=SPEC`` → `Param` (see the module docstring)."""
    if not isinstance(spec, str) or "=" not in spec:
        raise OptimizeError(f"space entry {spec!r}: expected NAME=LO:HI[:log] or "
                            "preset=A,B")
    name, _, body = (s.strip() for s in spec.partition("="))
    if name == "preset":
        choices = tuple(c.strip() for c in body.split(",") if c.strip())
        bad = [c for c in choices if c not in PRESETS]
        if not choices or bad:
            raise OptimizeError(f"space preset: choices must be a non-empty subset of "
                                f"{list(PRESETS)}, got {body!r}")
        return Param(name="preset", choices=tuple(dict.fromkeys(choices)))
    if name not in _fields():
        raise OptimizeError(f"space: unknown parameter {name!r}; expected 'preset' or one of "
                            f"{sorted(_fields())}")
    parts = body.split(":")
    log = len(parts) == 3 and parts[2] == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise OptimizeError(f"space {name}: expected LO:HI or LO:HI:log, got {body!r}")
    (lo, rel_lo), (hi, rel_hi) = _number(parts[0], name, body), _number(parts[1], name, body)
    if rel_lo != rel_hi:
        raise OptimizeError(f"space {name}: both bounds relative (x) or both absolute, got "
                            f"{body!r}")
    if not lo < hi:
        raise OptimizeError(f"space {name}: empty range {body!r} (need LO < HI)")
    if (log or rel_lo) and lo <= 0:
        raise OptimizeError(f"space {name}: a log or relative range needs LO > 0, got {body!r}")
    return Param(name=name, low=lo, high=hi, log=log, relative=rel_lo)


def parse_space(specs: tuple[str, ...] | list[str]) -> tuple[Param, ...]:
    """Parse every entry; a parameter named twice is refused."""
    if not specs:
        raise OptimizeError("space: no parameters to search (expected at least one NAME=SPEC)")
    params = tuple(parse_param(s) for s in specs)
    names = [p.name for p in params]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise OptimizeError(f"space: parameter {dup[0]!r} given more than once")
    return params


def soa_ok(design: NeuronDesign, max_gate_volts: float) -> bool:
    """Whether V_DD − V_NEG is within the rated gate voltage."""
    return design.v_dd_volts - design.v_neg_volts <= max_gate_volts + 1e-12


def sample_design(trial: Any, space: tuple[Param, ...], *, max_gate_volts: float,
                  fixed: dict[str, Any] | None = None) -> NeuronDesign:
    """Ask ``trial`` (an Optuna trial) for every parameter and build the design.

    Raises:
        OptimizeError: the SOA leaves no V_NEG in its range at the sampled V_DD.
        circuits.errors.DesignError: the combination is not a valid design (e.g. a raised-rest
            packet larger than its feedback kick).
    """
    by = {p.name: p for p in space}
    name = "default"
    if "preset" in by:
        name = trial.suggest_categorical("preset", list(by["preset"].choices))
    base = preset(name, **(fixed or {}))
    values: dict[str, Any] = {}
    order = [p for p in space if p.name not in ("preset", "v_neg_volts")]
    if "v_neg_volts" in by:
        order.append(by["v_neg_volts"])  # after V_DD: its range depends on V_DD
    for p in order:
        lo, hi = p.low, p.high
        if p.name == "v_neg_volts":
            v_dd = values.get("v_dd_volts", base.v_dd_volts)
            lo = max(lo, v_dd - max_gate_volts)
            if lo > hi:
                raise OptimizeError(
                    f"space v_neg_volts: no value in [{p.low:g}, {p.high:g}] V keeps V_DD − V_NEG "
                    f"<= {max_gate_volts:g} V at V_DD = {v_dd:g} V")
        if p.name == "i_reset_amps" and p.relative and base.topology == "study":
            hi = min(hi, STUDY_PACKET_MAX)
            if lo > hi:
                raise OptimizeError(
                    f"space i_reset_amps: the study neuron's packet multiplier must reach "
                    f"<= {STUDY_PACKET_MAX:g} (larger resets below rest), got {p.spec()!r}")
        step = None
        if p.name in SUPPLY_FIELDS and not p.log:  # a 10 mV grid: repeated designs hit the cache
            lo, hi = math.ceil(lo / SUPPLY_STEP - 1e-9) * SUPPLY_STEP, hi
            hi = lo + math.floor((hi - lo) / SUPPLY_STEP + 1e-9) * SUPPLY_STEP
            lo, hi = round(lo, 6), round(hi, 6)
            if hi < lo:
                raise OptimizeError(f"space {p.name}: no {SUPPLY_STEP:g} V step inside "
                                    f"[{p.low:g}, {p.high:g}] V within the SOA")
            step = SUPPLY_STEP
        x = trial.suggest_float(p.name, lo, hi, log=p.log, step=step) if lo < hi else lo
        if step is not None:
            x = round(x, 6)
        values[p.name] = x * getattr(base, p.name) if p.relative else x
    v_neg = values.get("v_neg_volts", base.v_neg_volts)
    if base.topology == "study":
        if base.v_rst_volts > v_neg:
            values["v_rst_volts"] = v_neg
        if "i_reset_amps" not in by or by["i_reset_amps"].relative:  # absolute: as asked
            values["i_reset_amps"] = matched_reset_amps(base, values)
    return dataclasses.replace(base, **values)


def matched_reset_amps(base: NeuronDesign, values: dict[str, Any]) -> float:
    """The ``study`` neuron's reset sink current for the sampled ``values``: the preset's current
    scaled by the new C_total / the preset's (the packet keeps removing C_total·θ), times the
    sampled multiplier of a relative ``i_reset_amps`` range (already applied in ``values``)."""
    c_total = values.get("c_mem_farads", base.c_mem_farads) + values.get("c_fb_farads",
                                                                          base.c_fb_farads)
    ratio = c_total / (base.c_mem_farads + base.c_fb_farads)
    return values.get("i_reset_amps", base.i_reset_amps) * ratio


__all__ = ["DEFAULT_MAX_GATE_VOLTS", "DEFAULT_SPACE", "STUDY_PACKET_MAX", "OptimizeError", "Param",
           "matched_reset_amps", "parse_param", "parse_space", "sample_design", "soa_ok"]
