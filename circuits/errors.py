"""Errors raised by the circuit layer (netlist rendering, ngspice runs, sweeps)."""

from __future__ import annotations


class CircuitError(Exception):
    """Base of every error the circuit layer raises on purpose."""


class DesignError(CircuitError, ValueError):
    """A design or stimulus value is outside its allowed range (names field, value, range)."""


class RenderError(CircuitError, ValueError):
    """A value could not be rendered into SPICE text (non-numeric, non-finite, unsafe)."""


class DeckError(RenderError):
    """A deck or an included file could reach ngspice's control language, or names a file
    outside the allowed folders (names the file, the line and the rule, never its content)."""


class SimulationError(CircuitError, RuntimeError):
    """ngspice failed on a point after retries; carries the point and ngspice's last messages."""

    def __init__(self, message: str, *, point: dict | None = None, log_tail: str = "") -> None:
        self.point = dict(point or {})
        self.log_tail = log_tail
        text = message
        if self.point:
            text += f" [point: {self.point}]"
        if log_tail:
            text += f"\n--- ngspice's last messages ---\n{log_tail}"
        super().__init__(text)


class CharacterizationError(CircuitError, RuntimeError):
    """A measurement could not be made from a waveform (e.g. too few spikes for a rate)."""


__all__ = ["CharacterizationError", "CircuitError", "DeckError", "DesignError", "RenderError",
           "SimulationError"]
