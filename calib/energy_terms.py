"""The circuit's energy model, term by term (issue 9 item 3), from a `calib.Calibration`.

Per spike, per synaptic event of unit weight, and per second, at (V_DD, V_NEG)::

    spike_logic   E0(V_DD) + K(V_DD)/f        from V_DD  (E0: the logic's C·V², "quadratic";
                                                          K/f: the sense inverter's crowbar current
                                                          while the membrane ramps, "crowbar")
    spike_reset   E_rst(V_DD) / η              into the reset rail (the C·θ packet × |V_RST| and
                                                          the level shifter, "fixed-charge")
    spike_vneg    E_neg(V_NEG) / η             into V_NEG per spike (junction/mirror charge)
    syn_exc       (1 + 1/m)·q·V_DD             an excitatory event: the mirror's input and output
                                                          branch draw q_spike from V_DD
    syn_inh       q/m·V_src + (1 + 1/m)·q·|V_NEG|/η   an inhibitory event: the driver's charge
                                                          from V_src (default V_DD) ends in V_NEG,
                                                          and so does the membrane's
    bias          P_bias(V_DD) per array       the reset sink's bias generator, one per array
    leakage       P_leak = P_vdd + (P_vneg + P_vrst)/η per neuron (idle: the membrane at rest)

η is the efficiency of the charge pump that makes the negative supplies (V_NEG and the reset
rail) from V_DD: the energy it draws from V_DD is the energy delivered below ground over η.
Default ``ETA_DEFAULT = 0.5``: integrated switched-capacitor inverting pumps at µW loads lose
most to bottom-plate and gate-drive charge, and reach about 40–70 % (an ideal 2:1 SC stage's
conduction loss alone caps it below 100 % at any finite switching frequency); 0.5 sits in that
range and is swept by callers (the energy profile table writes η = 0.3, 0.5, 0.8, 1.0).

Each term reports its V_DD exponent (d ln E / d ln V_DD between the calibrated V_DD, from the
per-V_DD measurements; None where only one V_DD is known) and a regime label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from calib.errors import CalibrationError

ETA_DEFAULT = 0.5
"""Default charge-pump efficiency of the negative supplies (see the module docstring)."""
REGIMES = ("quadratic", "crowbar", "fixed-charge", "static")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyTerm:
    """One term: ``value`` in joules (per spike or per event) or watts (``unit`` "W")."""

    name: str
    value: float
    unit: str
    per: str
    supply: str
    regime: str
    v_dd_exponent: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def check_eta(eta: float) -> float:
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 < eta <= 1:
        raise CalibrationError(f"eta (charge-pump efficiency) must be in (0, 1], got {eta!r}")
    return float(eta)


def _series(cal: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(cal.spike_v_dd_volts, dtype=float)
    return xs, np.asarray(getattr(cal, name), dtype=float)


def _at_v_dd(cal: Any, name: str, v_dd: float) -> float:
    xs, ys = _series(cal, name)
    if xs.size == 0:
        raise CalibrationError("the calibration has no per-V_DD energy fit (fields "
                               "'spike_v_dd_volts', ...): recalibrate from current tables")
    if not xs[0] - 1e-9 <= v_dd <= xs[-1] + 1e-9:
        raise CalibrationError(f"v_dd_volts={v_dd!r} is outside the energy model's V_DD range "
                               f"[{xs[0]}, {xs[-1]}] V; no law is extrapolated")
    return float(np.interp(v_dd, xs, ys))


def exponent(cal: Any, name: str, v_dd: float) -> float | None:
    """Local d ln y / d ln V_DD of a per-V_DD series at ``v_dd`` (None: < 2 positive points)."""
    xs, ys = _series(cal, name)
    ok = (xs > 0) & (ys > 0)
    xs, ys = xs[ok], ys[ok]
    if xs.size < 2:
        return None
    k = np.gradient(np.log(ys), np.log(xs))
    return float(np.interp(v_dd, xs, k))


def _q_exponent(cal: Any, v_dd: float) -> float | None:
    """d ln q_spike / d ln V_DD over the calibrated V_DD (θ moves with V_DD)."""
    grid = [cal.at(v) for v in cal.v_dd_grid]
    if len(grid) < 2:
        return None
    xs = np.log([c.v_dd_volts for c in grid])
    k = np.gradient(np.log([c.q_spike_coulombs for c in grid]), xs)
    return float(np.interp(math.log(v_dd), xs, k))


def terms(cal: Any, *, v_dd_volts: float, v_neg_volts: float, rate_hertz: float,
          eta: float = ETA_DEFAULT, v_src_volts: float | None = None) -> dict[str, EnergyTerm]:
    """Every term at (V_DD, V_NEG) for a neuron firing at ``rate_hertz`` (see the module
    docstring); the synaptic terms use the q_spike of ``cal.at(v_dd)`` when that V_DD is
    calibrated, else the nominal one.

    Raises:
        CalibrationError: no per-V_DD energy fit, a supply outside the measured ranges, a rate
            <= 0 or an η outside (0, 1].
    """
    eta = check_eta(eta)
    v = float(v_dd_volts)
    vn = float(v_neg_volts)
    if not (math.isfinite(rate_hertz) and rate_hertz > 0):
        raise CalibrationError(f"rate_hertz must be > 0, got {rate_hertz!r}")
    src = v if v_src_volts is None else float(v_src_volts)
    e0, k = _at_v_dd(cal, "spike_e0_joules", v), _at_v_dd(cal, "spike_k_watts", v)
    k_e0 = exponent(cal, "spike_e0_joules", v)
    lo, hi = 1.6, 2.4
    e0_regime = "quadratic" if k_e0 is None or lo <= k_e0 <= hi else "crowbar"
    try:
        c = cal.at(v)
    except CalibrationError:
        c = cal
    q, m = c.q_spike_coulombs, 1.0 / max(c.syn_charge_factor - 1.0, 1e-12)
    k_q = _q_exponent(cal, v)
    out = {
        "spike_logic": EnergyTerm(name="spike_logic", value=e0, unit="J", per="spike",
                                  supply="V_DD", regime=e0_regime, v_dd_exponent=k_e0),
        "spike_crowbar": EnergyTerm(name="spike_crowbar", value=k / rate_hertz, unit="J",
                                    per="spike", supply="V_DD", regime="crowbar",
                                    v_dd_exponent=exponent(cal, "spike_k_watts", v)),
        "spike_reset": EnergyTerm(name="spike_reset",
                                  value=_at_v_dd(cal, "e_spike_vrst_joules", v) / eta,
                                  unit="J", per="spike", supply="V_RST/eta",
                                  regime="fixed-charge",
                                  v_dd_exponent=exponent(cal, "e_spike_vrst_joules", v)),
        "spike_vneg": EnergyTerm(name="spike_vneg", value=c.e_spike_vneg(vn) / eta, unit="J",
                                 per="spike", supply="V_NEG/eta", regime="fixed-charge",
                                 v_dd_exponent=None),
        "syn_exc": EnergyTerm(name="syn_exc", value=(1.0 + 1.0 / m) * q * v, unit="J",
                              per="excitatory event", supply="V_DD", regime="fixed-charge",
                              v_dd_exponent=None if k_q is None else 1.0 + k_q),
        "syn_inh": EnergyTerm(name="syn_inh",
                              value=q / m * src + (1.0 + 1.0 / m) * q * abs(vn) / eta,
                              unit="J", per="inhibitory event", supply="V_src + V_NEG/eta",
                              regime="fixed-charge", v_dd_exponent=k_q),
        "bias": EnergyTerm(name="bias", value=_at_v_dd(cal, "p_bias_watts", v), unit="W",
                           per="array", supply="V_DD + V_RST", regime="static",
                           v_dd_exponent=exponent(cal, "p_bias_watts", v)),
        "leakage": EnergyTerm(name="leakage",
                              value=_at_v_dd(cal, "p_static_vdd_watts", v)
                              + (c.p_static_vneg(vn)
                                 + _at_v_dd(cal, "p_static_vrst_watts", v)) / eta,
                              unit="W", per="neuron", supply="V_DD + V_NEG/eta",
                              regime="static", v_dd_exponent=None),
    }
    return out


def e_spike(cal: Any, *, v_dd_volts: float, v_neg_volts: float, rate_hertz: float,
            eta: float = ETA_DEFAULT) -> float:
    """Energy per spike (J) of the neuron itself: logic + crowbar + reset rail + V_NEG."""
    t = terms(cal, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts, rate_hertz=rate_hertz,
              eta=eta)
    return sum(t[n].value for n in ("spike_logic", "spike_crowbar", "spike_reset", "spike_vneg"))


def static_power(cal: Any, *, v_dd_volts: float, v_neg_volts: float, neurons: int,
                 array_size: int, eta: float = ETA_DEFAULT) -> float:
    """Static power (W) of ``neurons`` neurons in arrays of ``array_size`` (one shared bias per
    array): ceil(neurons / array_size) · P_bias + neurons · P_leak."""
    if isinstance(array_size, bool) or not isinstance(array_size, int) or array_size < 1:
        raise CalibrationError(f"array_size must be an integer >= 1, got {array_size!r}")
    t = terms(cal, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts, rate_hertz=1.0, eta=eta)
    return math.ceil(neurons / array_size) * t["bias"].value + neurons * t["leakage"].value


__all__ = ["ETA_DEFAULT", "EnergyTerm", "REGIMES", "check_eta", "e_spike", "exponent",
           "static_power", "terms"]
