"""Errors raised by the network co-simulator."""

from __future__ import annotations


class CosimError(Exception):
    """Base of every error the co-simulator raises on purpose."""


class ConversionError(CosimError, ValueError):
    """A module cannot be converted: names its path, its type and what to use instead."""


class SimulationInputError(CosimError, ValueError):
    """Bad argument to the simulator (shape, timesteps, bound): names the argument and value."""


class NIRError(CosimError, ValueError):
    """A NIR graph cannot be read or written: names the node (or layer), its type and why."""


__all__ = ["ConversionError", "CosimError", "NIRError", "SimulationInputError"]
