"""circuits: the I&F neuron in SPICE, run in ngspice (PySpice), measured into lookup tables."""

from circuits.errors import CharacterizationError, DesignError, RenderError, SimulationError

__all__ = ["CharacterizationError", "DesignError", "RenderError", "SimulationError"]
