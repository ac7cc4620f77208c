"""`circuits.grid`: the standard grids and the checks on a grid's fields."""

import pytest

from circuits.design import default_design
from circuits.errors import DesignError
from circuits.grid import Grid, default_grid, grid_from_mapping, quick_grid


def test_grids():
    d = default_design()
    g = default_grid(d)
    assert len(g.i_exc_amps) >= 40 and len(g.v_neg_volts) >= 5 and len(g.v_dd_volts) >= 3
    assert g.mc_samples >= 100
    assert len(quick_grid(d).i_exc_amps) < len(g.i_exc_amps)
    with pytest.raises(DesignError, match="v_dd_volts"):
        Grid(i_exc_amps=(1e-7,), v_dd_volts=(1.0,), v_neg_volts=(0.0,), i_inh_amps=(1e-6,))
    with pytest.raises(DesignError, match="v_neg_volts"):
        grid_from_mapping({"v_neg_volts": [0.5]}, g)
    with pytest.raises(DesignError, match="unknown grid field 'currents'"):
        grid_from_mapping({"currents": [1e-9]}, g)
    with pytest.raises(DesignError, match="i_exc_amps"):
        grid_from_mapping({"i_exc_amps": "1e-9"}, g)
