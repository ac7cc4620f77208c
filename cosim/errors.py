"""Errors raised by the network co-simulator."""

from __future__ import annotations


class ConversionError(ValueError):
    """A module cannot be converted: names its path, its type and what to use instead."""


class SimulationInputError(ValueError):
    """Bad argument to the simulator (shape, timesteps, bound): names the argument and value."""


class NIRError(ValueError):
    """A NIR graph cannot be read or written: names the node (or layer), its type and why."""


__all__ = ["ConversionError", "NIRError", "SimulationInputError"]
