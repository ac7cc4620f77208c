"""The neuron subcircuits on disk: the netlist of each topology and the names of its ``params:``.

Both `circuits.design` (which of a design's fields are subcircuit parameters) and
`circuits.render` (the deck that inlines the netlist) need these, so they live below both. The
netlist is read through `circuits.deck_guard`, like every file a deck inlines.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from circuits.deck_guard import NETLIST_DIR, allowed_roots, read_file

SUBCKT_FILE = NETLIST_DIR / "if_neuron.sub"
SUBCKT_FILES: dict[str, Path] = {"study": SUBCKT_FILE,
                                 "raised_rest": NETLIST_DIR / "if_neuron_raised_rest.sub"}
"""Netlist of each topology (both define ``.subckt if_neuron``)."""


@cache
def _read(path: Path, roots: tuple[Path, ...]) -> str:
    return read_file(path, field="subckt", roots=roots)


def subckt_source(topology: str = "study") -> str:
    """The topology's netlist text, read through the deck guard (once per allowed roots)."""
    return _read(SUBCKT_FILES[topology], allowed_roots())


@cache
def subckt_param_names(topology: str = "study") -> tuple[str, ...]:
    """Names in the ``params:`` list of the topology's subcircuit."""
    head = subckt_source(topology).split(".subckt", 1)[1].split("\n*", 1)[0]
    return tuple(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", head))


__all__ = ["SUBCKT_FILE", "SUBCKT_FILES", "subckt_param_names", "subckt_source"]
