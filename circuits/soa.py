"""Safe operating area: the largest voltage across a gate oxide vs the model cards' rating.

Both model sets of ``netlists/models/`` describe a 1.8 V-class thin oxide (tox ≈ 4 nm); a gate
that sees more than ``RATED_GATE_VOLTS`` over its life wears out (TDDB) or breaks. The neuron's
negative supplies put V_DD − V_NEG (and, in the ``study`` topology, V_DD − V_RST) across:

* ``study``: the level shifter and reset switch (MP9, MP10, MN9, MN10, MP11, MN11, MR1) and the
  membrane controller (MC1–MC4) swing vrst..vdd; the sense inverter (MP3, MN3) and the mirror
  outputs (MP2, and MN2c, the upper device of the inhibitory self-cascode, whose drain is the
  membrane) see the membrane at the floor (V_NEG) against V_DD;
* ``raised_rest``: the level shifter and reset switch (MP9–MP11, MN9–MN11, MR1) swing vneg..vdd;
  the sense inverter (MP3, MN3) and MP2/MN2 see the floor.

`check(design)` returns the violations; `enforce(design, strict=...)` raises `DesignError`
(strict) or warns `SOAWarning` and returns the record that `circuits.characterize` writes into
the tables' provenance (``soa``). ``v_neg_path_oxide="thick"`` (`circuits.oxide`) puts every
device named here on the thick-oxide cards, rated ``THICK_RATED_GATE_VOLTS`` (3.3 V).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from circuits.design import NeuronDesign
from circuits.errors import DesignError

RATED_GATE_VOLTS: dict[str, float] = {"generic_bsim3": 1.8, "generic_level1": 1.8}
"""Rated gate-oxide voltage of each model set (V): 1.8 V-class thin oxide."""

_RAIL_DEVICES = {"study": ("MP9", "MP10", "MN9", "MN10", "MP11", "MN11", "MR1",
                           "MC1", "MC2", "MC3", "MC4"),
                 "raised_rest": ("MP9", "MP10", "MN9", "MN10", "MP11", "MN11", "MR1")}
_FLOOR_DEVICES = {"study": ("MP3", "MN3", "MP2", "MN2c"),
                  "raised_rest": ("MP3", "MN3", "MP2", "MN2")}


class SOAWarning(UserWarning):
    """A design drives a gate oxide above its rating (recorded, not refused)."""


@dataclass(frozen=True, slots=True)
class Violation:
    """Devices whose gate oxide sees ``volts`` (> ``rated_volts``), and from which rails."""

    devices: tuple[str, ...]
    volts: float
    rated_volts: float
    across: str

    def text(self) -> str:
        return (f"{', '.join(self.devices)} see {self.volts:.3g} V across the gate oxide "
                f"({self.across}), above the {self.rated_volts:g} V rating of the model cards")


def _rated(design: NeuronDesign) -> float:
    """The rating of the devices this check names: thick-oxide ones with the thick option."""
    from circuits.oxide import THICK_RATED_GATE_VOLTS

    if design.v_neg_path_oxide == "thick":
        return THICK_RATED_GATE_VOLTS[design.model_cards]
    return RATED_GATE_VOLTS[design.model_cards]


def check(design: NeuronDesign, *, v_dd_volts: float | None = None,
          v_neg_volts: float | None = None) -> list[Violation]:
    """The violations of ``design`` at (``v_dd_volts``, ``v_neg_volts``) (default: its own)."""
    vdd = design.v_dd_volts if v_dd_volts is None else float(v_dd_volts)
    vneg = design.v_neg_volts if v_neg_volts is None else float(v_neg_volts)
    rated = _rated(design)
    out = []
    if design.topology == "study":
        rail = min(design.v_rst_volts, vneg)
        if vdd - rail > rated + 1e-9:
            out.append(Violation(_RAIL_DEVICES["study"], vdd - rail, rated,
                                 f"V_DD {vdd:g} V - V_RST {rail:g} V"))
    elif vdd - vneg > rated + 1e-9:
        out.append(Violation(_RAIL_DEVICES["raised_rest"], vdd - vneg, rated,
                             f"V_DD {vdd:g} V - V_NEG {vneg:g} V"))
    if vdd - vneg > rated + 1e-9:
        out.append(Violation(_FLOOR_DEVICES[design.topology], vdd - vneg, rated,
                             f"V_DD {vdd:g} V - the floor V_NEG {vneg:g} V"))
    return out


def enforce(design: NeuronDesign, *, strict: bool = False, warn: bool = True,
            supplies: list[tuple[float, float]] | None = None) -> dict[str, Any]:
    """Check ``design`` at each (V_DD, V_NEG) of ``supplies`` (default: its own); strict: raise
    `DesignError` naming the devices and the voltage; else warn `SOAWarning` once (``warn``) and
    return ``{"rated_gate_volts", "worst_volts", "violations": [text, ...]}`` for provenance."""
    supplies = supplies or [(design.v_dd_volts, design.v_neg_volts)]
    found: list[Violation] = []
    for vdd, vneg in supplies:
        found += check(design, v_dd_volts=vdd, v_neg_volts=vneg)
    worst = max(found, key=lambda v: v.volts, default=None)
    texts = sorted({v.text() for v in found})
    if worst is not None:
        msg = (f"safe operating area: {worst.text()}" + (f" (and {len(texts) - 1} more)"
                                                         if len(texts) > 1 else ""))
        if strict:
            raise DesignError(msg)
        if warn:
            warnings.warn(msg, SOAWarning, stacklevel=2)
    return {"rated_gate_volts": _rated(design), "v_neg_path_oxide": design.v_neg_path_oxide,
            "worst_volts": None if worst is None else worst.volts, "violations": texts}


__all__ = ["RATED_GATE_VOLTS", "SOAWarning", "Violation", "check", "enforce"]
