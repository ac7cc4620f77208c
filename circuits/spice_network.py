"""A spiking network at transistor level in ngspice: one ``if_neuron`` subcircuit per neuron.

Network units (θ, one timestep dt) map to the circuit through a calibration's unit current
``i_unit_amps`` (= one threshold's charge per dt):

* layer 1 gets a constant current ``x · i_unit`` per neuron (its input current of every step):
  positive into the excitatory port (drawn out of ``exc`` by a current source), negative into the
  inhibitory port (pushed into ``inh``);
* every synapse of a later layer is a current pulse gated by its presynaptic spike and scaled by its
  weight: a gate node ``g_j = clip((V(out_j) − 0.3·V_DD) / (0.4·V_DD), 0, 1)`` (a B source) drives
  one VCCS per synapse of transconductance ``|w| · q_spike / gate_seconds`` into the excitatory or
  inhibitory port, so each presynaptic spike delivers the charge ``|w| · q_spike`` if the gate
  integrates to ``gate_seconds`` per spike; biases are constant currents.

``gate_seconds`` is measured first (``measure_gate_seconds``: one neuron, the same gate, an
integrating capacitor). Membranes start at ``v_init_volts`` (``.ic``). Runs use the ngspice
executable in batch mode (``ngspice -b -r waves.raw``, a binary rawfile of the ``.save``d
vectors) in a private temporary directory with ``set num_threads=1`` (``.spiceinit``).

No input can reach ngspice's control language: the deck has no ``.control`` block; every value is
written as a number (strings, booleans and non-finite values are refused); ``models`` must be an
identifier and ``netlist_dir`` a folder inside ``netlists/`` or ``$NMPKIT_MODEL_DIRS`` (checked
after symlinks); the model cards and ``if_neuron.sub`` are scanned and inlined, and the whole deck
passes `circuits.deck_guard.check_deck`. Spikes are rising crossings of V(out) through V_DD/2.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuits.deck_guard import (
    NETLIST_DIR,
    allowed_roots,
    check_deck,
    identifier,
    inside,
    read_file,
)
from circuits.design import NeuronDesign, study_pulse_seconds
from circuits.errors import RenderError, SimulationError
from circuits.spice_batch import _rising, _run
from circuits.subckt import SUBCKT_FILES

_GATE_LO, _GATE_SPAN = 0.3, 0.4  # × V_DD
T_INIT_SECONDS = 5e-9
"""``study`` neurons: the membrane controller holds every membrane at rest (0 V) until this time
(the network simulator's v = 0 start); inputs run from t = 0 but cannot move a held membrane."""


def _num(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RenderError(f"{name} must be a finite real number to go into a netlist, got "
                          f"{value!r} ({type(value).__name__})")
    v = float(value)
    if not math.isfinite(v):
        raise RenderError(f"{name} must be finite to go into a netlist, got {value!r}")
    return f"{v:.9e}"


_SUB_FILES = {topology: path.name for topology, path in SUBCKT_FILES.items()}
"""File name of each topology's subcircuit inside a netlist folder."""


def _topology(design: Mapping[str, float]) -> str:
    """The design's netlist variant; a design without ``topology`` (a calibration made before the
    presets) is the earlier ``raised_rest`` design."""
    topo = design.get("topology", "raised_rest")
    if topo not in _SUB_FILES:
        raise RenderError(f"design topology must be one of {sorted(_SUB_FILES)}, got {topo!r}")
    return str(topo)


def _netlist_files(models: object, netlist_dir: Path, topology: str = "study",
                   allowed_dirs: Sequence[str | os.PathLike[str]] = (),
                   oxide: object = "thin") -> tuple[str, str]:
    """Texts of ``<netlist_dir>/models/<models>.lib`` (+ ``<models>_thick.lib`` for the thick
    V_NEG path) and the topology's subcircuit file (``oxide`` applied, `circuits.oxide`):
    ``models`` an identifier, the files inside the allowed folders (after symlinks), scanned
    and with their includes inlined (`circuits.deck_guard`)."""
    from circuits.oxide import apply

    identifier(models, field="models")
    if oxide not in ("thin", "thick"):
        raise RenderError(f"design v_neg_path_oxide must be 'thin' or 'thick', got {oxide!r}")
    roots = allowed_roots(allowed_dirs)
    folder = inside(netlist_dir, field="netlist_dir", roots=roots)
    cards = read_file(folder / "models" / f"{models}.lib", field="models", roots=roots)
    if oxide == "thick":
        cards = cards.rstrip("\n") + "\n" + read_file(
            folder / "models" / f"{models}_thick.lib", field="models", roots=roots)
    sub = read_file(folder / _SUB_FILES[topology], field="netlist_dir", roots=roots)
    return cards, apply(sub, oxide=str(oxide), topology=topology)


def subckt_param_names(netlist_dir: Path = NETLIST_DIR, topology: str = "study"
                       ) -> tuple[str, ...]:
    """Names in the ``params:`` list of the topology's subcircuit (``if_neuron.sub``)."""
    roots = allowed_roots()
    text = read_file(inside(netlist_dir, field="netlist_dir", roots=roots) / _SUB_FILES[topology],
                     field="netlist_dir", roots=roots)
    head = text.split(".subckt", 1)[1].split("\n*", 1)[0]
    return tuple(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", head))


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkRun:
    """Result of one transistor-level run.

    Attributes:
        counts: spikes per neuron in [0, t_stop], one int array per layer.
        spike_times: per layer, per neuron, the rising-edge times (seconds).
        t_stop_seconds: simulated time.
        t_max_seconds: the transient's maximum internal step (what its counts are converged to).
        gate_seconds: gate integral per spike that the synapses were scaled with.
        netlist: the deck that ran.
        wall_seconds: time the ngspice run took.
        ngspice_version: first banner line.
    """

    counts: tuple[np.ndarray, ...]
    spike_times: tuple[tuple[np.ndarray, ...], ...]
    t_stop_seconds: float
    t_max_seconds: float
    gate_seconds: float
    netlist: str
    wall_seconds: float
    ngspice_version: str


def _instance_params(design: Mapping[str, float], sub_text: str) -> str:
    head = sub_text.split(".subckt", 1)[1].split("\n*", 1)[0]
    allowed = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", head))
    return " ".join(f"{k}={_num(k, v)}" for k, v in sorted(design.items()) if k in allowed)


def _deck(*, design: Mapping[str, float], v_dd: float, v_neg: float, models: str,
          netlist_dir: Path, layers: Sequence[int], body: list[str], t_stop: float,
          t_max: float, probes: list[str], v_init: float = 0.0) -> str:
    topo = _topology(design)
    cards, sub = _netlist_files(models, netlist_dir, topo,
                                oxide=design.get("v_neg_path_oxide", "thin"))
    params = _instance_params(design, sub)
    lines = [f"* nmpkit transistor-level network: layers {list(layers)}",
             cards.rstrip("\n"), sub.rstrip("\n"),
             f"Vdd vdd 0 dc {_num('v_dd_volts', v_dd)}",
             f"Vneg vneg 0 dc {_num('v_neg_volts', v_neg)}"]
    extra_ports = ""
    if topo == "study":  # reset rail; the membrane controller holds every membrane at rest
        v_rst = _num("v_rst_volts", design.get("v_rst_volts", -1.2))
        lines += [f"Vrst vrst 0 dc {v_rst}",
                  f"Vctl ctl 0 PWL(0 {_num('v', v_dd)} {_num('t', T_INIT_SECONDS)} "
                  f"{_num('v', v_dd)} {_num('t', T_INIT_SECONDS + 1e-9)} {v_rst})"]
        extra_ports = " vrst ctl"
    ics = []
    for li, n in enumerate(layers):
        for i in range(n):
            s = f"{li}_{i}"
            lines.append(f"X{s} e{s} h{s} m{s} o{s} vdd vneg 0{extra_ports} if_neuron {params}")
            lines.append(f"Bg{s} g{s} 0 V=max(0,min(1,(v(o{s})-{_num('lo', _GATE_LO * v_dd)})"
                         f"/{_num('span', _GATE_SPAN * v_dd)}))")
            ics.append(f"v(m{s})={_num('v_init_volts', v_init)}")
    lines += body
    lines.append(".ic " + " ".join(ics))
    lines += [".save " + " ".join(probes),
              f".tran {_num('tstep', t_max / 4)} {_num('t_stop', t_stop)} 0 {_num('t_max', t_max)}",
              ".end"]
    return check_deck("\n".join(lines) + "\n")  # the gate every deck passes (no includes left)


def measure_gate_seconds(design: Mapping[str, float], *, v_dd_volts: float, v_neg_volts: float,
                         i_amps: float, n_spikes: int = 8, models: str = "generic_bsim3",
                         netlist_dir: Path = NETLIST_DIR, timeout: float = 300.0,
                         q_guess_coulombs: float = 3e-13) -> float:
    """Gate integral ∫g dt per spike of one neuron driven by ``i_amps`` (seconds)."""
    t_stop = (n_spikes + 1.5) * q_guess_coulombs / i_amps
    body = [f"Iin e0_0 0 dc {_num('i_amps', i_amps)}",
            "Gq 0 q g0_0 0 1e-6", "Cq q 0 1e-12", "Rq q 0 1e15"]
    deck = _deck(design=design, v_dd=v_dd_volts, v_neg=v_neg_volts, models=models,
                 netlist_dir=netlist_dir, layers=[1], body=body, t_stop=t_stop,
                 t_max=min(5e-9, t_stop / 2000), probes=["v(o0_0)", "v(q)"])
    deck = deck.replace(".ic ", ".ic v(q)=0 ")
    data, _, _, _ = _run(deck, timeout)
    t, vo, q = data[:, 0], data[:, 1], data[:, 2]
    rises = _rising(t, vo, 0.5 * v_dd_volts)
    if rises.size < 3:
        raise SimulationError(f"gate measurement: only {rises.size} spikes at {i_amps} A")
    before_last = np.interp(rises[-1] - 1e-12, t, q)
    return float(before_last * 1e-6 / (rises.size - 1))


def simulate_network(design: Mapping[str, float], *, v_dd_volts: float, v_neg_volts: float,
                     first_currents: np.ndarray, weights: Sequence[np.ndarray],
                     biases: Sequence[np.ndarray], i_unit_amps: float, dt_seconds: float,
                     timesteps: int, gate_seconds: float, v_init_volts: float = 0.0,
                     models: str = "generic_bsim3",
                     netlist_dir: Path = NETLIST_DIR, t_max_seconds: float | None = None,
                     timeout: float = 3000.0) -> NetworkRun:
    """Run a feed-forward network of ``if_neuron`` instances for ``timesteps`` × dt.

    Args:
        design: subcircuit parameters (keys outside the ``params:`` list are ignored).
        v_dd_volts, v_neg_volts: supplies.
        first_currents: (N1,) input current of layer 1 per step, θ units.
        weights: for layers 2.., (N_l, N_{l-1}) weights in θ units.
        biases: for layers 2.., (N_l,) bias per step, θ units.
        i_unit_amps: current of weight 1 (q_spike / dt).
        dt_seconds: one timestep.
        timesteps: steps to simulate.
        gate_seconds: gate integral per spike (``measure_gate_seconds``).
        v_init_volts: initial membrane voltage (the network's v = 0 is the calibration's
            ``v_rest_volts``).
        t_max_seconds: maximum internal timestep (default `default_max_step`: dt/100, at
            most a 32nd of the reset pulse).

    Raises:
        SimulationError: ngspice missing or failing. ValueError: bad shapes or values.
    """
    first = np.asarray(first_currents, dtype=float).reshape(-1)
    layers = [first.size] + [np.asarray(w).shape[0] for w in weights]
    q = i_unit_amps * dt_seconds
    body = []
    for i, x in enumerate(first):
        body.append(_current(f"I0_{i}", f"0_{i}", x * i_unit_amps))
    for li, (w, b) in enumerate(zip(weights, biases), start=1):
        w = np.asarray(w, dtype=float)
        b = np.asarray(b, dtype=float).reshape(-1)
        if w.shape != (layers[li], layers[li - 1]) or b.shape != (layers[li],):
            raise ValueError(f"layer {li}: weights {w.shape} / biases {b.shape} do not match "
                             f"{layers[li]} x {layers[li - 1]}")
        for i in range(layers[li]):
            s = f"{li}_{i}"
            if b[i] != 0:
                body.append(_current(f"Ib{s}", s, b[i] * i_unit_amps))
            for j in range(layers[li - 1]):
                if w[i, j] == 0:
                    continue
                gm = _num("gm", abs(w[i, j]) * q / gate_seconds)
                src = f"g{li - 1}_{j}"
                body.append(f"Gs{s}_{j} e{s} 0 {src} 0 {gm}" if w[i, j] > 0
                            else f"Gs{s}_{j} 0 h{s} {src} 0 {gm}")
    t_stop = timesteps * dt_seconds
    t_max = t_max_seconds or default_max_step(design, dt_seconds)
    probes = [f"v(o{li}_{i})" for li, n in enumerate(layers) for i in range(n)]
    deck = _deck(design=design, v_dd=v_dd_volts, v_neg=v_neg_volts, models=models,
                 netlist_dir=netlist_dir, layers=layers, body=body, t_stop=t_stop, t_max=t_max,
                 probes=probes, v_init=v_init_volts)
    data, _, wall, banner = _run(deck, timeout)
    t = data[:, 0]
    times, counts, col = [], [], 1
    for n in layers:
        lt = []
        for _ in range(n):
            lt.append(_rising(t, data[:, col], 0.5 * v_dd_volts))
            col += 1
        times.append(tuple(lt))
        counts.append(np.array([x.size for x in lt], dtype=np.int64))
    return NetworkRun(counts=tuple(counts), spike_times=tuple(times), t_stop_seconds=t_stop,
                      t_max_seconds=t_max, gate_seconds=gate_seconds, netlist=deck,
                      wall_seconds=wall, ngspice_version=banner)


def default_max_step(design: Mapping[str, float], dt_seconds: float) -> float:
    """The network transient's maximum internal step.

    ``study`` neurons (the default): min(dt/100, pulse/32), pulse = `circuits.design.
    study_pulse_seconds` (0.313 us for the default: 9.8 ns). Their reset pulse is latched and
    timed by a capacitor, the fastest event a count depends on: its length sets the charge one
    spike removes, and a presynaptic pulse's the charge its synapses deliver. Measured (session
    38) on seven default neurons at V_DD 1 V, V_NEG 0, constant 0.1-0.7 θ per step for T = 60
    (3.42 us steps), each one's period against the calibration's transfer curve: a 34 ns step
    (the earlier min(dt/100, pulse/8)) is off by up to 10.6 % (at 0.2 θ/step; 0.9-1.3 % at three
    others), 20 ns by up to 0.8 %, 10 ns by at most 0.14 % and 5 ns by at most 0.21 %: converged
    at 10 ns. On the ZMP co-sim check's network (49→20→10, T = 60, image 0) 10 ns and 5 ns give
    the same 30 counts, 34 ns two others; 103 s, 163 s and 73 s of ngspice.

    ``raised_rest`` neurons: min(dt/100, 5 ns) as before; their pulse follows the feedback kick,
    and 10 ns already lost 2 of 42 spikes at 0.7 θ per step.
    """
    if _topology(design) == "raised_rest":
        return min(dt_seconds / 100, 5e-9)
    d = NeuronDesign()
    pulse = study_pulse_seconds(*(float(design.get(k, getattr(d, k))) for k in (
        "t_pulse_seconds", "c_delay_farads", "w_sense_meters", "l_sense_meters")))
    return min(dt_seconds / 100, pulse / 32)


def _current(name: str, s: str, amps: float) -> str:
    """A constant input current: > 0 drawn out of the excitatory port, < 0 into the inhibitory."""
    if amps >= 0:
        return f"{name} e{s} 0 dc {_num(name, amps)}"
    return f"{name} 0 h{s} dc {_num(name, -amps)}"


__all__ = ["NetworkRun", "default_max_step", "measure_gate_seconds", "simulate_network",
           "subckt_param_names"]
