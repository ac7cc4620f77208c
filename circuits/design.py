"""`NeuronDesign`: the I&F neuron of ``netlists/if_neuron.sub`` as a frozen, validated dataclass.

Field names are the subcircuit's ``params:`` names (SI units spelled in each), so a design fills the
netlist directly; ``v_dd_volts``, ``v_neg_volts`` and ``model_cards`` describe the supplies and the
model set the neuron is simulated with. Validation happens at construction: an out-of-range value
raises `circuits.errors.DesignError` naming the field, the value and the allowed range.

The reset charge packet is ``q_reset_coulombs = i_reset_amps * t_pulse_seconds``; the nominal
threshold swing is ``q_reset_coulombs / (c_mem_farads + c_fb_farads)`` (the measured one is in
the ``fi`` table).

Example::

    from circuits import NeuronDesign, default_design
    d = default_design()
    deeper = dataclasses.replace(d, v_neg_volts=-1.0)
    old = preset("raised_rest")          # the earlier design, kept for comparison
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circuits.errors import DesignError
from circuits.subckt import subckt_param_names

MODEL_CARDS = ("generic_bsim3", "generic_level1")
"""Model sets in ``netlists/models/`` (file stem); both define ``nch`` and ``pch``."""
TOPOLOGIES = ("study", "raised_rest")
"""Netlist variants: ``study`` = ``netlists/if_neuron.sub`` (rest 0 V, theta = threshold, reset
rail, membrane controller); ``raised_rest`` = ``netlists/if_neuron_raised_rest.sub`` (the
earlier design: a fixed charge packet smaller than C*threshold, so it rests above ground)."""

# field -> (low, high), inclusive; SI units.
_RANGES: dict[str, tuple[float, float]] = {
    "c_mem_farads": (1e-15, 1e-10),
    "c_fb_farads": (1e-15, 1e-10),
    "v_dd_volts": (0.6, 2.0),
    "v_neg_volts": (-2.0, 0.0),
    "w_exc_meters": (2.2e-7, 1e-4),
    "l_exc_meters": (1.8e-7, 2e-5),
    "w_inh_meters": (2.2e-7, 1e-4),
    "l_inh_meters": (1.8e-7, 4e-5),
    "w_inhc_meters": (2.2e-7, 1e-4),
    "l_inhc_meters": (1.8e-7, 2e-5),
    "mirror_ratio": (0.1, 20.0),
    "w_sense_meters": (2.2e-7, 1e-4),
    "l_sense_meters": (1.8e-7, 2e-5),
    "i_reset_amps": (1e-9, 1e-3),
    "t_pulse_seconds": (1e-9, 1e-5),
    "c_delay_farads": (1e-15, 1e-11),
    "w_reset_meters": (2.2e-7, 1e-4),
    "l_reset_meters": (1.8e-7, 2e-5),
    "reset_bias_ratio": (1.0, 100.0),
    "v_rst_volts": (-2.5, 0.0),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NeuronDesign:
    """One I&F neuron design (``netlists/if_neuron.sub``), SI units in every name.

    Attributes:
        c_mem_farads: membrane capacitor.
        c_fb_farads: Axon-Hillock feedback capacitor from the spike output onto the membrane.
        v_dd_volts: positive supply.
        v_neg_volts: negative supply of the inhibitory mirror and reset sink (<= 0; 0 = ZMP).
        w_exc_meters, l_exc_meters: PMOS excitatory mirror input device.
        w_inh_meters, l_inh_meters: NMOS inhibitory mirror input device (``study``: the long
            lower device of each self-cascode side, MN1/MN2).
        w_inhc_meters, l_inhc_meters: ``study``: the wide upper device of each side of the
            inhibitory self-cascode (MN1c/MN2c, same gate); ``raised_rest`` has none.
        mirror_ratio: output/input width ratio of both input mirrors.
        w_sense_meters, l_sense_meters: the sense inverter's PMOS (``study``: its NMOS is 2x
            wider, the timer's detector 24x / 48x; ``raised_rest``: its PMOS is 3x wider).
        i_reset_amps: reset sink current during a spike.
        t_pulse_seconds: ``raised_rest``: the spike (reset) pulse width, also the refractory time;
            ``study``: sets the timer current I_d = c_delay_farads * 0.5 V / t_pulse_seconds (the
            pulse Cd alone would give at a 0.5 V switching point; the real pulse, with the
            detector's gate capacitance, is `pulse_seconds`).
        c_delay_farads: capacitor of the pulse timer.
        w_reset_meters, l_reset_meters: bias device of the reset sink mirror.
        reset_bias_ratio: reset sink / bias current ratio (the bias is i_reset/ratio).
        v_rst_volts: reset rail of the ``study`` topology (at or below the deepest floor V_NEG).
        model_cards: model set, one of ``MODEL_CARDS``.
        topology: netlist variant, one of ``TOPOLOGIES`` (``preset(name)`` gives the named designs).
        v_neg_path_oxide: ``"thin"`` (1.8 V cards everywhere) or ``"thick"``: the devices whose
            gate sees V_DD − V_NEG / V_DD − V_RST get the thick-oxide cards and sizes
            (`circuits.oxide`), rated 3.3 V (`circuits.soa`).

    The defaults are the study's neuron (``preset("default")``); ``preset("raised_rest")`` is the
    earlier design. For ``study`` the pulse is set by the timer (`pulse_seconds`) and one spike
    removes C_total * threshold.
    """

    c_mem_farads: float = 4e-13
    c_fb_farads: float = 5e-14
    v_dd_volts: float = 1.0
    v_neg_volts: float = -0.5
    w_exc_meters: float = 1e-6
    l_exc_meters: float = 4e-6
    w_inh_meters: float = 1e-6
    l_inh_meters: float = 4e-6
    w_inhc_meters: float = 8e-6
    l_inhc_meters: float = 5e-7
    mirror_ratio: float = 1.0
    w_sense_meters: float = 2.2e-7
    l_sense_meters: float = 2e-6
    i_reset_amps: float = 4.713e-7
    t_pulse_seconds: float = 3.2e-8
    c_delay_farads: float = 1e-14
    w_reset_meters: float = 1e-6
    l_reset_meters: float = 2e-6
    reset_bias_ratio: float = 10.0
    v_rst_volts: float = -1.2
    model_cards: str = "generic_bsim3"
    topology: str = "study"
    v_neg_path_oxide: str = "thin"

    def __post_init__(self) -> None:
        for name, (lo, hi) in _RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DesignError(
                    f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r} "
                    f"({type(value).__name__})"
                )
            if not math.isfinite(value) or not lo <= value <= hi:
                raise DesignError(f"{name} must be in [{lo:g}, {hi:g}], got {value!r}")
        if self.model_cards not in MODEL_CARDS:
            raise DesignError(f"model_cards must be one of {list(MODEL_CARDS)}, "
                              f"got {self.model_cards!r}")
        if self.topology not in TOPOLOGIES:
            raise DesignError(f"topology must be one of {list(TOPOLOGIES)}, "
                              f"got {self.topology!r}")
        if self.v_neg_path_oxide not in ("thin", "thick"):
            raise DesignError(f"v_neg_path_oxide must be one of ['thin', 'thick'], "
                              f"got {self.v_neg_path_oxide!r}")
        if self.v_neg_path_oxide == "thick" and self.v_dd_volts < 1.0 - 1e-9:
            raise DesignError(
                f"v_neg_path_oxide 'thick' needs v_dd_volts >= 1.0 (the thick devices' |Vth| is "
                f"0.7 V and the level shifter's inputs get V_SG = V_DD), got {self.v_dd_volts!r}")
        if self.topology == "study":
            if self.v_rst_volts > self.v_neg_volts:
                raise DesignError(
                    f"v_rst_volts must be at or below v_neg_volts (the deepest floor), else the "
                    f"reset path conducts backwards; got v_rst_volts={self.v_rst_volts!r}, "
                    f"v_neg_volts={self.v_neg_volts!r}")
            return
        # raised_rest: the feedback kick must hold the spike up for the whole pulse.
        kick = self.c_fb_farads * self.v_dd_volts
        if self.q_reset_coulombs >= kick:
            raise DesignError(
                "q_reset_coulombs (i_reset_amps * t_pulse_seconds) must be below "
                f"c_fb_farads * v_dd_volts = {kick:.4g} C, got {self.q_reset_coulombs:.4g} C "
                f"(i_reset_amps={self.i_reset_amps!r}, t_pulse_seconds={self.t_pulse_seconds!r})"
            )

    @property
    def q_reset_coulombs(self) -> float:
        """Nominal charge one spike removes (reset by subtraction): ``study``: C_total * V_DD/2
        (the packet tracks the threshold); ``raised_rest``: i_reset_amps * t_pulse_seconds."""
        if self.topology == "study":
            return (float(self.c_mem_farads) + float(self.c_fb_farads)) * 0.5 * self.v_dd_volts
        return float(self.i_reset_amps) * float(self.t_pulse_seconds)

    @property
    def pulse_seconds(self) -> float:
        """Estimated reset pulse (s), for simulation windows and time steps: ``raised_rest``:
        ``t_pulse_seconds``; ``study``: `study_pulse_seconds` (0.33 us for the default; measured
        0.27 / 0.31 / 0.38 us at V_DD 0.8 / 1.0 / 1.2 V)."""
        if self.topology == "study":
            return study_pulse_seconds(self.t_pulse_seconds, self.c_delay_farads,
                                       self.w_sense_meters, self.l_sense_meters)
        return float(self.t_pulse_seconds)

    @property
    def v_th_nominal_volts(self) -> float:
        """Nominal threshold swing: q_reset / (c_mem + c_fb), parasitics ignored."""
        return self.q_reset_coulombs / (float(self.c_mem_farads) + float(self.c_fb_farads))

    def subckt_params(self) -> dict[str, float]:
        """The subcircuit's ``params:`` values (every numeric field except the supplies)."""
        names = subckt_param_names(self.topology)
        return {name: getattr(self, name) for name in _RANGES if name in names}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for provenance: every field plus ``q_reset_coulombs``; ``v_neg_path_oxide``
        only when ``"thick"`` (thin designs keep the provenance and point-cache keys they had)."""
        out: dict[str, Any] = dataclasses.asdict(self)
        if out["v_neg_path_oxide"] == "thin":
            del out["v_neg_path_oxide"]
        out["q_reset_coulombs"] = self.q_reset_coulombs
        return out


COX_FARADS_PER_M2 = 8.4e-3
"""Gate oxide capacitance of the thin cards (3.9 eps0 / tox 4.1 nm, ``netlists/models``)."""
DETECTOR_GATE_FRACTION = 0.33
"""The timer detector's (MP8/MN8, 72 w_sense x l_sense of gate) effective share of its oxide
capacitance while the timer ramps to the switching point: from the measured default pulse (0.314 us
at V_DD 1 V = t_pulse_seconds * (1 + C_det / c_delay_farads))."""


def study_pulse_seconds(t_pulse_seconds: float, c_delay_farads: float, w_sense_meters: float,
                        l_sense_meters: float) -> float:
    """The ``study`` neuron's reset pulse, estimated: the timer capacitance Cd plus the detector's
    effective gate capacitance, charged by I_d = Cd * 0.5 V / t_pulse_seconds to about 0.5 V."""
    c_det = DETECTOR_GATE_FRACTION * COX_FARADS_PER_M2 * 72 * w_sense_meters * l_sense_meters
    return float(t_pulse_seconds) * (1.0 + c_det / float(c_delay_farads))


RAISED_REST: dict[str, Any] = {
    "c_mem_farads": 7.5e-13, "c_fb_farads": 2.5e-13, "w_exc_meters": 2e-6, "l_exc_meters": 1e-6,
    "w_inh_meters": 1e-6, "l_inh_meters": 1e-6, "w_sense_meters": 4e-7, "l_sense_meters": 1e-6,
    "i_reset_amps": 1.5e-6, "t_pulse_seconds": 1e-7, "c_delay_farads": 5e-14,
    "w_reset_meters": 1e-6, "l_reset_meters": 1e-6, "reset_bias_ratio": 10.0, "v_rst_volts": 0.0,
    "topology": "raised_rest",
}
"""Field values of the ``raised_rest`` preset (the design before issue 9, unchanged netlist)."""

PRESETS: tuple[str, ...] = ("default", "raised_rest")


def preset(name: str = "default", **overrides: Any) -> NeuronDesign:
    """A named design: ``"default"`` (the study's neuron: rest 0 V, theta = threshold ~ V_DD/2,
    floor = V_NEG, membrane controller, reset rail) or ``"raised_rest"`` (the earlier design:
    rests ~0.3 V above ground, theta set by a fixed charge packet). ``overrides`` replace fields.

    Raises:
        DesignError: an unknown preset name or an invalid override.
    """
    if name not in PRESETS:
        raise DesignError(f"preset must be one of {list(PRESETS)}, got {name!r}")
    base: dict[str, Any] = dict(RAISED_REST) if name == "raised_rest" else {}
    return design_from_mapping({**base, **overrides}, source=f"preset {name!r}")


def default_design() -> NeuronDesign:
    """The built-in default design: the study's neuron (generic 180 nm-class BSIM3 cards,
    V_DD 1 V, V_NEG -0.5 V, reset rail -1.2 V)."""
    return NeuronDesign()


def design_from_mapping(values: dict[str, Any], *, source: str = "design") -> NeuronDesign:
    """Build a design from a mapping (e.g. a TOML table); unknown keys are refused by name.

    Raises:
        DesignError: an unknown field or an invalid value.
    """
    known = {f.name for f in dataclasses.fields(NeuronDesign)}
    values = dict(values)
    values.pop("q_reset_coulombs", None)  # derived; accepted so to_dict() round-trips
    name = values.pop("preset", None)
    if name is not None:  # a [design] table may start from a named preset
        if name not in PRESETS:
            raise DesignError(f"{source}: preset must be one of {list(PRESETS)}, got {name!r}")
        values = {**(dict(RAISED_REST) if name == "raised_rest" else {}), **values}
    unknown = sorted(set(values) - known)
    if unknown:
        raise DesignError(f"{source}: unknown design field {unknown[0]!r}; "
                          f"known fields: {sorted(known)}")
    return NeuronDesign(**values)


def load_design(path: str | Path) -> NeuronDesign:
    """Load a design TOML: fields at top level or under a ``[design]`` table.

    Raises:
        DesignError: unreadable TOML, an unknown field or an invalid value.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, FIFO or device: never opened
        raise DesignError(f"{path}: not a regular file (a folder, FIFO or device); expected a "
                          "design TOML file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DesignError(f"{path}: not UTF-8 text; expected a design TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(f"{path}: not valid TOML ({exc})") from exc
    table = data.get("design", data)
    if not isinstance(table, dict):
        raise DesignError(f"{path}: [design] must be a table, got {table!r}")
    return design_from_mapping({k: v for k, v in table.items() if not isinstance(v, dict)},
                               source=str(path))


__all__ = ["COX_FARADS_PER_M2", "DETECTOR_GATE_FRACTION", "MODEL_CARDS", "PRESETS", "RAISED_REST",
           "TOPOLOGIES", "NeuronDesign", "default_design", "design_from_mapping", "load_design",
           "preset", "study_pulse_seconds"]
