"""issue 12 §5: every config field that changes a stage's result is in that stage's key.

For every leaf field of the embedded default config, a perturbed value must change the key of
the stage that reads it (its own inputs, not only an upstream key), so a rerun with a new value
never reports old results under new provenance. A new field must be classified here first.
"""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmpkit.app.config import default_config
from nmpkit.app.config_types import RunConfig
from nmpkit.app.pipeline import stage_key
from nmpkit.app.stages import default_stages

# field -> the stages that read it (and so must rerun when it changes)
READERS: dict[str, tuple[str, ...]] = {
    "run.seed": ("characterize", "train", "modulate", "cosim_check"),
    "characterize.quick": ("characterize",),
    "data.dataset": ("train", "evaluate", "tradeoff", "modulate", "cosim_check"),
    "data.root": ("train", "evaluate", "tradeoff", "modulate", "cosim_check"),
    # the default [[networks]] set their own eval_limit, so evaluate does not read data's; the
    # network entry (with its data-derived defaults) is in these stages' inputs: over-keyed, safe
    "data.eval_limit": ("tradeoff", "modulate", "cosim_check"),
    "network.name": ("train", "evaluate", "modulate"),  # the trade-off runs on allconv28
    "network.weights": ("train",),
    "network.epochs": ("train",),
    "network.eval_limit": ("evaluate",),
    **{f"evaluate.{k}": ("evaluate",)
       for k in ("timesteps", "percentile", "floors", "compare_at")},
    **{f"tradeoff.{k}": ("tradeoff",)
       for k in ("v_neg_volts", "v_dd_volts", "timesteps", "eval_limit", "tolerance",
                 "energy_samples", "eta")},
    **{f"variation.{k}": ("modulate",)
       for k in ("sigmas", "window_steps", "max_pulses", "eval_limit", "timesteps")},
    **{f"cosim_check.{k}": ("cosim_check",) for k in ("v_neg_volts", "timesteps", "hidden",
                                                               "substeps", "samples")},
}
# how the work is spread over processes, not what it computes
EXECUTION_ONLY = {"characterize.workers", "characterize.scheduler"}
# the [[networks]] list mirrors into `network` (its first entry), whose fields are classified above
MIRRORED = {"networks", "network.tradeoff"}  # network.tradeoff: which stages exist, not a key


def _leaves(cfg, prefix=""):
    for k, v in cfg.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _leaves(v, path + ".")
        else:
            yield path


def _own_inputs(cfg):
    cfg = RunConfig.from_dict(cfg) if isinstance(cfg, dict) else cfg
    return {s.name: stage_key(s, s.inputs(cfg), {}) for s in default_stages(cfg)}


def _perturb(value, draw):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + draw(st.integers(1, 1000))
    if isinstance(value, float):
        return value + draw(st.floats(1e-6, 10.0))
    if isinstance(value, str):
        return value + draw(st.text("abcxyz/._-", min_size=1, max_size=8))
    if isinstance(value, list):
        return [*value, draw(st.floats(-1.0, 0.0))]
    raise AssertionError(f"unhandled type {type(value)}")


def test_every_field_is_classified():
    leaves = set(_leaves(default_config().to_dict()))
    assert leaves - set(READERS) - EXECUTION_ONLY - MIRRORED == set(), \
        "classify the new field above"
    assert set(READERS) <= leaves


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(sorted(READERS)), data=st.data())
def test_perturbing_a_field_changes_the_key_of_every_stage_that_reads_it(field, data):
    cfg = default_config().to_dict()
    base = _own_inputs(cfg)
    new = copy.deepcopy(cfg)
    section, key = field.split(".")
    new[section][key] = _perturb(cfg[section][key], data.draw)
    if section == "network" and cfg.get("networks"):  # `network` mirrors [[networks]][0]
        new["networks"][0][key] = new[section][key]
    changed = {n for n, k in _own_inputs(new).items() if k != base[n]}
    assert set(READERS[field]) <= changed, (field, changed)


@pytest.mark.parametrize("field, value", [("design.c_mem_farads", 5e-13),
                                          ("design.preset", "raised_rest")])
def test_design_overrides_change_the_characterization_key(field, value):
    cfg = default_config().to_dict()
    new = copy.deepcopy(cfg)
    new["design"][field.split(".")[1]] = value
    assert _own_inputs(new)["characterize"] != _own_inputs(cfg)["characterize"]


def test_the_typed_config_hashes_the_same_tables_as_the_toml_dict():
    """Stage keys hash ``RunConfig.section``: it must be the merged TOML dict itself (lists, not
    tuples), so moving the config to dataclasses changed no stage key (no cache migration)."""
    from nmpkit.app.config import _default_dict

    raw, cfg = _default_dict(), default_config()
    assert cfg.to_dict() == raw
    assert RunConfig.from_dict(raw) == cfg
    assert type(cfg.section("tradeoff")["timesteps"]) is list
    assert isinstance(cfg.tradeoff.timesteps, tuple)  # frozen all the way down


def test_the_fit_version_is_in_the_calibrate_stage_key(monkeypatch):
    """A changed fit (calib.fit.FIT_VERSION) refits: the calibrate stage's key moves with it."""
    import importlib

    fit_module = importlib.import_module("calib.fit")  # the package's `calib.fit` is the function
    cfg = default_config()
    stage = next(s for s in default_stages(cfg) if s.name == "calibrate")
    before = stage_key(stage, stage.inputs(cfg), {"characterize": "x"})
    monkeypatch.setattr(fit_module, "FIT_VERSION", fit_module.FIT_VERSION + "-next")
    assert stage_key(stage, stage.inputs(cfg), {"characterize": "x"}) != before
