"""Monte Carlo mismatch (Pelgrom scaling), seeded and per transistor.

For every transistor of ``netlists/if_neuron.sub`` with gate area W*L::

    sigma(V_T)      = A_VT   / sqrt(W * L)      -> delvto  (volts)
    sigma(beta)/beta = A_BETA / sqrt(W * L)      -> mulu0   (factor 1 + d_beta)

Samples are drawn from ``numpy.random.default_rng([seed, sample])``, so sample k of a seed is the
same wherever and in whatever order it runs (parallel sweeps, resumed sweeps). The shifts enter
the deck as the subcircuit's ``dvt_<dev>``/``mu_<dev>`` parameters (PySpice's MOSFET element
rejects ``delvto``, so the deck is written as text). BSIM3 cards only.
"""

from __future__ import annotations

import math

import numpy as np

from circuits.design import NeuronDesign
from circuits.render import DEVICES_BY_TOPOLOGY

A_VT_VOLT_METERS = 5e-9
"""Pelgrom threshold coefficient: 5 mV*um (a 180 nm-class value)."""
A_BETA_METERS = 1e-8
"""Pelgrom current-factor coefficient: 1 %*um."""


def _input_sizes(d: NeuronDesign) -> dict[str, tuple[float, float]]:
    """The input mirrors and the sense inverter as ``raised_rest`` sizes them (``study`` overrides
    the sense inverter and adds the inhibitory cascodes)."""
    return {
        "mp1": (d.w_exc_meters, d.l_exc_meters),
        "mp2": (d.w_exc_meters * d.mirror_ratio, d.l_exc_meters),
        "mn1": (d.w_inh_meters, d.l_inh_meters),
        "mn2": (d.w_inh_meters * d.mirror_ratio, d.l_inh_meters),
        "mp3": (3 * d.w_sense_meters, d.l_sense_meters),
        "mn3": (d.w_sense_meters, d.l_sense_meters),
    }


def _study_sizes(d: NeuronDesign) -> dict[str, tuple[float, float]]:
    logic = 1.8e-7
    wr, lr = d.w_reset_meters, d.l_reset_meters
    i_b = d.i_reset_amps / d.reset_bias_ratio
    timer = d.c_delay_farads * 0.5 / d.t_pulse_seconds / i_b
    ws, ls = d.w_sense_meters, d.l_sense_meters
    return {
        **_input_sizes(d),
        "mn1c": (d.w_inhc_meters, d.l_inhc_meters),
        "mn2c": (d.w_inhc_meters * d.mirror_ratio, d.l_inhc_meters),
        "mp3": (ws, ls), "mn3": (2 * ws, ls),  # the study's sense inverter: NMOS twice the PMOS
        "mp13": (5e-7, logic), "mn13": (2.2e-7, logic),
        "mp14a": (2e-6, logic), "mp14b": (2e-6, logic), "mn14a": (4e-7, logic),
        "mn14b": (4e-7, logic), "mp15a": (2e-6, logic), "mp15b": (2e-6, logic),
        "mn15a": (4e-7, logic), "mn15b": (4e-7, logic),
        "mp5": (2e-6, logic), "mn5": (7e-7, logic), "mp6": (4e-6, logic), "mn6": (1.5e-6, logic),
        "mpd": (wr * timer, lr), "mps": (1e-6, logic), "mn7": (1e-6, logic),
        "mp8": (24 * ws, ls), "mn8": (48 * ws, ls),
        "mp16": (1e-6, logic), "mn16": (4e-7, logic),
        "mp9": (8e-6, logic), "mp10": (8e-6, logic), "mn9": (3e-7, 2e-6), "mn10": (3e-7, 2e-6),
        "mp11": (1e-6, logic), "mn11": (4e-7, logic), "mr1": (1e-6, logic),
        "mr2": (wr * d.reset_bias_ratio, lr), "mrb": (wr, lr), "mnb": (wr, lr), "mpb": (wr, lr),
        "mc1": (5e-7, logic), "mc2": (1e-6, logic), "mc3": (1e-6, logic), "mc4": (4e-7, logic),
    }


def device_sizes(d: NeuronDesign) -> dict[str, tuple[float, float]]:
    """(W, L) in meters of every transistor, as the subcircuit instantiates them."""
    if d.topology == "study":
        return _study_sizes(d)
    logic = 1.8e-7
    return {
        **_input_sizes(d),
        "mp4a": (2e-6, logic), "mp4b": (2e-6, logic), "mn4a": (5e-7, logic),
        "mn4b": (5e-7, logic), "mp5": (2e-6, logic), "mn5": (7e-7, logic),
        "mp6": (8e-6, logic), "mn6": (3e-6, logic), "mp7": (1e-6, logic), "mn7": (4e-7, logic),
        "mp8": (1e-6, logic), "mn8": (4e-7, logic), "mp9": (8e-6, logic), "mp10": (8e-6, logic),
        "mn9": (3e-7, 2e-6), "mn10": (3e-7, 2e-6), "mp11": (1e-6, logic), "mn11": (4e-7, logic),
        "mr1": (1e-6, logic),
        "mr2": (d.w_reset_meters * d.reset_bias_ratio, d.l_reset_meters),
        "mrb": (d.w_reset_meters, d.l_reset_meters),
        "mp12": (5e-7, 2e-6),
    }


def mismatch_for(design: NeuronDesign, *, seed: int, sample: int,
                 a_vt_volt_meters: float = A_VT_VOLT_METERS,
                 a_beta_meters: float = A_BETA_METERS) -> dict[str, float]:
    """Per-transistor shifts of Monte Carlo sample ``sample`` under ``seed``.

    Returns:
        ``{"dvt_<dev>": volts, "mu_<dev>": factor}`` for every device of the topology.
    """
    sizes = device_sizes(design)
    devices = DEVICES_BY_TOPOLOGY[design.topology]
    rng = np.random.default_rng([int(seed), int(sample)])
    z = rng.standard_normal((len(devices), 2))
    out: dict[str, float] = {}
    for k, dev in enumerate(devices):
        width, length = sizes[dev]
        root = math.sqrt(width * length)
        out[f"dvt_{dev}"] = float(z[k, 0] * a_vt_volt_meters / root)
        out[f"mu_{dev}"] = float(max(0.5, 1.0 + z[k, 1] * a_beta_meters / root))
    return out


__all__ = ["A_BETA_METERS", "A_VT_VOLT_METERS", "device_sizes", "mismatch_for"]
