"""One characterization point: a `Point` (what to simulate) -> one row of measurements.

Kinds:

* ``fi``: excitatory current ``i_exc_amps``; the window is chosen for about `N_SPIKES` spikes at
  the expected rate and extended (re-run, at most twice) when fewer came; yields rate, spike
  count, threshold swing, spike width and the supply energies over spikes 2..N;
* ``mc``: as ``fi`` with the per-transistor mismatch of Monte Carlo sample ``mc_sample``;
* ``floor``: inhibitory current ``i_inh_amps`` from a membrane at 0 V; yields the membrane minimum;
* ``idle``: no input; yields the static power from V_DD and V_NEG;
* ``mirror``: ``i_exc_amps`` into each input mirror in turn (DC), the membrane held at
  ``MIRROR_V_MEM_FRACTION`` · V_DD (``study`` topology only); yields ``gain_exc``, ``gain_inh``
  (copy / input) and the held ``v_mem_volts`` (`circuits.mirror`).

`simulate_point` is a pure function of (design, point): the sweep caches its rows by content.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from circuits import measure
from circuits.design import NeuronDesign
from circuits.errors import CharacterizationError, DesignError
from circuits.ngspice import run_with_retries
from circuits.render import ATTEMPTS, T_INIT_SECONDS, Stimulus, render_deck, saved_for

N_SPIKES = 8
"""Spikes aimed for per ``fi``/``mc`` run (the rate uses spikes 2..N)."""
WINDOW_MARGIN = 1.25
"""``study`` f–I and Monte Carlo windows: the period is taken as this many times q_reset / I."""
RAMP_STEP_VOLTS = 2e-3
"""``fi`` points: the membrane ramps at most this far per time step (input current over C), so
the sense inverter's crowbar current, a bump some 50 mV of ramp wide that the step control does
not see (it follows node voltages), is sampled by ~25 points: at the period / 40 step the default
used before, the energy per spike at 1 nA was off by up to 16% (5% at 10 nA) and moved by 10-50%
between windows 0.1% apart; at 2 mV per step it is within 0.5% of a 10x finer step."""
KINDS = ("fi", "mc", "floor", "idle", "mirror")
MEASURE_VERSION = "2"
"""Bump when a measurement changes meaning: it is part of every cache key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One simulation point (SI units); ``mc_sample`` < 0 means the nominal design."""

    kind: str
    v_dd_volts: float
    v_neg_volts: float
    i_exc_amps: float = 0.0
    i_inh_amps: float = 0.0
    temp_celsius: float = 27.0
    mc_sample: int = -1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DesignError(f"kind must be one of {list(KINDS)}, got {self.kind!r}")
        for name in ("v_dd_volts", "v_neg_volts", "i_exc_amps", "i_inh_amps", "temp_celsius"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise DesignError(f"{name} must be a finite number, got {value!r}")
        if self.kind in ("fi", "mc", "mirror") and not self.i_exc_amps > 0:
            raise DesignError(f"i_exc_amps must be > 0 for a {self.kind} point, "
                              f"got {self.i_exc_amps!r}")
        if self.kind == "floor" and not self.i_inh_amps > 0:
            raise DesignError(f"i_inh_amps must be > 0 for a floor point, got {self.i_inh_amps!r}")
        if self.kind == "mc" and self.mc_sample < 0:
            raise DesignError(f"mc_sample must be >= 0 for an mc point, got {self.mc_sample!r}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def point_design(design: NeuronDesign, p: Point) -> NeuronDesign:
    """The design at the point's supplies."""
    return dataclasses.replace(design, v_dd_volts=p.v_dd_volts, v_neg_volts=p.v_neg_volts)


