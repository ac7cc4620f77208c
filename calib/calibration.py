"""The calibration file: circuit measurements mapped to network units, one versioned JSON file.

Network side (cosim) quantities are dimensionless, in units of the threshold swing θ, and one
timestep lasts ``dt_seconds``. The mapping:

* a unit input (weight 1 for one timestep) is the charge of one spike, ``q_spike_coulombs``,
  delivered over ``dt_seconds``: the current of weight 1 is ``i_unit_amps = q_spike / dt``;
* θ is the charge one spike removes, ``q_spike``: the f–I curve's low-rate charge per spike I/f
  (so that a unit input fires one spike per step at low rate: gain 1), else
  ``c_mem_farads × v_th_volts`` (the design's C, the threshold swing measured from the waveform);
* the transfer curve is the measured rate vs input current, ``rate(I)``; in network units an input
  ``x`` per step makes ``y = rate(x · i_unit) · dt`` spikes per step (the ideal integrator: y = x);
* one θ of membrane at a given V_NEG is ``theta_at(V_NEG)`` (the charge per spike at low rate
  over C, from the f–I slope at that V_NEG; else v_th_volts); the network's v = 1 is the sense
  threshold ``v_sense_volts`` (membrane just before a spike, from the waveform table) and v = 0 is
  one θ below it, ``rest_at(V_NEG)`` (the level a spike resets to); the floor is
  ``(v_mem_min(V_NEG) − rest_at(V_NEG)) / theta_at(V_NEG)`` (θ units) — so the "ZMP" circuit
  (V_NEG = 0) floors below the network's rest by rest/θ when the rest level is above 0 V;
* per-neuron mismatch (rate gain and threshold) is Gaussian with the Monte Carlo moments;
* energy: E_spike(V_DD) from the V_DD supply, E_spike(V_NEG) from the V_NEG supply, P_static(V_NEG),
  and E_syn(V_DD) per synaptic event of unit weight (charge q_spike drawn through the input mirror);
* inhibition weighs ``inh_gain_ratio(V_NEG)`` = gain_inh / gain_exc of excitation (the measured
  mirror gains; the transfer curve's slope below 0).

Every section keeps the table it came from (``sources``). ``Calibration.save`` / ``load`` round-trip
exactly; a malformed file raises ``CalibrationError`` naming the field. A saved file carries the
sha256 of its content (``content_sha256``); a file whose content no longer matches is refused.
Physically impossible values (negative energies, a floor above rest, a spike wider than dt, ...)
are refused naming the field (`calib._checks`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from calib._checks import validate
from calib._per_v_dd import per_v_dd
from calib.energy_model import EnergyLookups
from calib.errors import CalibrationError
from calib.io import atomic_write_text
from calib.io import content_hash as io_content_hash
from calib.unit_map import UnitMapping

FORMAT = "nmpkit-calibration"
SCHEMA_VERSION = 1
SEAL = "content_sha256"
"""Field `Calibration.save` adds: sha256 of the rest of the file; `load` refuses a mismatch."""


def content_hash(data: dict[str, Any]) -> str:
    """sha256 of a calibration dict's canonical JSON (sorted keys, no ``content_sha256``)."""
    return io_content_hash({k: v for k, v in data.items() if k != SEAL})


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration(UnitMapping, EnergyLookups):
    """A fitted, unit-mapped neuron model (see the module docstring for the mapping).

    Attributes (SI units in the names; curves are tuples of floats, ascending in their x):
        dt_seconds: duration of one network timestep.
        c_mem_farads: membrane capacitance of the design (total integrating C).
        v_th_volts: effective threshold swing measured from the waveform.
        q_spike_coulombs: charge one spike removes (= θ): the f–I's low-rate I/f, else
            c_mem_farads × v_th_volts.
        v_dd_volts, v_neg_volts: supplies at which the transfer curve was measured.
        transfer_i_amps, transfer_rate_hertz: measured f–I (ascending current, monotone rate).
        v_rest_volts: membrane voltage of the network's v = 0 at the operating point.
        v_theta_volts: membrane voltage of one θ at the operating point (q per spike at low
            rate / C); None: v_th_volts.
        v_sense_volts: membrane voltage of v = 1 (sense threshold); None: v_rest + θ.
        v_start_volts: membrane voltage where every input starts: the level the design's
            membrane controller sets (ground, 0 V, in the ``study`` topology, a little above the
            level a reset leaves: ``start_theta``); None: the network's v = 0 (no controller).
        theta_by_v_neg_volts: θ of membrane per transfer_v_neg_volts (empty: v_theta_volts).
        transfer_v_neg_volts, transfer_rate_by_v_neg_hertz: the f–I on the same currents for
            every measured V_NEG (the reset sink and mirrors sit on V_NEG, so the charge per spike
            moves with it); empty = only the operating point's curve.
        max_rate_hertz: saturation rate (the curve is held there above its last point).
        spike_width_seconds: output pulse width (median).
        floor_v_neg_volts, floor_v_mem_min_volts: membrane minimum under strong inhibition.
        energy_v_dd_volts, e_spike_vdd_joules, energy_regime: E_spike from V_DD per V_DD, and
            "quadratic"/"crowbar" per point.
        energy_exponent: fitted exponent of E_spike(V_DD) over the quadratic points (None if < 2).
        energy_v_neg_volts, e_spike_vneg_joules, p_static_vneg_watts: the V_NEG supply's energy per
            spike and static power per neuron, per V_NEG.
        syn_charge_factor: charge drawn from the supply per synaptic event of unit weight, in units
            of q_spike (1 + 1/mirror ratio: the mirror's input and output branch).
        gain_mean, gain_std, threshold_mean, threshold_std, gain_threshold_corr: per-neuron
            mismatch (rate gain and threshold relative to the nominal design).
        mismatch_samples: number of Monte Carlo samples behind the mismatch moments.
        sources: table kind → {"file", "provenance"} for each section.
        notes: free-text remarks of the fit (which points were dropped, etc.).
        spike_v_dd_volts, spike_e0_joules, spike_k_watts: the neuron's own energy per spike from
            V_DD, E0 + K/f, fitted per V_DD at the operating V_NEG (`calib.energy_terms`).
        e_spike_vrst_joules, p_bias_watts, p_static_vdd_watts, p_static_vrst_watts: per
            spike_v_dd_volts, the reset rail's energy per spike, the bias generator's power (one
            per array), and the idle power of one neuron from V_DD and the reset rail (0 where
            the topology has no reset rail or metered bias: ``raised_rest``'s bias is in
            p_static_vneg_watts).
        mirror_v_neg_volts, mirror_gain_exc, mirror_gain_inh: the input mirrors' measured gains
            (copy / input, membrane at V_DD/3, mean over the characterized currents) per V_NEG at
            this V_DD; empty: not measured (``raised_rest``, older files), read as equal gains.
            ``inh_gain_ratio(v_neg)`` = gain_inh / gain_exc: the weight of inhibition relative to
            excitation (the f–I curve already holds the excitatory gain).
        by_v_dd: the calibrations at the grid's other V_DD (same dt, each with its own θ, rest,
            floors, transfer curve and mismatch); ``at(v_dd)`` picks one, ``v_dd_grid`` lists
            them. The single-V_DD fields above are the nominal V_DD's.
    """

    dt_seconds: float
    c_mem_farads: float
    v_th_volts: float
    q_spike_coulombs: float
    v_dd_volts: float
    v_neg_volts: float
    transfer_i_amps: tuple[float, ...]
    transfer_rate_hertz: tuple[float, ...]
    max_rate_hertz: float
    spike_width_seconds: float
    floor_v_neg_volts: tuple[float, ...]
    floor_v_mem_min_volts: tuple[float, ...]
    energy_v_dd_volts: tuple[float, ...]
    e_spike_vdd_joules: tuple[float, ...]
    energy_regime: tuple[str, ...]
    energy_exponent: float | None
    energy_v_neg_volts: tuple[float, ...]
    e_spike_vneg_joules: tuple[float, ...]
    p_static_vneg_watts: tuple[float, ...]
    syn_charge_factor: float = 2.0
    v_rest_volts: float = 0.0
    v_theta_volts: float | None = None
    v_sense_volts: float | None = None
    v_start_volts: float | None = None
    theta_by_v_neg_volts: tuple[float, ...] = ()
    transfer_v_neg_volts: tuple[float, ...] = ()
    transfer_rate_by_v_neg_hertz: tuple[tuple[float, ...], ...] = ()
    gain_mean: float = 1.0
    gain_std: float = 0.0
    threshold_mean: float = 1.0
    threshold_std: float = 0.0
    gain_threshold_corr: float = 0.0
    mismatch_samples: int = 0
    sources: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    spike_v_dd_volts: tuple[float, ...] = ()
    spike_e0_joules: tuple[float, ...] = ()
    spike_k_watts: tuple[float, ...] = ()
    e_spike_vrst_joules: tuple[float, ...] = ()
    p_bias_watts: tuple[float, ...] = ()
    p_static_vdd_watts: tuple[float, ...] = ()
    p_static_vrst_watts: tuple[float, ...] = ()
    mirror_v_neg_volts: tuple[float, ...] = ()
    mirror_gain_exc: tuple[float, ...] = ()
    mirror_gain_inh: tuple[float, ...] = ()
    by_v_dd: tuple[Calibration, ...] = ()

    def __post_init__(self) -> None:
        validate(self)
        object.__setattr__(self, "by_v_dd", per_v_dd(self, Calibration))

    # ---- per-V_DD calibrations ----------------------------------------------------------------
    @property
    def v_dd_grid(self) -> tuple[float, ...]:
        """Every V_DD this file holds a calibration for (ascending; the nominal one included)."""
        return tuple(sorted({self.v_dd_volts, *(c.v_dd_volts for c in self.by_v_dd)}))

    def at(self, v_dd_volts: float | None) -> Calibration:
        """The calibration measured at ``v_dd_volts`` (its own θ, rest, floors, transfer curve,
        mirror gains and mismatch); None or the nominal V_DD: this one.

        Raises:
            CalibrationError: a V_DD that is not on the grid (the message names the grid).
        """
        if v_dd_volts is None:
            return self
        v = float(v_dd_volts)
        for c in (self, *self.by_v_dd):
            if abs(c.v_dd_volts - v) <= 1e-9:
                return c
        raise CalibrationError(
            f"v_dd_volts={v!r} is not a calibrated supply; the calibration holds V_DD "
            f"{list(self.v_dd_grid)} V (characterize that V_DD, or choose one of these)")

    @classmethod
    def ideal(cls, *, dt_seconds: float = 1e-6, c_mem_farads: float = 1e-12,
              v_th_volts: float = 0.5, v_dd_volts: float = 1.0) -> Calibration:
        """A calibration of an ideal circuit: rate = I / q_spike without saturation (a million
        spikes per step), floor = V_NEG, no mismatch. ``cosim.calibrated`` maps it to the plain
        IF."""
        q = c_mem_farads * v_th_volts
        i_top = 1e6 * q / dt_seconds
        return cls(
            dt_seconds=dt_seconds, c_mem_farads=c_mem_farads, v_th_volts=v_th_volts,
            q_spike_coulombs=q, v_dd_volts=v_dd_volts, v_neg_volts=0.0,
            transfer_i_amps=(0.0, i_top), transfer_rate_hertz=(0.0, i_top / q),
            max_rate_hertz=i_top / q, spike_width_seconds=0.0,
            floor_v_neg_volts=(-4.0 * v_dd_volts, 0.0),
            floor_v_mem_min_volts=(-4.0 * v_dd_volts, 0.0),
            energy_v_dd_volts=(v_dd_volts,), e_spike_vdd_joules=(c_mem_farads * v_dd_volts**2,),
            energy_regime=("quadratic",), energy_exponent=None,
            energy_v_neg_volts=(0.0,), e_spike_vneg_joules=(0.0,), p_static_vneg_watts=(0.0,),
            sources={"ideal": {"file": None, "provenance": {"note": "Calibration.ideal()"}}},
        )

    # ---- (de)serialization -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "version": SCHEMA_VERSION}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "by_v_dd":
                v = [c.to_dict() for c in v]
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "calibration") -> Calibration:
        if not isinstance(data, dict):
            raise CalibrationError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise CalibrationError(
                f"{where}: field 'format' must be {FORMAT!r}, got {data.get('format')!r}")
        if data.get("version") != SCHEMA_VERSION:
            raise CalibrationError(
                f"{where}: field 'version' must be {SCHEMA_VERSION}, got {data.get('version')!r}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                if _has_default(f):
                    continue
                raise CalibrationError(f"{where}: missing field {f.name!r}")
            kwargs[f.name] = data[f.name]
        unknown = sorted(set(data) - {f.name for f in fields(cls)} - {"format", "version"})
        if unknown:
            raise CalibrationError(f"{where}: unknown field {unknown[0]!r}")
        try:
            return cls(**kwargs)
        except CalibrationError as exc:
            raise CalibrationError(f"{where}: {exc}") from exc
        except TypeError as exc:
            raise CalibrationError(f"{where}: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the calibration as JSON, atomically. Returns the path."""
        data = self.to_dict()
        data[SEAL] = content_hash(data)
        return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a calibration file. Raises CalibrationError naming the file and the bad field."""
        path = Path(path)
        if not path.is_file():
            raise CalibrationError(f"{path}: calibration file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CalibrationError(f"{path}: not a JSON calibration file ({exc})") from exc
        if isinstance(data, dict) and SEAL in data:  # files without it: written by hand
            recorded = data.pop(SEAL)
            if recorded != content_hash(data):
                raise CalibrationError(
                    f"{path}: field {SEAL!r} records {str(recorded)[:16]}..., the content hashes "
                    f"to {content_hash(data)[:16]}...: the file was edited or damaged after it "
                    f"was written; recalibrate, or delete {SEAL!r} to accept the edit")
        return cls.from_dict(data, where=str(path))


def _has_default(f: Any) -> bool:
    from dataclasses import MISSING

    return f.default is not MISSING or f.default_factory is not MISSING


__all__ = ["FORMAT", "SCHEMA_VERSION", "Calibration"]
