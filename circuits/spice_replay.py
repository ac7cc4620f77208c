"""One transistor-level neuron driven by recorded presynaptic spike times (a replay testbench).

`circuits.spice_network.simulate_network` runs a whole network; to ask what one neuron of it does
with the spikes its inputs really sent (the co-simulation check's output layer, issue 9), this
module replays them: every presynaptic spike time becomes a rectangular gate pulse of width
``gate_seconds`` (5 ns edges) on a PWL source, and each synapse is the network's VCCS of
transconductance ``|w| · q / gate_seconds`` into the neuron's excitatory or inhibitory port, so a
spike delivers the charge ``|w| · q`` as in the network (whose gate follows the spike's waveform:
same integral, not the same shape). Spikes of one input closer than a pulse go on separate sources.

The deck is the network's (same subcircuit, supplies, reset rail, membrane controller and checks:
`circuits.deck_guard.check_deck`); every value is written as a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuits.deck_guard import NETLIST_DIR
from circuits.spice_batch import _rising, _run
from circuits.spice_network import _current, _deck, _num, default_max_step

_EDGE_SECONDS = 5e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayRun:
    """One replayed neuron.

    Attributes:
        count: its spikes in [0, t_stop].
        spike_times: their rising-edge times (seconds).
        time, v_mem: the membrane waveform (ngspice's time points, volts).
        netlist: the deck that ran.
        wall_seconds: ngspice's wall time.
    """

    count: int
    spike_times: np.ndarray
    time: np.ndarray
    v_mem: np.ndarray
    netlist: str
    wall_seconds: float


def _tracks(times: np.ndarray, gap: float) -> list[list[float]]:
    """Spike times split into lists whose pulses do not overlap (a PWL needs rising time)."""
    tracks: list[list[float]] = []
    for t in times:
        for tr in tracks:
            if tr[-1] + gap < t:
                tr.append(float(t))
                break
        else:
            tracks.append([float(t)])
    return tracks


def prebias_sources(amps: float, neuron: str = "0_0") -> list[str]:
    """Deck lines of an emulated pre-biased mirror: a standing current ``amps`` into neuron
    ``neuron``'s inhibitory port and, equal, out of its excitatory one (ideal sources, the
    netlist unchanged; the membrane's net standing current is the two mirrors' mismatch)."""
    return [f"Ipbi 0 h{neuron} dc {_num('prebias', amps)}",
            f"Ipbe e{neuron} 0 dc {_num('prebias', amps)}"]


def replay_neuron(design: Mapping[str, float], *, v_dd_volts: float, v_neg_volts: float,
                  spike_times: Sequence[Sequence[float]], weights: Sequence[float],
                  bias: float, i_unit_amps: float, dt_seconds: float, timesteps: int,
                  gate_seconds: float, v_init_volts: float = 0.0,
                  models: str = "generic_bsim3", netlist_dir: Path = NETLIST_DIR,
                  t_max_seconds: float | None = None, timeout: float = 600.0,
                  prebias_amps: float = 0.0) -> ReplayRun:
    """Drive one ``if_neuron`` with the given presynaptic spike trains for ``timesteps`` × dt.

    Args:
        design: subcircuit parameters, as for `simulate_network`.
        spike_times: per input, its spike times in seconds (each in [0, timesteps · dt]).
        weights: (N,) weight of each input, θ units (> 0 excitatory, < 0 inhibitory).
        bias: constant input per step, θ units.
        i_unit_amps, dt_seconds, gate_seconds, v_init_volts, t_max_seconds: as for
            `simulate_network`.
        prebias_amps: a standing current (A, >= 0) into the inhibitory port and, equal, out of
            the excitatory one (ideal sources: the mirrors never idle; what a pre-biased mirror
            would do, without changing the netlist; 0: none).

    Raises:
        ValueError: inputs and weights of different lengths, a time outside the run or not
            finite, a non-positive step count or gate. SimulationError: ngspice failing.
    """
    w = np.asarray(weights, dtype=float).reshape(-1)
    if len(spike_times) != w.size:
        raise ValueError(f"spike_times: {len(spike_times)} inputs, but weights has {w.size}")
    if not (isinstance(timesteps, int) and timesteps > 0):
        raise ValueError(f"timesteps must be a positive int, got {timesteps!r}")
    if not (math.isfinite(gate_seconds) and gate_seconds > 2 * _EDGE_SECONDS):
        raise ValueError(f"gate_seconds must be > {2 * _EDGE_SECONDS} s, got {gate_seconds!r}")
    if not (math.isfinite(prebias_amps) and prebias_amps >= 0):
        raise ValueError(f"prebias_amps must be a finite current >= 0, got {prebias_amps!r}")
    t_stop = timesteps * dt_seconds
    q = i_unit_amps * dt_seconds
    body = []
    for j, ts in enumerate(spike_times):
        t = np.sort(np.asarray(ts, dtype=float).reshape(-1))
        if t.size and (not np.all(np.isfinite(t)) or t[0] < 0 or t[-1] > t_stop):
            raise ValueError(f"spike_times[{j}]: times must be finite and in [0, {t_stop:.6g}] "
                             f"s, got {t.min():.6g} .. {t.max():.6g}")
        if w[j] == 0 or t.size == 0:
            continue
        gm = _num("gm", abs(w[j]) * q / gate_seconds)
        for m, tr in enumerate(_tracks(t, gate_seconds + 2 * _EDGE_SECONDS)):
            pts = ["0 0"]
            for s in tr:
                a = max(s, _EDGE_SECONDS)  # a PWL point may not precede the one at t = 0
                pts.append(" ".join(_num("t", v) for v in (a - _EDGE_SECONDS, 0, a, 1,
                                                            a + gate_seconds - _EDGE_SECONDS, 1,
                                                            a + gate_seconds, 0)))
            src = f"r{j}_{m}"
            body.append(f"V{src} {src} 0 PWL({' '.join(pts)})")
            body.append(f"Gr{j}_{m} e0_0 0 {src} 0 {gm}" if w[j] > 0
                        else f"Gr{j}_{m} 0 h0_0 {src} 0 {gm}")
    if bias != 0:
        body.append(_current("Ib", "0_0", float(bias) * i_unit_amps))
    if prebias_amps > 0:
        body += prebias_sources(prebias_amps)
    deck = _deck(design=design, v_dd=v_dd_volts, v_neg=v_neg_volts, models=models,
                 netlist_dir=netlist_dir, layers=[1], body=body, t_stop=t_stop,
                 t_max=t_max_seconds or default_max_step(design, dt_seconds),
                 probes=["v(o0_0)", "v(m0_0)"], v_init=v_init_volts)
    data, _, wall, _ = _run(deck, timeout)
    rises = _rising(data[:, 0], data[:, 1], 0.5 * v_dd_volts)
    return ReplayRun(count=int(rises.size), spike_times=rises, time=data[:, 0],
                     v_mem=data[:, 2], netlist=deck, wall_seconds=wall)


__all__ = ["ReplayRun", "prebias_sources", "replay_neuron"]
