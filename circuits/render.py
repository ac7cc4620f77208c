"""Numbers-only rendering of the neuron testbench deck.

A deck is self-contained SPICE text: the model cards and ``netlists/if_neuron.sub`` are inlined
(so the deck text alone identifies the simulation, which the sweep cache hashes), then the
testbench::

    Vdd vdd 0 DC <v_dd_volts>
    Vneg vneg 0 DC <v_neg_volts>
    Iexc exc 0 PWL(0 0 1e-09 <i_exc_amps>)     * draws the excitatory current out of the mirror
    Iinh 0 inh PWL(0 0 1e-09 <i_inh_amps>)     * pushes the inhibitory current into the mirror
    X1 exc inh mem out vdd vneg 0 if_neuron <param>=<value> ...
    .ic v(mem)=<v_mem_init_volts>
    .options temp=<temp_celsius> <attempt options>
    .save v(mem) v(out) i(vdd) i(vneg) i(v.x1.vexc_meter)
    .tran <t_step> <t_stop_seconds> 0 <t_max_step_seconds>

Every value goes through `spice_number`, which accepts only finite real numbers and writes them
in exponent form; strings, booleans, NaN and infinities are refused with `RenderError`. No text
from a caller reaches the deck: the model-card name is an identifier and the inlined files are
read through `circuits.deck_guard` (inside the allowed folders after symlinks, scanned for
control-language lines), and `circuits.ngspice.run_deck` checks every deck again, so nothing can
reach ngspice's control language (which can run shell commands).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from circuits.deck_guard import NETLIST_DIR, allowed_roots, identifier, read_file
from circuits.design import NeuronDesign
from circuits.errors import DesignError, RenderError
from circuits.subckt import subckt_source

PORTS: dict[str, tuple[str, ...]] = {
    "study": ("exc", "inh", "mem", "out", "vdd", "vneg", "0", "vrst", "ctl"),
    "raised_rest": ("exc", "inh", "mem", "out", "vdd", "vneg", "0"),
}
"""Default port nodes of each topology, in the subcircuit's order."""
T_INIT_SECONDS = 5e-8
"""``study`` testbenches: the membrane controller holds the membrane at rest until this time;
the input currents step on 1 ns later."""
DEVICES_BY_TOPOLOGY: dict[str, tuple[str, ...]] = {
    "raised_rest": (
        "mp1", "mp2", "mn1", "mn2", "mp3", "mn3", "mp4a", "mp4b", "mn4a", "mn4b", "mp5", "mn5",
        "mp6", "mn6", "mp7", "mn7", "mp8", "mn8", "mp9", "mp10", "mn9", "mn10", "mp11", "mn11",
        "mr1", "mr2", "mrb", "mp12"),
    "study": (
        "mp1", "mp2", "mn1", "mn2", "mp3", "mn3", "mp13", "mn13", "mp14a", "mp14b", "mn14a",
        "mn14b", "mp15a", "mp15b", "mn15a", "mn15b", "mp5", "mn5", "mp6", "mn6", "mpd", "mps",
        "mn7", "mp8", "mn8", "mp16", "mn16", "mp9", "mp10", "mn9", "mn10", "mp11", "mn11", "mr1",
        "mr2", "mrb", "mnb", "mpb", "mc1", "mc2", "mc3", "mc4", "mn1c", "mn2c"),
}
"""Transistors of each subcircuit (lower case), each with ``dvt_<dev>``/``mu_<dev>`` params."""
DEVICES: tuple[str, ...] = DEVICES_BY_TOPOLOGY["study"]
"""Transistors of the default (``study``) subcircuit."""

SAVED = {"mem": "v_mem", "out": "v_out", "vdd#branch": "i_vdd", "vneg#branch": "i_vneg",
         "v.x1.vexc_meter#branch": "i_exc_out"}
"""ngspice vector name -> waveform name, for the vectors a ``raised_rest`` testbench saves."""
SAVED_STUDY = {**SAVED, "vrst#branch": "i_vrst", "v.x1.vinh_meter#branch": "i_inh_out",
               "v.x1.vbias_vdd_meter#branch": "i_bias_vdd",
               "v.x1.vbias_vrst_meter#branch": "i_bias_vrst"}
"""... and a ``study`` testbench (reset rail, inhibitory copy, the bias generator's currents)."""


def saved_for(topology: str) -> dict[str, str]:
    """The vectors a testbench of ``topology`` saves."""
    return SAVED_STUDY if topology == "study" else SAVED

# Retry ladder: options per attempt, and how much the max step shrinks.
ATTEMPTS: tuple[tuple[str, float], ...] = (
    ("reltol=1e-4 trtol=1", 1.0),
    ("method=gear reltol=1e-4 trtol=1 itl4=50", 0.25),
    ("method=gear reltol=1e-5 trtol=1 itl4=200 gmin=1e-13", 0.05),
)


