"""CharacterizeConfig's checks (the sweep itself: tests/nmpkit/app/test_cmd_characterize.py)."""

import pytest

from nmpkit.errors import ConfigError
from nmpkit.studies.characterize import CharacterizeConfig, _design_and_grid


@pytest.mark.parametrize("kwargs, match", [
    ({"workers": 0}, r"--workers must be >= 1, got 0"),
    ({"seed": -1}, r"--seed must be >= 0, got -1"),
])
def test_bad_values_name_the_option(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        CharacterizeConfig(out="t", **kwargs)


def test_a_grid_that_is_not_a_table_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('grid = "coarse"\n[design]\nv_dd_volts = 1.0\n')
    with pytest.raises(ConfigError, match=r"c.toml: \[grid\] must be a table"):
        _design_and_grid(CharacterizeConfig(out="t", config=str(cfg), quick=True))


def test_grid_fields_override_the_quick_grid(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[grid]\nv_dd_volts = [0.9, 1.0]\n")
    _, grid = _design_and_grid(CharacterizeConfig(out="t", config=str(cfg), quick=True))
    assert tuple(grid.v_dd_volts) == (0.9, 1.0)
