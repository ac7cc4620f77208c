"""Energy per inference from a simulation's spike counts and a calibration.

Per spiking layer ℓ, averaged over the batch (one inference = one sample over T steps):

    E_ℓ = spikes_ℓ · (E_spike,VDD(V_DD) + E_spike,VNEG(V_NEG))
        + synaptic_events_ℓ · E_syn(V_DD)          # events the layer's spikes trigger downstream
        + neurons_ℓ · P_static(V_NEG) · T · dt

plus the input's synaptic events × E_syn. A synaptic event delivers the charge |w|·q_spike, so with
``net`` given the events are weighted by |w| (each spike counts the sum of |w| over its outgoing
synapses; the input counts |x| times the sum of |w| over its synapses, every step); without it
every event is priced as a unit-weight event (an upper bound for |w| ≤ 1, said in the notes).
E_spike,VDD comes from the measured table at V_DD:
between measured supplies it is interpolated on a log–log scale; where the measurement says the
circuit is in its crowbar regime the report says so (``regime == "crowbar"``) instead of scaling a
V_DD² law; beyond a crowbar edge or above the measured range no law is assumed and
``CalibrationError`` is raised. E_syn is the charge of a unit-weight event drawn from V_DD.
"""

from __future__ import annotations

from typing import Any

from calib.calibration import Calibration
from cosim.energy_circuit import circuit_energy
from cosim.energy_common import (
    EnergyReport,
    LayerEnergy,
    input_events,
    per_inference,
    weighted_events,
)


def energy(result: Any, calibration: Calibration, *, v_dd_volts: float, v_neg_volts: float,
           net: Any = None, inputs: Any = None, eta: float | None = None,
           array_size: int | None = None, v_src_volts: float | None = None) -> EnergyReport:
    """Joules per inference, per layer, from a ``cosim.SimulationResult``.

    Args:
        result: uses ``spike_counts``, ``synaptic_events``, ``input_synaptic_events``,
            ``timesteps``, ``layer_names``, ``layer_sizes``.
        calibration: per-event energies and static power.
        v_dd_volts, v_neg_volts: the supplies.
        net: the simulated ``cosim.SpikingNetwork``; weights the synaptic events by |w|.
        inputs: (B, *input_shape) the simulated inputs (constant current); with ``net``, weights
            the input's events by |x|·|w|.

        eta: the negative supplies' charge-pump efficiency; given, the circuit's energy model
            (`calib.energy_terms`) prices the inference: spikes as E0 + K/f (the crowbar part is
            K × the inference time per firing neuron), the reset rail and V_NEG over η,
            excitatory and inhibitory events separately (w > 0 / w < 0; without ``net`` all as
            excitatory, said in the notes), one bias per array, leakage per neuron. None: the
            earlier pricing (unit events from V_DD, per-neuron static power), unchanged.
        array_size: neurons sharing one bias (with ``eta``; default: the whole network).
        v_src_volts: supply of the inhibitory drivers (with ``eta``; default V_DD).

    Raises:
        CalibrationError: a supply outside what the tables can answer without an assumed law.
    """
    if eta is not None:
        return circuit_energy(result, calibration, v_dd_volts=v_dd_volts,
                              v_neg_volts=v_neg_volts, net=net, inputs=inputs, eta=eta,
                              array_size=array_size, v_src_volts=v_src_volts)
    cal = calibration
    e_vdd, regime = cal.e_spike_vdd(v_dd_volts)
    e_vneg = cal.e_spike_vneg(v_neg_volts)
    p_static = cal.p_static_vneg(v_neg_volts)
    e_syn = cal.e_syn_joules(v_dd_volts)
    batch = int(result.spike_counts[0].shape[0])
    t_seconds = result.timesteps * cal.dt_seconds
    names = tuple(getattr(result, "layer_names", ()) or
                  (f"layer{i}" for i in range(len(result.spike_counts))))
    sizes = getattr(result, "layer_sizes", None)
    layers = []
    for i, counts in enumerate(result.spike_counts):
        n = int(sizes[i]) if sizes is not None else int(counts[0].numel())
        spikes = per_inference(counts, batch)
        if net is not None:
            syn = weighted_events(net, i, counts)
        else:
            syn = per_inference(result.synaptic_events[i], batch)
        layers.append(LayerEnergy(
            name=names[i], neurons=n, spikes=spikes, synaptic_events=syn,
            e_spike_joules=spikes * (e_vdd + e_vneg), e_syn_joules=syn * e_syn,
            e_static_joules=n * p_static * t_seconds))
    notes = []
    if net is not None and inputs is not None:
        inp = input_events(net, inputs, result.timesteps)
    else:
        inp = per_inference(getattr(result, "input_synaptic_events", 0.0), batch)
    if net is None:
        notes.append("synaptic events priced at unit weight (no network given to weight them "
                     "by |w|)")
    if regime == "crowbar":
        notes.append(f"V_DD={v_dd_volts} V: the circuit is in its crowbar regime there; E_spike is "
                     "the measured (interpolated) value, not a V_DD² law")
    elif regime == "quadratic-extrapolated":
        notes.append(f"V_DD={v_dd_volts} V is below the measured range; E_spike scaled by the "
                     "fitted power law of the quadratic regime")
    total = sum(ly.total_joules for ly in layers) + inp * e_syn
    return EnergyReport(
        layers=tuple(layers), input_synaptic_events=inp, e_input_joules=inp * e_syn,
        total_joules=total, v_dd_volts=float(v_dd_volts), v_neg_volts=float(v_neg_volts),
        timesteps=int(result.timesteps), dt_seconds=cal.dt_seconds, e_spike_vdd_joules=e_vdd,
        e_spike_vneg_joules=e_vneg, e_syn_joules=e_syn, p_static_watts=p_static, regime=regime,
        notes=tuple(notes))


__all__ = ["EnergyReport", "LayerEnergy", "energy"]