def spice_number(value: object, *, name: str = "value") -> str:
    """Render a finite real number in exponent form (to SPICE 'M' is milli, so no suffixes).

    Raises:
        RenderError: ``value`` is not a real number (e.g. a string or bool) or is not finite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RenderError(f"{name} must be a finite real number, got {value!r} "
                          f"({type(value).__name__}); only numbers are written into a netlist")
    x = float(value)
    if not math.isfinite(x):
        raise RenderError(f"{name} must be finite, got {value!r}")
    return f"{x:.9g}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Stimulus:
    """Drive and simulation window of one testbench run (SI units).

    Attributes:
        i_exc_amps: excitatory input current (>= 0), stepped on at t = 1 ns.
        i_inh_amps: inhibitory input current (>= 0), stepped on at t = 1 ns.
        temp_celsius: simulation temperature.
        t_stop_seconds: end of the transient.
        t_max_step_seconds: ngspice's largest time step.
        v_mem_init_volts: membrane voltage at t = 0.
    """

    t_stop_seconds: float
    t_max_step_seconds: float
    i_exc_amps: float = 0.0
    i_inh_amps: float = 0.0
    temp_celsius: float = 27.0
    v_mem_init_volts: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "i_exc_amps": (0.0, 1e-3), "i_inh_amps": (0.0, 1e-3), "temp_celsius": (-55.0, 150.0),
            "t_stop_seconds": (1e-9, 1.0), "t_max_step_seconds": (1e-13, 1.0),
            "v_mem_init_volts": (-2.0, 2.0),
        }
        for field, (lo, hi) in checks.items():
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
                    math.isfinite(value) and lo <= value <= hi):
                raise DesignError(f"{field} must be a number in [{lo:g}, {hi:g}], got {value!r}")


@cache
def _text(path: Path, field: str, roots: tuple[Path, ...]) -> str:
    return read_file(path, field=field, roots=roots)


def model_text(model_cards: str, oxide: str = "thin") -> str:
    """Text of ``netlists/models/<model_cards>.lib`` (an identifier; the file, after symlinks,
    inside ``netlists/`` or ``$NMPKIT_MODEL_DIRS``; scanned for control-language lines and with
    its includes inlined by `circuits.deck_guard`); with ``oxide="thick"`` followed by
    ``<model_cards>_thick.lib`` (the ``nch_thick``/``pch_thick`` cards of `circuits.oxide`)."""
    identifier(model_cards, field="model_cards")
    text = _text(NETLIST_DIR / "models" / f"{model_cards}.lib", "model_cards", allowed_roots())
    if oxide == "thick":
        text = text.rstrip("\n") + "\n" + _text(
            NETLIST_DIR / "models" / f"{model_cards}_thick.lib", "model_cards", allowed_roots())
    return text


def subckt_text(model_cards: str, topology: str = "study", oxide: str = "thin") -> str:
    """Text of the neuron subcircuit with ``oxide`` applied to the V_NEG path
    (`circuits.oxide.apply`); for level-1 cards without the mismatch instance params."""
    from circuits.oxide import apply

    text = apply(subckt_source(topology), oxide=oxide, topology=topology)
    if model_cards == "generic_level1":  # level 1 in ngspice 39 rejects delvto/mulu0
        text = re.sub(r" delvto=\{dvt_\w+\} mulu0=\{mu_\w+\}", "", text)
    return text


def _wrap(head: str, pairs: list[str], width: int = 96) -> list[str]:
    lines, line = [], head
    for tok in pairs:
        if len(line) + 1 + len(tok) > width:
            lines.append(line)
            line = "+"
        line += " " + tok
    lines.append(line)
    return lines


def render_instance(design: NeuronDesign, *, name: str = "X1",
                    nodes: tuple[str, ...] | None = None,
                    mismatch: Mapping[str, float] | None = None) -> str:
    """One ``X`` line (with ``+`` continuations) instantiating ``if_neuron`` for ``design``.

    For decks built elsewhere (e.g. several neurons in one transient): include
    `model_text` and `subckt_text` once, then one `render_instance` per neuron.

    Args:
        design: the neuron (its supplies are not instance parameters).
        name: instance name, ``X`` followed by letters, digits or ``_``.
        nodes: the port nodes (``PORTS[design.topology]``: exc, inh, mem, out, vdd, vneg, gnd
            and, for ``study``, vrst, ctl); letters, digits, ``_``.
        mismatch: optional ``dvt_<dev>``/``mu_<dev>`` shifts (BSIM3 cards only).

    Raises:
        RenderError: a bad name or node, a non-numeric value, an unknown mismatch key.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[Xx]\w{1,40}", name):
        raise RenderError(f"instance name must match X[A-Za-z0-9_]+, got {name!r}")
    ports = PORTS[design.topology]
    nodes = ports if nodes is None else nodes
    if len(nodes) != len(ports) or not all(isinstance(n, str) and re.fullmatch(r"\w{1,40}", n)
                                           for n in nodes):
        raise RenderError(f"nodes must be {len(ports)} names of letters, digits or '_' "
                          f"({', '.join(ports)}), got {nodes!r}")
    params = {k: spice_number(v, name=k) for k, v in design.subckt_params().items()}
    if mismatch:
        if design.model_cards == "generic_level1":
            raise RenderError("mismatch needs BSIM3 cards (level 1 rejects delvto/mulu0), "
                              f"got model_cards={design.model_cards!r}")
        devices = DEVICES_BY_TOPOLOGY[design.topology]
        allowed = {f"{p}_{d}" for d in devices for p in ("dvt", "mu")}
        for key, value in mismatch.items():
            if key not in allowed:
                raise RenderError(f"unknown mismatch parameter {key!r}; expected dvt_<dev> or "
                                  f"mu_<dev> with <dev> in {list(devices)}")
            params[key] = spice_number(value, name=key)
    head = f"{name} {' '.join(nodes)} if_neuron"
    return "\n".join(_wrap(head, [f"{k}={v}" for k, v in params.items()]))


