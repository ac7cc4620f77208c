"""circuits: the I&F neuron in SPICE, run in ngspice (PySpice), measured into lookup tables.

Python API (SI units in every name)::

    from circuits import NeuronDesign, default_design, characterize, quick_grid, default_grid
    design = default_design()                      # frozen, validated NeuronDesign
    paths = characterize(design, quick_grid(design), "tables", workers=2, scheduler=None,
                         progress=True)            # {"fi": Path, "floor": ..., "energy": ...,
                                                   #  "mismatch": ..., "waveform": ...}

Lower levels, reusable on their own:

* `circuits.render.render_deck(design, Stimulus(...))` -> SPICE text (numbers only);
* `circuits.ngspice.run_deck(text, vectors={...})` -> {name: numpy array} (in-process ngspice,
  one thread, private temp dir, real errors as `SimulationError`);
* `circuits.point.simulate_point(design, Point(...))` -> one row of measurements;
* `circuits.sweep.run_points(design, points, cache_dir=..., workers=..., scheduler=...)`
  -> rows, resumable through a content-addressed cache;
* `circuits.montecarlo.mismatch_for(design, seed=..., sample=...)` -> per-device shifts.

Heavy pieces (PySpice, ngspice, pandas) load on first use of the functions that need them.
"""

from circuits.design import NeuronDesign, default_design, load_design
from circuits.errors import CharacterizationError, DesignError, RenderError, SimulationError


def __getattr__(name: str):
    if name == "characterize":
        from circuits import characterization as _c  # pandas and calib load only when needed

        return _c.characterize
    if name in ("default_grid", "quick_grid", "Grid"):
        from circuits import grid as _g

        return getattr(_g, name)
    raise AttributeError(f"module 'circuits' has no attribute {name!r}")


__all__ = ["CharacterizationError", "DesignError", "Grid", "NeuronDesign", "RenderError",
           "SimulationError", "characterize", "default_design", "default_grid", "load_design",
           "quick_grid"]
