"""cosim: ANN->SNN conversion and a fast, exact integrate-and-fire network simulator."""

from cosim.convert import convert
from cosim.engine import simulate
from cosim.errors import ConversionError, SimulationInputError
from cosim.network import SpikingLayer, SpikingNetwork, SynapticOp
from cosim.neuron import IFNeuron
from cosim.result import SimulationResult

__all__ = [
    "ConversionError",
    "IFNeuron",
    "SimulationInputError",
    "SimulationResult",
    "SpikingLayer",
    "SpikingNetwork",
    "SynapticOp",
    "convert",
    "simulate",
]
