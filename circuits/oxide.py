"""The thick-oxide option of the V_NEG path: other cards and sizes for the devices that see V_NEG.

``NeuronDesign.v_neg_path_oxide = "thick"`` renders the devices whose gate oxide sees
V_DD − V_NEG or V_DD − V_RST (``THICK_DEVICES``: the ones `circuits.soa` names) with the model
set's thick-oxide cards ``nch_thick`` / ``pch_thick`` (a 3.3 V-class oxide, tox 7.5 nm, rated
``THICK_RATED_GATE_VOLTS``) and a channel length of at least ``THICK_MIN_LENGTH_METERS``; every
other device keeps the thin 1.8 V cards. The subcircuit file is not changed: `apply` rewrites its
text when a deck is built (`circuits.render.subckt_text`, `circuits.spice_network`), so the thin
default renders byte for byte as before.
"""

from __future__ import annotations

import re

from circuits.errors import DesignError

OXIDES: tuple[str, ...] = ("thin", "thick")
"""Values of ``NeuronDesign.v_neg_path_oxide``."""
THICK_RATED_GATE_VOLTS: dict[str, float] = {"generic_bsim3": 3.3, "generic_level1": 3.3}
"""Rated gate-oxide voltage of each model set's ``*_thick`` cards (V)."""
THICK_MIN_LENGTH_METERS = 3.5e-7
"""Shortest channel of a thick-oxide device (a 3.3 V-class rule)."""
THICK_DEVICES: dict[str, tuple[str, ...]] = {
    "study": ("MP9", "MP10", "MN9", "MN10", "MP11", "MN11", "MR1", "MC1", "MC2", "MC3", "MC4",
              "MP3", "MN3", "MP2", "MN2", "MN2c", "MP1", "MN1", "MN1c", "MP8", "MN8"),
    "raised_rest": ("MP9", "MP10", "MN9", "MN10", "MP11", "MN11", "MR1", "MP3", "MN3", "MP2",
                    "MN2", "MP1", "MN1"),
}
"""Devices of each topology that the thick option moves to thick oxide: `circuits.soa`'s rail
and floor devices, plus the devices that must match them: the mirror inputs MP1/MN1 (a thin
input would set a gate voltage 0.2 V short of a thick output's threshold) and, in ``study``, the
timer's detector MP8/MN8 (the replica of the sense inverter MP3/MN3 whose switching point sets
the charge packet)."""

THICK_LENGTHS_METERS: dict[str, float] = {"MN9": 8e-6, "MN10": 8e-6}
"""Channel lengths the thick option sets outright: the level shifter's cross-coupled NMOS pair
(V_GS up to V_DD − V_RST) made weak enough for its thick PMOS inputs (V_SG = V_DD) to flip it."""

_L = re.compile(r" l=(\{[^}]*\}|[^ ]+)")


def _length(match: re.Match[str]) -> str:
    value = match.group(1)
    if value.startswith("{"):
        return f" l={{max({value[1:-1]},{THICK_MIN_LENGTH_METERS:g})}}"
    return f" l={max(float(value), THICK_MIN_LENGTH_METERS):g}"


def apply(text: str, *, oxide: str, topology: str) -> str:
    """``text`` (a topology's subcircuit) with ``oxide`` applied to ``THICK_DEVICES``.

    Raises:
        DesignError: an unknown oxide or topology, or a listed device missing from the text.
    """
    if oxide not in OXIDES:
        raise DesignError(f"v_neg_path_oxide must be one of {list(OXIDES)}, got {oxide!r}")
    if topology not in THICK_DEVICES:
        raise DesignError(f"topology must be one of {sorted(THICK_DEVICES)}, got {topology!r}")
    if oxide == "thin":
        return text
    wanted = {d.lower() for d in THICK_DEVICES[topology]}
    seen: set[str] = set()
    out = []
    for line in text.split("\n"):
        parts = line.split(" ", 6)
        if parts and parts[0].lower() in wanted and len(parts) > 6 and parts[5] in ("nch", "pch"):
            seen.add(parts[0].lower())
            parts[5] += "_thick"
            line = " ".join(parts)
            fixed = THICK_LENGTHS_METERS.get(parts[0].upper())
            line = (_L.sub(f" l={fixed:g}", line, count=1) if fixed is not None
                    else _L.sub(_length, line, count=1))
        out.append(line)
    if seen != wanted:
        raise DesignError(f"thick oxide: devices {sorted(wanted - seen)} not found in the "
                          f"{topology!r} subcircuit")
    return "\n".join(out)


__all__ = ["OXIDES", "THICK_DEVICES", "THICK_MIN_LENGTH_METERS", "THICK_RATED_GATE_VOLTS",
           "apply"]
