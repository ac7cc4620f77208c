"""Errors raised by the network co-simulator."""

from __future__ import annotations


class ConversionError(ValueError):
    """A module cannot be converted: names its path, its type and what to use instead."""


class SimulationInputError(ValueError):
    """Bad argument to the simulator or bad neuron parameter (shape, timesteps, floor, memory
    budget): names the argument, its value and what was expected."""


class KernelBuildError(RuntimeError):
    """The compiled kernels were required (``kernels=True``) but are unavailable: the message
    says why and, for a failed build, ends with the compiler's diagnostics."""


class NIRError(ValueError):
    """A NIR graph cannot be read or written: names the node (or layer), its type and why."""


__all__ = ["ConversionError", "KernelBuildError", "NIRError", "SimulationInputError"]