def stimulus_for(design: NeuronDesign, p: Point) -> Stimulus:
    """The transient window for a point (before any extension)."""
    c_tot = design.c_mem_farads + design.c_fb_farads
    if p.kind in ("fi", "mc"):
        i_eff = p.i_exc_amps * design.mirror_ratio
        if design.topology == "study":
            # reset by subtraction: the membrane integrates through the pulse, so the pulse adds
            # no dead time (measured: rate = I / q up to the working range's top) and bounds the
            # period only where the circuit saturates. The real period is 1.0-1.12x q_reset / I
            # for the nominal design at V_DD 0.8-1.2 V (up to 1.43x for a Monte Carlo sample,
            # which then takes the extension below)
            period = max(WINDOW_MARGIN * design.q_reset_coulombs / i_eff,
                         2.2 * design.pulse_seconds)
        else:  # the pulse is the refractory time: it adds to every period
            period = 1.4 * design.q_reset_coulombs / i_eff + 2.2 * design.pulse_seconds
        first = c_tot * 0.7 * design.v_dd_volts / i_eff
        t_stop = first + (N_SPIKES + 0.5) * period
        t_max = min(period / 40.0, t_stop / 200.0)
        if p.kind == "fi":  # the energy is measured here: resolve the sense inverter's crossing
            t_max = min(t_max, c_tot * RAMP_STEP_VOLTS / i_eff)
        if design.topology == "study":
            t_stop += T_INIT_SECONDS
    elif p.kind == "floor":
        swing = 0.7 * design.v_dd_volts - design.v_neg_volts + 0.1
        t_stop = 4.0 * c_tot * swing / (p.i_inh_amps * design.mirror_ratio) + 1e-7
        if design.topology == "study":
            t_stop += T_INIT_SECONDS
        t_max = t_stop / 200.0
    else:  # idle
        t_stop = 2e-6
        t_max = t_stop / 100.0
    return Stimulus(i_exc_amps=p.i_exc_amps if p.kind in ("fi", "mc") else 0.0,
                    i_inh_amps=p.i_inh_amps if p.kind == "floor" else 0.0,
                    temp_celsius=p.temp_celsius, t_stop_seconds=t_stop,
                    t_max_step_seconds=t_max)


def deck_for(design: NeuronDesign, p: Point, attempt: int = 0) -> str:
    """The point's first deck (the cache key hashes this text)."""
    from circuits.montecarlo import mismatch_for

    d = point_design(design, p)
    if p.kind == "mirror":
        from circuits.mirror import MIRROR_V_MEM_FRACTION, mirror_deck

        vm = MIRROR_V_MEM_FRACTION * d.v_dd_volts
        return "\n".join(mirror_deck(d, k, i_amps=p.i_exc_amps, v_mem_volts=vm, attempt=attempt)
                         for k in ("exc", "inh"))
    mm = mismatch_for(d, seed=p.seed, sample=p.mc_sample) if p.kind == "mc" else None
    return render_deck(d, stimulus_for(d, p), mismatch=mm, attempt=attempt)


