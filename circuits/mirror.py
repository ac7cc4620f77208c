"""DC-level checks of the input mirrors: gain of each copy with the membrane held at a voltage.

``mirror_gains(design, i_amps=..., v_mem_volts=...)`` holds the membrane with a voltage source,
drives the excitatory or the inhibitory input with ``i_amps`` and reads the copy through the
subcircuit's 0 V meters (``Vexc_meter``, ``Vinh_meter``, ``study`` topology only): gain = copy /
input. The excitatory copy depends on V_DD - V_mem, the inhibitory one on V_mem - V_NEG, so their
ratio over V_NEG is what tells whether inhibition and excitation weigh the same.
"""

from __future__ import annotations

import re

from circuits.design import NeuronDesign
from circuits.errors import DesignError
from circuits.ngspice import run_with_retries
from circuits.render import ATTEMPTS, Stimulus, render_deck, spice_number


def mirror_gains(design: NeuronDesign, *, i_amps: float, v_mem_volts: float) -> dict[str, float]:
    """``{"gain_exc": ..., "gain_inh": ...}`` of ``design`` (its supplies) at ``i_amps`` with the
    membrane held at ``v_mem_volts``.

    Raises:
        DesignError: not the ``study`` topology (only it meters the inhibitory copy).
        SimulationError: ngspice failed.
    """
    if design.topology != "study":
        raise DesignError(f"mirror_gains needs the study topology, got {design.topology!r}")
    vm = spice_number(v_mem_volts, name="v_mem_volts")
    ia = spice_number(i_amps, name="i_amps")
    out: dict[str, float] = {}
    t_stop = 2e-12 / i_amps + 1e-6  # the long-L gates charge to their operating point, then settle
    for kind, stim in (("exc", Stimulus(i_exc_amps=i_amps, t_stop_seconds=t_stop,
                                        t_max_step_seconds=t_stop / 100)),
                       ("inh", Stimulus(i_inh_amps=i_amps, t_stop_seconds=t_stop,
                                        t_max_step_seconds=t_stop / 100))):
        def render(a: int, stim: Stimulus = stim, kind: str = kind) -> str:
            deck = render_deck(design, stim, attempt=a)
            deck = re.sub(r"^\.ic v\(mem\)=.*$", f"Vhold mem 0 DC {vm}", deck, flags=re.M)
            # the input as a DC source: the transient starts from the operating point with the
            # current applied (a step from 0 leaves the long-L gates settling, ~1 % off at the end)
            name = "Iexc exc 0" if kind == "exc" else "Iinh 0 inh"
            return re.sub(rf"^{name} PWL\(.*$", f"{name} DC {ia}", deck, flags=re.M)

        w, _ = run_with_retries(render, attempts=len(ATTEMPTS),
                                vectors={f"v.x1.v{kind}_meter#branch": "i"})
        out[f"gain_{kind}"] = float(w["i"][-1]) / i_amps
    return out


__all__ = ["mirror_gains"]