def render_deck(design: NeuronDesign, stim: Stimulus, *,
                mismatch: Mapping[str, float] | None = None, attempt: int = 0) -> str:
    """Render the full testbench deck for ``design`` under ``stim``.

    Args:
        design: the neuron.
        stim: drive, temperature and simulation window.
        mismatch: optional per-device shifts ``{"dvt_mp1": volts, "mu_mp1": factor, ...}``
            (keys from ``DEVICES``); only with BSIM3 cards.
        attempt: index into ``ATTEMPTS`` (stricter simulator options on retries).

    Returns:
        SPICE text ending in ``.end``.

    Raises:
        RenderError: a non-numeric or non-finite value, an unknown mismatch key, or mismatch on
            level-1 cards.
    """
    if not isinstance(design, NeuronDesign):
        raise RenderError(f"design must be a NeuronDesign, got {type(design).__name__}")
    if not isinstance(stim, Stimulus):
        raise RenderError(f"stim must be a Stimulus, got {type(stim).__name__}")
    if not 0 <= attempt < len(ATTEMPTS):
        raise RenderError(f"attempt must be in [0, {len(ATTEMPTS) - 1}], got {attempt!r}")
    options, step_scale = ATTEMPTS[attempt]
    n = {name: spice_number(getattr(stim, name), name=name)
         for name in ("i_exc_amps", "i_inh_amps", "temp_celsius", "t_stop_seconds",
                      "v_mem_init_volts")}
    t_max = spice_number(stim.t_max_step_seconds * step_scale, name="t_max_step_seconds")
    t_step = spice_number(stim.t_stop_seconds / 1000.0, name="t_step")
    study = design.topology == "study"
    vdd = spice_number(design.v_dd_volts, name="v_dd_volts")
    if study:  # the membrane controller holds the membrane at rest, then the input steps on
        vrst = spice_number(design.v_rst_volts, name="v_rst_volts")
        t0, t1 = spice_number(T_INIT_SECONDS), spice_number(T_INIT_SECONDS + 1e-9)
        drive = [f"Vrst vrst 0 DC {vrst}",
                 f"Vctl ctl 0 PWL(0 {vdd} {t0} {vdd} {t1} {vrst})",
                 f"Iexc exc 0 PWL(0 0 {t1} 0 {spice_number(T_INIT_SECONDS + 2e-9)} "
                 f"{n['i_exc_amps']})",
                 f"Iinh 0 inh PWL(0 0 {t1} 0 {spice_number(T_INIT_SECONDS + 2e-9)} "
                 f"{n['i_inh_amps']})"]
        save = (".save v(mem) v(out) i(vdd) i(vneg) i(vrst) i(v.x1.vexc_meter) "
                "i(v.x1.vinh_meter) i(v.x1.vbias_vdd_meter) i(v.x1.vbias_vrst_meter)")
    else:
        drive = [f"Iexc exc 0 PWL(0 0 1e-09 {n['i_exc_amps']})",
                 f"Iinh 0 inh PWL(0 0 1e-09 {n['i_inh_amps']})"]
        save = ".save v(mem) v(out) i(vdd) i(vneg) i(v.x1.vexc_meter)"
    lines = [
        "* nmpkit if_neuron testbench",
        f"* models: {design.model_cards}",
        model_text(design.model_cards, design.v_neg_path_oxide).rstrip("\n"),
        subckt_text(design.model_cards, design.topology, design.v_neg_path_oxide).rstrip("\n"),
        f"Vdd vdd 0 DC {vdd}",
        f"Vneg vneg 0 DC {spice_number(design.v_neg_volts, name='v_neg_volts')}",
        *drive,
        render_instance(design, mismatch=mismatch),
        f".ic v(mem)={n['v_mem_init_volts']}",
        f".options temp={n['temp_celsius']} {options}",
        save,
        f".tran {t_step} {n['t_stop_seconds']} 0 {t_max}",
        ".end",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["ATTEMPTS", "DEVICES", "DEVICES_BY_TOPOLOGY", "PORTS", "SAVED", "SAVED_STUDY",
           "T_INIT_SECONDS", "Stimulus", "model_text", "render_deck", "render_instance",
           "saved_for", "spice_number", "subckt_text"]
