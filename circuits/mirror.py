"""DC-level checks of the input mirrors: gain of each copy with the membrane held at a voltage.

``mirror_gains(design, i_amps=..., v_mem_volts=...)`` holds the membrane with a voltage source,
drives the excitatory or the inhibitory input with ``i_amps`` and reads the copy through the
subcircuit's 0 V meters (``Vexc_meter``, ``Vinh_meter``, ``study`` topology only): gain = copy /
input. The excitatory copy depends on V_DD - V_mem, the inhibitory one on V_mem - V_NEG, so their
ratio over V_NEG is what tells whether inhibition and excitation weigh the same.

The characterization's ``mirror`` points (`circuits.point`) measure both gains at
``MIRROR_V_MEM_FRACTION`` · V_DD, the middle of the integration range rest (0 V) .. threshold
(≈ V_DD/2); the calibration keeps them per V_DD and V_NEG (``Calibration.inh_gain_ratio``).
"""

from __future__ import annotations

import re

from circuits.design import NeuronDesign
from circuits.errors import DesignError
from circuits.ngspice import run_with_retries
from circuits.render import ATTEMPTS, Stimulus, render_deck, spice_number

MIRROR_V_MEM_FRACTION = 1.0 / 3.0
"""Membrane voltage of a characterization ``mirror`` point, as a fraction of V_DD."""


def mirror_deck(design: NeuronDesign, kind: str, *, i_amps: float, v_mem_volts: float,
                attempt: int = 0) -> str:
    """The deck that reads the ``kind`` ("exc" or "inh") copy of ``i_amps`` with the membrane
    held at ``v_mem_volts`` (the input as a DC source: the transient starts at the operating
    point; a step from 0 leaves the long-L gates settling, ~1 % off at the end)."""
    if design.topology != "study":
        raise DesignError(f"mirror_gains needs the study topology, got {design.topology!r}")
    if kind not in ("exc", "inh"):
        raise DesignError(f"kind must be 'exc' or 'inh', got {kind!r}")
    vm = spice_number(v_mem_volts, name="v_mem_volts")
    ia = spice_number(i_amps, name="i_amps")
    if not i_amps > 0:
        raise DesignError(f"i_amps must be > 0, got {i_amps!r}")
    t_stop = 2e-12 / i_amps + 1e-6  # the long-L gates charge to their operating point, then settle
    stim = Stimulus(i_exc_amps=i_amps if kind == "exc" else 0.0,
                    i_inh_amps=i_amps if kind == "inh" else 0.0,
                    t_stop_seconds=t_stop, t_max_step_seconds=t_stop / 100)
    deck = render_deck(design, stim, attempt=attempt)
    deck = re.sub(r"^\.ic v\(mem\)=.*$", f"Vhold mem 0 DC {vm}", deck, flags=re.M)
    name = "Iexc exc 0" if kind == "exc" else "Iinh 0 inh"
    return re.sub(rf"^{name} PWL\(.*$", f"{name} DC {ia}", deck, flags=re.M)


def mirror_gains(design: NeuronDesign, *, i_amps: float, v_mem_volts: float,
                 point: dict | None = None) -> dict[str, float]:
    """``{"gain_exc": ..., "gain_inh": ...}`` of ``design`` (its supplies) at ``i_amps`` with the
    membrane held at ``v_mem_volts``.

    Raises:
        DesignError: not the ``study`` topology (only it meters the inhibitory copy).
        SimulationError: ngspice failed.
    """
    out: dict[str, float] = {}
    for kind in ("exc", "inh"):
        w, _ = run_with_retries(
            lambda a, kind=kind: mirror_deck(design, kind, i_amps=i_amps,
                                             v_mem_volts=v_mem_volts, attempt=a),
            attempts=len(ATTEMPTS), vectors={f"v.x1.v{kind}_meter#branch": "i"}, point=point)
        out[f"gain_{kind}"] = float(w["i"][-1]) / i_amps
    return out


__all__ = ["MIRROR_V_MEM_FRACTION", "mirror_deck", "mirror_gains"]
