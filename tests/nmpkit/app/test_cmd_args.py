"""The option groups and steps the commands share (`nmpkit.app.commands.args`)."""

import argparse
import json

import pytest

from nmpkit.app.cli import main
from nmpkit.app.commands import args as common
from nmpkit.app.errors import UsageError
from nmpkit.errors import ConfigError


def _raise(msg):
    def build():
        raise ConfigError(msg)
    return build


@pytest.mark.parametrize("msg, want", [
    # the flag is the field with dashes: it takes the field's place (not "--timesteps: timesteps")
    ("timesteps must be an int >= 1, got 0", "--timesteps must be an int >= 1, got 0"),
    ("batch_size must be an int >= 1, got 0", "--batch-size must be an int >= 1, got 0"),
    # another name: the flag leads and the field stays
    ("v_neg_volts must all be <= 0, got [0.5]", "--v-neg: v_neg_volts must all be <= 0, got [0.5]"),
    ("v_dd_volts must be volts in (0, 5], got 9",
     "--v-dd: v_dd_volts must be volts in (0, 5], got 9"),
    ("memory_budget_gb must be > 0, got 0", "--memory-gb: memory_budget_gb must be > 0, got 0"),
])
def test_build_config_names_the_flag(msg, want):
    with pytest.raises(UsageError) as exc:
        common.build_config(_raise(msg), {"memory_budget_gb": "--memory-gb"})
    assert str(exc.value) == want


def test_build_config_keeps_a_message_that_names_its_flag_and_returns_the_config():
    with pytest.raises(UsageError) as exc:
        common.build_config(_raise("--nir file 'x' not found"))
    assert str(exc.value) == "--nir file 'x' not found"
    assert common.build_config(lambda: 42) == 42


def test_print_json_prints_the_named_keys(capsys):
    common.print_json({"a": 1, "b": (2, 3), "c": 4}, ["a", "b", "missing"])
    assert json.loads(capsys.readouterr().out) == {"a": 1, "b": [2, 3], "missing": None}


def test_shared_groups_parse_their_defaults():
    p = argparse.ArgumentParser()
    common.add_tolerance(p)
    common.add_energy_model(p, array_default="x")
    common.add_simulation_resources(p, "y")
    ns = p.parse_args([])
    assert (ns.tolerance, ns.eta, ns.array_size, ns.threads, ns.scheduler, ns.device,
            ns.memory_gb) == (0.005, 0.5, None, None, None, "cpu", 1.0)
    assert common.argv_record(argparse.Namespace(a=1, _run=print)) == {"argv": {"a": 1}}


def test_layers_bad_value_is_one_line_naming_the_flag(capsys, tmp_path):
    rc = main(["layers", "--calibration", "c.json", "--weights", "w.pt", "--data-root", "d",
               "--timesteps", "0", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--timesteps" in err[0] and "got 0" in err[0]


def test_require_names_the_first_missing_option_as_its_flag():
    common.require("x", NETWORK="mnist", weights="w.pt")
    with pytest.raises(UsageError, match=r"^--lower-bound is required \(unless --nir FILE"):
        common.require("--nir FILE is given", NETWORK="m", lower_bound=None, weights=None)
    with pytest.raises(UsageError, match=r"^NETWORK is required"):
        common.require("y", NETWORK=None)


def test_evaluate_without_network_is_one_line_and_exit_2(capsys):
    rc = main(["evaluate", "--timesteps", "5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "NETWORK is required" in err[0]


def test_normalization_group_defaults():
    p = argparse.ArgumentParser()
    common.add_normalization(p)
    ns = p.parse_args(["--percentile", "99.9"])
    assert (ns.percentile, ns.calibration_samples) == (99.9, 1000)
