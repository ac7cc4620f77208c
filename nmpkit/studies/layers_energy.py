"""Energy per inference of a per-layer floor allocation, through the circuit's energy model.

Every layer group has its own negative supply: its own V_NEG and its own charge pump of
efficiency η (`calib.energy_terms`), and its own bias arrays (an array cannot straddle two
supplies). Per spiking layer ℓ at its group's V_ℓ, with the terms of `calib.energy_terms.terms`
at (V_DD, V_ℓ)::

    E_ℓ = spikes_ℓ · (E0 + E_rst/η + E_neg(V_ℓ)/η)        # the neuron's own charge per spike
        + firing_ℓ · K · T·dt                             # crowbar K/f per firing neuron
        + exc_ℓ · E_syn,exc + inh_ℓ · E_syn,inh(V_ℓ+1)     # events its spikes trigger downstream;
                                                          # an inhibitory event's charge ends in
                                                          # the *target* layer's V_NEG
        + neurons_ℓ · P_leak(V_ℓ) · T·dt
    E_input = exc_in · E_syn,exc + inh_in · E_syn,inh(V_0)
    E_bias  = Σ_groups ceil(neurons_g / array_size) · P_bias · T·dt   (array_size None: one
                                                                       array per group)

These are `cosim.energy(..., eta=...)`'s terms with V_NEG per layer; with one group and a uniform
allocation the two agree exactly (a test checks it). A layer's negative-supply share (what its
group's pump delivers for it) is spikes_ℓ · E_neg(V_ℓ)/η + neurons_ℓ · P_static,VNEG(V_ℓ)/η · T·dt
+ the inhibitory events that land in it × (1 + 1/m)·q·|V_ℓ|/η.

A calibration without the per-V_DD energy fit cannot price this; `layer_energy` then falls back to
the per-event pricing (`cosim.energy` without η, η = 1), and says so in the returned note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from calib.calibration import Calibration
from calib.errors import CalibrationError


def circuit_layer_energy(res: Any, cal: Calibration, *, v_dd_volts: float,
                         v_neg_by_layer: Sequence[float], members: Sequence[Sequence[int]],
                         net: Any, inputs: Any, eta: float, array_size: int | None
                         ) -> tuple[float, tuple[dict[str, float], ...]]:
    """Total joules per inference and, per layer, {total_joules, vneg_joules, bias_joules} (the
    layer's share of its group's bias, by neuron count). See the module docstring. The
    weighted fan-outs are `cosim.energy_common`'s (remembered while the weights live unchanged).

    Raises:
        CalibrationError: no per-V_DD energy fit, a supply outside the tables, a bad η or
            array_size.
    """
    from calib import energy_terms as et
    from cosim.energy_common import input_events, weighted_events

    if array_size is not None and (isinstance(array_size, bool) or not isinstance(array_size, int)
                                   or array_size < 1):
        raise CalibrationError(f"array_size must be an integer >= 1, got {array_size!r}")
    rate_ref = 1.0 / cal.dt_seconds
    terms = {v: et.terms(cal, v_dd_volts=v_dd_volts, v_neg_volts=v, rate_hertz=rate_ref, eta=eta)
             for v in set(v_neg_by_layer)}
    try:
        c = cal.at(v_dd_volts)
    except CalibrationError:
        c = cal
    batch = int(res.spike_counts[0].shape[0])
    t_s = res.timesteps * cal.dt_seconds
    sizes = [int(s) for s in res.layer_sizes]
    n_layers = len(sizes)
    exc_inh = [tuple(weighted_events(net, i, res.spike_counts[i], s) for s in (+1, -1))
               for i in range(n_layers)]
    in_exc, in_inh = (input_events(net, inputs, res.timesteps, s) for s in (+1, -1))
    # per layer: the inhibitory events that land in it (from the layer before, or the input)
    landing = [in_inh] + [exc_inh[i][1] for i in range(n_layers - 1)]
    q_v = None  # (1 + 1/m)·q: the charge of one event through the mirror, from syn_exc / V_DD
    out = []
    for i in range(n_layers):
        v = v_neg_by_layer[i]
        t = terms[v]
        q_v = t["syn_exc"].value / v_dd_volts
        counts = res.spike_counts[i].reshape(batch, -1)
        spikes = float(counts.double().sum()) / batch
        firing = float((counts > 0).double().sum()) / batch
        e_own = t["spike_logic"].value + t["spike_reset"].value + t["spike_vneg"].value
        k_watts = t["spike_crowbar"].value * rate_ref
        exc, inh = exc_inh[i]
        v_next = v_neg_by_layer[i + 1] if i + 1 < n_layers else v
        syn = exc * t["syn_exc"].value + inh * terms[v_next]["syn_inh"].value
        total = (spikes * e_own + firing * k_watts * t_s + syn
                 + sizes[i] * t["leakage"].value * t_s)
        vneg = (spikes * t["spike_vneg"].value + sizes[i] * c.p_static_vneg(v) / eta * t_s
                + landing[i] * q_v * abs(v) / eta)
        out.append({"total_joules": total, "vneg_joules": vneg, "bias_joules": 0.0})
    p_bias = terms[v_neg_by_layer[0]]["bias"].value
    for m in members:
        n_g = sum(sizes[i] for i in m)
        e_b = math.ceil(n_g / (array_size or n_g)) * p_bias * t_s
        for i in m:
            out[i]["bias_joules"] = e_b * sizes[i] / n_g
            out[i]["total_joules"] += out[i]["bias_joules"]
    t0 = terms[v_neg_by_layer[0]]
    e_input = in_exc * t0["syn_exc"].value + in_inh * t0["syn_inh"].value
    return e_input + sum(d["total_joules"] for d in out), tuple(out)


def per_event_layer_energy(res: Any, cal: Calibration, *, v_dd_volts: float,
                           v_neg_by_layer: Sequence[float], net: Any,
                           inputs: Any) -> tuple[float, tuple[dict[str, float], ...]]:
    """The per-event pricing (no η): spikes × (E_spike,VDD + E_spike,VNEG(V_ℓ)) + weighted events
    × E_syn + neurons × P_static(V_ℓ) × T·dt, plus the input's events (`cosim.energy`'s terms,
    each layer's V_NEG share at its own V_ℓ)."""
    from cosim.energy import energy

    rep = energy(res, cal, v_dd_volts=v_dd_volts, v_neg_volts=cal.v_neg_volts, net=net,
                 inputs=inputs)
    t_s = res.timesteps * cal.dt_seconds
    out = []
    for ly, v in zip(rep.layers, v_neg_by_layer, strict=True):
        vdd = ly.spikes * rep.e_spike_vdd_joules + ly.e_syn_joules
        vneg = ly.spikes * cal.e_spike_vneg(v) + ly.neurons * cal.p_static_vneg(v) * t_s
        out.append({"total_joules": vdd + vneg, "vneg_joules": vneg, "bias_joules": 0.0})
    return rep.e_input_joules + sum(p["total_joules"] for p in out), tuple(out)


