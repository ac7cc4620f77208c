"""K neuron variants in one ``simulate`` pass: ``simulate_variants(net, x, config, neurons=[...])``.

    floors = [None, 0.0, -0.25, -0.5, -1.0]
    results = cosim.simulate_variants(net, x, cosim.SimConfig(timesteps=1000),
                                      neurons=[cosim.IFNeuron(lower_bound=f) for f in floors])
    # results[k] is what cosim.simulate(net, x, replace(config, neuron=neurons[k])) returns

Each entry of ``neurons`` is what ``SimConfig.neuron`` takes (an ``IFNeuron`` for every layer, a
tuple of one per layer, or None for the network's own model): floors, resets, calibrated
neurons for several V_NEG / V_DD (``cosim.calibrated_neurons``). One pass shares the inputs'
work: the batch chunks, the first layer's constant current, the weights (one synaptic call
reads each weight once for all variants' spikes) and, where several variants' spikes into a
layer are the same bits, that layer's current (e.g. layer 2's for every floor: a constant input
current never both fires and meets a floor, so the first layer's spikes do not depend on it,
and the first layer's IF update itself runs once for the variants that differ there only in
the floor, unless ``record_floor``).

Results equal K separate calls: the per-row arithmetic is that of ``simulate`` (the same
kernels, the same summation order of every event-driven current). Identical bits on the dyadic
grid of the tests for every schedule; with arbitrary float weights the dense torch schedule
may sum a convolution in another order for a larger batch (a ±1 spike on a few neurons, as
between schedules), and ``schedule="auto"`` may pick differently than a separate call would.
With ``encoding="poisson"`` pass ``chunk_size``: every variant sees the same input spikes,
equal to a separate call's with that chunk size and seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from torch import Tensor

from cosim.engine import _run, resolve_config
from cosim.engine_setup import SimConfig
from cosim.errors import SimulationInputError
from cosim.network import SpikingNetwork
from cosim.neuron import IFNeuron
from cosim.result import SimulationResult


def simulate_variants(net: SpikingNetwork, inputs: Tensor, config: SimConfig | None = None, *,
                      neurons: Sequence[IFNeuron | Sequence[IFNeuron] | None],
                      **options: object) -> list[SimulationResult]:
    """``cosim.simulate`` for each neuron model in ``neurons``, in one pass.

    Args:
        net: From ``cosim.convert``.
        inputs: (B, *input_shape) analog inputs.
        config: The settings (its ``neuron`` is ignored: ``neurons`` replaces it); or None and
            ``options`` as ``SimConfig`` keywords (``timesteps=...``; not ``neuron``).
        neurons: K >= 1 neuron models, each in the form of ``SimConfig.neuron``.

    Returns:
        K ``SimulationResult``, in the order of ``neurons``; ``schedule["variants"]`` = K.

    Raises:
        SimulationInputError: a bad argument (naming it, e.g. ``neurons[2]``), or a memory
            budget too small for K variants' outputs and state (the budget covers all K).
    """
    if config is None:
        bad = sorted({"neuron", "lower_bound", "reset"} & set(options))
        if bad:
            raise SimulationInputError(
                f"simulate_variants takes the neuron models in neurons=[...], not "
                f"{', '.join(bad)}")
    config = resolve_config(config, options, None)
    if isinstance(neurons, IFNeuron | str) or not isinstance(neurons, Sequence) or not neurons:
        raise SimulationInputError(
            f"neurons must be a non-empty list of neuron models (each an IFNeuron, a tuple of "
            f"one per layer, or None), got {neurons!r}")
    checked = []
    for k, n in enumerate(neurons):
        try:
            checked.append(replace(config, neuron=n).neuron)
        except SimulationInputError as err:
            raise SimulationInputError(f"neurons[{k}]: {err}") from err
    if config.encoding == "poisson" and len(checked) > 1 and config.chunk_size is None:
        raise SimulationInputError(
            "encoding='poisson' with several variants needs chunk_size (an int >= 1): the "
            "input spikes are drawn per chunk, and K variants' memory changes the chunk the "
            "budget would give; got chunk_size=None")
    return _run(net, inputs, config, checked)


__all__ = ["simulate_variants"]
