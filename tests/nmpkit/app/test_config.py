import pytest

from nmpkit.app.config import default_config, load_config
from nmpkit.app.errors import UsageError


def test_default_is_valid_and_fashion():
    cfg = load_config(None)
    assert cfg == default_config()
    assert cfg["data"]["dataset"] == "fashion-mnist"


def test_user_values_merge(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[data]\ndataset = "mnist"\nroot = "/x"\n[evaluate]\ntimesteps = 50\n'
                 '[design]\nc_mem_farads = 1e-12\n')
    cfg = load_config(p)
    assert cfg["data"]["dataset"] == "mnist" and cfg["evaluate"]["timesteps"] == 50
    assert cfg["design"]["c_mem_farads"] == 1e-12
    assert cfg["network"]["name"] == "mnist"


@pytest.mark.parametrize("text, match", [
    ("[data]\ndatset = 'x'\n", "unknown key 'data.datset'"),
    ("[evaluate]\ntimesteps = 'many'\n", "'evaluate.timesteps' must be int, got 'many'"),
    ("[evaluate]\ntimesteps = 0\n", "evaluate.timesteps must be >= 1, got 0"),
    ("[data]\ndataset = 'imagenet'\n", "data.dataset must be one of"),
    ("[evaluate]\nfloors = [0.1]\n", "floors entries must be numbers <= 0, got 0.1"),
    ("[run]\nseed = true\n", "'run.seed' must be int, got True"),
    ("[data\n", "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path, text, match):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(UsageError, match=match):
        load_config(p)


def test_missing_file(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_an_older_single_tradeoff_timesteps_is_one_budget(tmp_path):
    p = tmp_path / "old.toml"
    p.write_text("[tradeoff]\ntimesteps = 150\n")
    assert load_config(p)["tradeoff"]["timesteps"] == [150]
    p.write_text("[tradeoff]\ntimesteps = 0\n")
    with pytest.raises(UsageError, match="tradeoff.timesteps"):
        load_config(p)
