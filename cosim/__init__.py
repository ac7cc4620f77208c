"""cosim: ANN->SNN conversion and a fast, exact integrate-and-fire network simulator.

    net = cosim.convert(model, calibration_batch, percentile=99.99)
    res = cosim.simulate(net, x_test, timesteps=1000, lower_bound=None)   # NMP; 0.0 = ZMP
    res = cosim.simulate(net, x_test, cosim.SimConfig(timesteps=1000, neuron=cosim.IFNeuron()))
    acc = res.accuracy_per_step(y_test)        # (T,) accuracy after every step
    res.spike_counts, res.layer_rates, res.synaptic_events
    many = cosim.simulate_variants(net, x_test, cfg,
                                   neurons=[IFNeuron(lower_bound=f) for f in floors])
    fine, neu = cosim.substepped(net, neuron, 8)    # the same model, each step in 8 sub-steps
    res8 = cosim.simulate(fine, x_test, timesteps=8 * 1000, neuron=neu)  # counts over 1000 steps

Every schedule the engine uses gives exactly the spikes of a plain step-by-step loop (proved
against an independent reference in tests/cosim on a dyadic grid, where every sum is exact).
"""

from cosim.calibrated import calibrated_neuron, calibrated_neurons
from cosim.convert import convert
from cosim.energy import EnergyReport, energy
from cosim.engine import SimConfig, simulate
from cosim.errors import ConversionError, KernelBuildError, SimulationInputError
from cosim.network import SpikingLayer, SpikingNetwork, SynapticOp
from cosim.neuron import IFNeuron, IFState, StepParams, if_step
from cosim.nir import from_nir, to_nir
from cosim.result import SimulationResult
from cosim.substep import substepped
from cosim.variants import simulate_variants

__all__ = [
    "ConversionError",
    "EnergyReport",
    "IFNeuron",
    "IFState",
    "KernelBuildError",
    "SimConfig",
    "SimulationInputError",
    "SimulationResult",
    "SpikingLayer",
    "SpikingNetwork",
    "StepParams",
    "SynapticOp",
    "calibrated_neuron",
    "calibrated_neurons",
    "convert",
    "energy",
    "from_nir",
    "if_step",
    "simulate",
    "simulate_variants",
    "substepped",
    "to_nir",
]
