"""cosim: ANN->SNN conversion and a fast, exact integrate-and-fire network simulator."""

from cosim.errors import ConversionError, SimulationInputError

__all__ = ["ConversionError", "SimulationInputError"]