def simulate_point(design: NeuronDesign, p: Point, *, counter: list[int] | None = None
                   ) -> dict[str, Any]:
    """Simulate one point and return its measurements (SI units, plain floats).

    Args:
        design: the neuron (its supplies are replaced by the point's).
        p: the point.
        counter: if given, ``counter[0]`` is incremented once per ngspice run.

    Raises:
        SimulationError: ngspice failed on every retry.
        CharacterizationError: a measurement could not be made (e.g. a single spike).
    """
    from circuits.montecarlo import mismatch_for

    d = point_design(design, p)
    if p.kind == "mirror":
        from circuits.mirror import MIRROR_V_MEM_FRACTION, mirror_gains

        vm = MIRROR_V_MEM_FRACTION * d.v_dd_volts
        g = mirror_gains(d, i_amps=p.i_exc_amps, v_mem_volts=vm, point=p.as_dict())
        if counter is not None:
            counter[0] += 2
        return {**g, "v_mem_volts": vm}
    mm = mismatch_for(d, seed=p.seed, sample=p.mc_sample) if p.kind == "mc" else None
    stim = stimulus_for(d, p)

    def run(s: Stimulus) -> dict[str, np.ndarray]:
        def bump() -> None:
            if counter is not None:
                counter[0] += 1
        w, _ = run_with_retries(lambda a: render_deck(d, s, mismatch=mm, attempt=a),
                                attempts=len(ATTEMPTS), vectors=saved_for(d.topology),
                                point=p.as_dict(),
                                on_run=bump)
        return w

    w = run(stim)
    if p.kind == "idle":
        start = 0.5 * stim.t_stop_seconds
        pv, pn = measure.mean_power(w, v_dd_volts=d.v_dd_volts, v_neg_volts=d.v_neg_volts,
                                    start=start)
        out = {"p_static_vdd_watts": pv, "p_static_vneg_watts": pn}
        if d.topology == "study":
            t = w["time"]
            pr, pb = measure.rail_powers(w, v_dd_volts=d.v_dd_volts, v_rst_volts=d.v_rst_volts)
            span = float(t[-1] - start)
            out["p_static_vrst_watts"] = measure.integrate(t, pr, start, float(t[-1])) / span
            out["p_bias_watts"] = measure.integrate(t, pb, start, float(t[-1])) / span
        return out
    if p.kind == "floor":
        t = w["time"]
        tail = t >= 0.5 * t[-1]
        return {"v_mem_min_volts": float(np.min(w["v_mem"][tail]))}
    sp = measure.find_spikes(w["time"], w["v_out"], d.v_dd_volts)
    for _ in range(2):  # extend the window when the rate is lower than expected
        if sp.n >= N_SPIKES:
            break
        scale = min(20.0, (N_SPIKES + 1.0) / max(sp.n - 0.5, 0.5))
        stim = dataclasses.replace(stim, t_stop_seconds=stim.t_stop_seconds * scale,
                                   t_max_step_seconds=stim.t_max_step_seconds * scale)
        w = run(stim)
        sp = measure.find_spikes(w["time"], w["v_out"], d.v_dd_volts)
    if sp.n in (1, 2):
        raise CharacterizationError(
            f"only {sp.n} spike(s) in {stim.t_stop_seconds:.3g} s at point {p.as_dict()}: "
            "too few for a steady rate")
    e_vdd, e_vneg, window = measure.window_energy(
        w, sp, v_dd_volts=d.v_dd_volts, v_neg_volts=d.v_neg_volts, i_exc_amps=p.i_exc_amps)
    extra: dict[str, Any] = {}
    if d.topology == "study":
        extra["e_window_vrst_joules"] = float("nan")
        if sp.n >= 3:
            pr, _ = measure.rail_powers(w, v_dd_volts=d.v_dd_volts, v_rst_volts=d.v_rst_volts)
            extra["e_window_vrst_joules"] = measure.integrate(
                w["time"], pr, float(sp.rise[1]), float(sp.rise[-1]))
        extra["v_rest_volts"] = measure.rest_level(w["time"], w["v_mem"], sp)
    return {**extra,
        "rate_hertz": measure.steady_rate(sp) if sp.n >= 3 else 0.0,
        "n_spikes": sp.n,
        "v_th_volts": measure.threshold_swing(w["time"], w["v_mem"], sp),
        "spike_width_seconds": measure.spike_width(sp),
        "e_window_vdd_joules": e_vdd,
        "e_window_vneg_joules": e_vneg,
        "t_window_seconds": window,
        "n_window_spikes": max(sp.n - 2, 0),
        "t_stop_seconds": stim.t_stop_seconds,
    }


def waveform(design: NeuronDesign, *, i_exc_amps: float, n_spikes: int = 4,
             temp_celsius: float = 27.0) -> dict[str, np.ndarray]:
    """One short transient of ``design`` for plots: ``time``, ``v_mem``, ``v_out`` (and currents).
    """
    p = Point(kind="fi", v_dd_volts=design.v_dd_volts, v_neg_volts=design.v_neg_volts,
              i_exc_amps=i_exc_amps, temp_celsius=temp_celsius)
    stim = stimulus_for(design, p)
    c_tot = design.c_mem_farads + design.c_fb_farads
    period = 1.4 * design.q_reset_coulombs / i_exc_amps + 2.2 * design.pulse_seconds
    t_stop = c_tot * 0.7 * design.v_dd_volts / i_exc_amps + (n_spikes + 0.3) * period
    stim = dataclasses.replace(stim, t_stop_seconds=t_stop,
                               t_max_step_seconds=min(stim.t_max_step_seconds, t_stop / 2000.0))
    w, _ = run_with_retries(lambda a: render_deck(design, stim, attempt=a),
                            attempts=len(ATTEMPTS), vectors=saved_for(design.topology),
                            point=p.as_dict())
    return w


__all__ = ["KINDS", "MEASURE_VERSION", "N_SPIKES", "Point", "deck_for", "point_design",
           "simulate_point", "stimulus_for", "waveform"]
