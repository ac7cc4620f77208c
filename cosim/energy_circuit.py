"""`cosim.energy(..., eta=...)`: an inference priced with the circuit's energy model
(`calib.energy_terms`), term by term.

Per spiking layer ℓ (averaged over the batch; T steps of dt)::

    E_ℓ = spikes_ℓ · (E0 + E_reset/η + E_vneg/η)       # the neuron's own charge per spike
        + firing_ℓ · K · T·dt                          # crowbar: Σ_i n_i·K/f_i, f_i = n_i/(T·dt)
        + exc_ℓ · E_syn,exc + inh_ℓ · E_syn,inh        # events its spikes trigger downstream
        + neurons_ℓ · P_leak · T·dt
    E_bias = ceil(N / array_size) · P_bias · T·dt      # one shared bias per array

plus the input's events (excitatory/inhibitory by the sign of w, weighted by |x|·|w|).
"""

from __future__ import annotations

import math
from typing import Any

from calib import energy_terms as et
from calib.calibration import Calibration
from cosim.energy_common import (
    EnergyReport,
    LayerEnergy,
    input_events,
    per_inference,
    weighted_events,
)


def circuit_energy(result: Any, calibration: Calibration, *, v_dd_volts: float,
                   v_neg_volts: float, net: Any, inputs: Any, eta: float,
                   array_size: int | None, v_src_volts: float | None) -> Any:
    """See the module docstring; returns a `cosim.energy_common.EnergyReport` with ``terms``."""
    cal = calibration
    if array_size is not None:  # validated before anything is priced
        et.static_power(cal, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts, neurons=1,
                        array_size=array_size, eta=eta)
    rate_ref = 1.0 / cal.dt_seconds  # K/f is applied per firing neuron below, not at this rate
    t = et.terms(cal, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts, rate_hertz=rate_ref,
                 eta=eta, v_src_volts=v_src_volts)
    k_watts = t["spike_crowbar"].value * rate_ref
    e_own = t["spike_logic"].value + t["spike_reset"].value + t["spike_vneg"].value
    e_exc, e_inh, p_leak = t["syn_exc"].value, t["syn_inh"].value, t["leakage"].value
    batch = int(result.spike_counts[0].shape[0])
    t_seconds = result.timesteps * cal.dt_seconds
    names = tuple(getattr(result, "layer_names", ()) or
                  (f"layer{i}" for i in range(len(result.spike_counts))))
    sizes = getattr(result, "layer_sizes", None)
    notes = [f"circuit energy model: eta = {eta:g}, V_src = "
             f"{v_dd_volts if v_src_volts is None else v_src_volts:g} V"]
    layers, total_neurons = [], 0
    for i, counts in enumerate(result.spike_counts):
        n = int(sizes[i]) if sizes is not None else int(counts[0].numel())
        total_neurons += n
        spikes = per_inference(counts, batch)
        firing = float((counts.reshape(batch, -1) > 0).double().sum()) / batch
        if net is not None:
            exc, inh = (weighted_events(net, i, counts, s) for s in (+1, -1))
        else:
            exc, inh = per_inference(result.synaptic_events[i], batch), 0.0
        layers.append(LayerEnergy(
            name=names[i], neurons=n, spikes=spikes, synaptic_events=exc + inh,
            e_spike_joules=spikes * e_own + firing * k_watts * t_seconds,
            e_syn_joules=exc * e_exc + inh * e_inh, e_static_joules=n * p_leak * t_seconds,
            inhibitory_events=inh))
    if net is not None and inputs is not None:
        inp_exc, inp_inh = (input_events(net, inputs, result.timesteps, s) for s in (+1, -1))
    else:
        inp_exc = per_inference(getattr(result, "input_synaptic_events", 0.0), batch)
        inp_inh = 0.0
    if net is None:
        notes.append("no network given: every synaptic event priced as a unit-weight "
                     "excitatory event")
    size = total_neurons if array_size is None else array_size
    e_bias = math.ceil(total_neurons / max(size, 1)) * t["bias"].value * t_seconds
    e_input = inp_exc * e_exc + inp_inh * e_inh
    total = sum(ly.total_joules for ly in layers) + e_input + e_bias
    regime = t["spike_logic"].regime
    return EnergyReport(
        layers=tuple(layers), input_synaptic_events=inp_exc + inp_inh, e_input_joules=e_input,
        total_joules=total, v_dd_volts=float(v_dd_volts), v_neg_volts=float(v_neg_volts),
        timesteps=int(result.timesteps), dt_seconds=cal.dt_seconds,
        e_spike_vdd_joules=t["spike_logic"].value,
        e_spike_vneg_joules=t["spike_vneg"].value + t["spike_reset"].value,
        e_syn_joules=e_exc, p_static_watts=p_leak, regime=regime, notes=tuple(notes),
        eta=float(eta), array_size=size, e_bias_joules=e_bias,
        terms={k: v.as_dict() for k, v in t.items()})


__all__ = ["circuit_energy"]
