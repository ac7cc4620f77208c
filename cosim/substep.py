"""Sub-stepping: a network and its neurons on a time grid ``n`` times finer than the step's.

``net_n, neuron_n = substepped(net, neuron, n)`` and then ``simulate(net_n, x, timesteps=n * T,
neuron=neuron_n)``: each of the T steps is split into ``n`` sub-steps; the spike counts are the
counts over the T steps (``SimulationResult.timesteps`` is then ``n * T``: per-step readouts are
per sub-step). ``n = 1`` returns ``net`` and ``neuron`` themselves, so the simulation is the step
model's, bit for bit, at no cost.

What changes (derived from "the same neuron, in continuous time, sampled n times as often"):

* **Constant currents are divided by n**: the first layer's current (analog input, constant
  every step) and every layer's bias; the first weighted op of the first layer gets weight/n and
  bias/n, every other op bias/n (an affine chain ``A2 (A1 x + b1) + b2`` then gives
  ``(A2 A1 x + A2 b1 + b2) / n``).
* **Spikes are impulses**: a later layer's synaptic weights are kept, so a spike delivers its
  whole charge in the sub-step it occurs in (the step model nets the whole step's inputs, then
  clamps at the floor once; sub-steps clamp between the spikes of a step).
* **threshold, gain, floor, reset** are kept: a threshold and a floor are membrane levels, and
  the gain multiplies the input before the transfer curve (see below).
* **refractory_steps × n**: the same dead time in seconds.
* **The transfer curve** ``T`` (a rate map: constant input x per step → the input y an ideal IF
  needs to fire at the circuit's rate, ``IFNeuron.transfer``) becomes ``T_n(u) = T(n·u) / n``
  (knots ``(xs / n, ys / n)``): a constant input x per step is x/n per sub-step, and
  ``n · T_n(gain · x / n) = T(gain · x)``, i.e. the sub-stepped neuron fires at the step model's
  rate for every constant input (the gain passes through because it multiplies before T). An
  impulse w in one sub-step is weighed ``T(n·w) / (n·w)``: T's chord slope at a current n·w;
  where T is linear through 0 (the calibrated curves are within ~1% of it: a slope that moves
  0.954 → 0.943 over the measured range at V_DD 1 V) that is the step model's weight of a lone
  spike, ``T(w)/w``. The flat tail that ``calib`` puts above the last measured current (the
  circuit's maximum rate, an extrapolation) is replaced by the last measured segment's linear
  extension: on the finer grid a single spike of weight w > x_top / n would otherwise lose charge
  to a *rate* ceiling, while the circuit's synaptic packet delivers its charge whatever the rate.
  (So for a constant input above the last measured current, x_top ≈ 4 spikes per step, far above
  the step model's one spike per step, the sub-stepped neuron does not saturate.)

With Poisson input encoding the input is redrawn every sub-step with 1/n of the weight: the same
mean current, a finer spike train (not the step model's train). Of the result's event counts,
``synaptic_events`` (spikes × fan-out) keeps its meaning; ``input_synaptic_events`` (analog input:
nonzero inputs × fan-out × steps) counts sub-steps, n times the step model's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from torch import Tensor

from cosim.errors import SimulationInputError
from cosim.network import WEIGHTED, SpikingNetwork, SynapticOp
from cosim.neuron import IFNeuron

NeuronArg = IFNeuron | Sequence[IFNeuron] | None


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SimulationInputError(f"substeps must be an int >= 1, got {n!r}")
    return n


def substep_transfer(transfer: tuple[Tensor, Tensor] | None,
                     n: int) -> tuple[Tensor, Tensor] | None:
    """``T_n(u) = T(n·u) / n`` as knots ``(xs / n, ys / n)``, the flat saturation tail (trailing
    knots whose ys do not rise) dropped so the last rising segment extends linearly; None stays
    None and ``n = 1`` returns ``transfer`` itself."""
    n = _check_n(n)
    if transfer is None or n == 1:
        return transfer
    xs, ys = transfer
    m = ys.numel()
    while m > 2 and bool(ys[m - 1] <= ys[m - 2]):
        m -= 1
    return xs[:m] / n, ys[:m] / n


def substep_neuron(neuron: IFNeuron, n: int) -> IFNeuron:
    """One neuron on the finer grid (module docstring); ``n = 1``: ``neuron`` itself."""
    if _check_n(n) == 1:
        return neuron
    return dataclasses.replace(neuron, transfer=substep_transfer(neuron.transfer, n),
                               refractory_steps=neuron.refractory_steps * n)


def _ops(ops: tuple[SynapticOp, ...], n: int, first: bool, name: str) -> tuple[SynapticOp, ...]:
    out, scaled = [], not first
    for op in ops:
        w, b = op.weight, op.bias
        if not scaled and (op.kind in WEIGHTED or op.kind == "scale"):
            w, scaled = w / n, True
        if b is not None:
            b = b / n
        out.append(op if (w is op.weight and b is op.bias) else op.with_tensors(w, b))
    if not scaled:
        raise SimulationInputError(
            f"layer {name!r}: sub-stepping divides the input current by n, which needs a "
            f"weighted op in the first layer, got {[op.kind for op in ops]}")
    return tuple(out)


def substepped(net: SpikingNetwork, neuron: NeuronArg,
               n: int) -> tuple[SpikingNetwork, IFNeuron | tuple[IFNeuron, ...] | None]:
    """``(net_n, neuron_n)``: ``net`` and ``neuron`` on a grid ``n`` times finer in time.

    Args:
        net: a converted network (its own ``net.neuron``, if any, is refined too).
        neuron: one ``IFNeuron`` for every layer, one per layer, or None (``simulate``'s
            default: ``net.neuron`` or the ideal IF).
        n: sub-steps per step, an int >= 1.

    Returns:
        The network and neuron(s) to ``simulate`` for ``n * T`` steps in place of T steps of
        ``net``; ``n = 1``: ``(net, neuron)`` unchanged (the same objects).

    Raises:
        SimulationInputError: ``n`` not an int >= 1, or a first layer without a weighted op.
    """
    n = _check_n(n)
    if n == 1:
        return net, neuron
    layers = tuple(dataclasses.replace(ly, ops=_ops(ly.ops, n, i == 0, ly.name))
                   for i, ly in enumerate(net.layers))
    own = None if net.neuron is None else tuple(substep_neuron(u, n) for u in net.neuron)
    if isinstance(neuron, IFNeuron):
        fine: IFNeuron | tuple[IFNeuron, ...] | None = substep_neuron(neuron, n)
    elif neuron is None:
        fine = None
    else:
        fine = tuple(substep_neuron(u, n) for u in neuron)
    return dataclasses.replace(net, layers=layers, neuron=own), fine


__all__ = ["substep_neuron", "substep_transfer", "substepped"]