def layer_energy(res: Any, cal: Calibration, *, v_dd_volts: float,
                 v_neg_by_layer: Sequence[float | None], members: Sequence[Sequence[int]],
                 net: Any, inputs: Any, eta: float | None, array_size: int | None
                 ) -> tuple[float, tuple[dict[str, float], ...], str]:
    """(total, per layer, model note): the circuit model with ``eta``; ``eta`` None, or a
    calibration without the energy fit, the per-event pricing. None in ``v_neg_by_layer`` (NMP)
    is priced at the calibration's V_NEG."""
    vs = tuple(cal.v_neg_volts if v is None else float(v) for v in v_neg_by_layer)
    if eta is not None:
        try:
            total, per = circuit_layer_energy(res, cal, v_dd_volts=v_dd_volts, v_neg_by_layer=vs,
                                              members=members, net=net, inputs=inputs, eta=eta,
                                              array_size=array_size)
            arrays = f"arrays of {array_size} neurons" if array_size else "one array"
            return total, per, (f"circuit energy model: each layer group with its own pump "
                                f"(eta = {eta:g}) and bias ({arrays} per group)")
        except CalibrationError as exc:
            if "per-V_DD energy fit" not in str(exc):
                raise
            note = f"circuit energy model unavailable ({exc}); per-event pricing (eta = 1) used"
    else:
        note = "per-event pricing (no pump efficiency: eta = 1)"
    total, per = per_event_layer_energy(res, cal, v_dd_volts=v_dd_volts, v_neg_by_layer=vs,
                                        net=net, inputs=inputs)
    return total, per, note


__all__ = ["circuit_layer_energy", "layer_energy", "per_event_layer_energy"]
