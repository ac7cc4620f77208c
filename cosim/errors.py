"""Errors raised by the network co-simulator."""

from __future__ import annotations


class CosimError(Exception):
    """Base of every error the co-simulator raises on purpose."""


class ConversionError(CosimError, ValueError):
    """A module cannot be converted: names its path, its type and what to use instead."""


class SimulationInputError(CosimError, ValueError):
    """Bad argument to the simulator (shape, timesteps, bound): names the argument and value."""


__all__ = ["ConversionError", "CosimError", "SimulationInputError"]
