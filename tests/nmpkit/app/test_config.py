import dataclasses

import pytest

from nmpkit.app.config import default_config, load_config
from nmpkit.app.errors import UsageError


def test_default_is_valid_and_fashion():
    cfg = load_config(None)
    assert cfg == default_config()
    assert cfg.data.dataset == "fashion-mnist"
    assert cfg.to_dict()["data"]["dataset"] == "fashion-mnist"  # the dict the stages hash


def test_user_values_merge(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[data]\ndataset = "mnist"\nroot = "/x"\n[evaluate]\ntimesteps = 50\n'
                 '[design]\nc_mem_farads = 1e-12\n')
    cfg = load_config(p)
    assert cfg.data.dataset == "mnist" and cfg.evaluate.timesteps == 50
    assert cfg.design["c_mem_farads"] == 1e-12
    assert cfg.network.name == "mnist"


@pytest.mark.parametrize("text, match", [
    ("[data]\ndatset = 'x'\n", "unknown key 'data.datset'"),
    ("[evaluate]\ntimesteps = 'many'\n", "'evaluate.timesteps' must be int, got 'many'"),
    ("[evaluate]\ntimesteps = 0\n", "evaluate.timesteps must be >= 1, got 0"),
    ("[data]\ndataset = 'imagenet'\n", "data.dataset must be one of"),
    ("[evaluate]\nfloors = [0.1]\n", "floors entries must be numbers <= 0, got 0.1"),
    ("[run]\nseed = true\n", "'run.seed' must be int, got True"),
    ("[data\n", "not valid TOML"),
    # issue 12: accepted before, failing only when a stage ran (or silently wrong)
    ("[network]\nepochs = 0\n", "network.epochs must be >= 1, got 0"),
    ("[data]\neval_limit = -5\n", 
     r"data.eval_limit must be >= 0 \(0 = the whole test set\), got -5"),
    ("[tradeoff]\neval_limit = -1\n", "tradeoff.eval_limit must be >= 0"),
    ("[variation]\neval_limit = -2\n", "variation.eval_limit must be >= 0"),
    ("[evaluate]\nfloors = [nan]\n", "floors entries must be numbers <= 0, got nan"),
    ("[evaluate]\nfloors = [-inf]\n", "floors entries must be numbers <= 0, got -inf"),
    ("[evaluate]\npercentile = 200.0\n", 
     r"evaluate.percentile must be a number in \(0, 100\], got 200.0"),
    ("[evaluate]\npercentile = nan\n", "evaluate.percentile must be a number in"),
    ("[network]\nname = 'resnet'\n", "network.name must be one of .*got 'resnet'"),
    ("[cosim_check]\nv_neg_volts = [0.3]\n", 
     "cosim_check.v_neg_volts entries must be finite numbers <= 0, got 0.3"),
    ("[cosim_check]\nv_neg_volts = []\n", "cosim_check.v_neg_volts must be a non-empty list"),
    ("[cosim_check]\nhidden = 0\n", "cosim_check.hidden must be >= 1, got 0"),
    ("[cosim_check]\nsubsteps = 0\n", r"cosim_check.substeps must be >= 1 \(1 = the step model\), "
                                     "got 0"),
    ("[cosim_check]\nsamples = 0\n", r"cosim_check.samples must be >= 1 \(test images per "
                                    r"V_NEG\), got 0"),
    ("[tradeoff]\nv_neg_volts = [nan]\n", "tradeoff.v_neg_volts entries must be finite"),
    ("[tradeoff]\nv_dd_volts = [99.0]\n", 
     r"tradeoff.v_dd_volts entries must be finite volts in \(0, 5\], got 99.0"),
    ("[variation]\nwindow_steps = -4\n", "variation.window_steps must be >= 0"),
    ("[variation]\nmax_pulses = 0\n", "variation.max_pulses must be >= 1, got 0"),
    ("[variation]\nsigmas = [nan]\n", "variation.sigmas entries must be in"),
    ("[run]\nseed = -1\n", "run.seed must be >= 0, got -1"),
    ("[characterize]\nworkers = -2\n", "characterize.workers must be >= 0"),
    ("[evaluate]\ntimesteps = 1000000000000\n", "evaluate.timesteps must be <= 100000"),
    ("[data]\nroot = ''\n", "data.root must be a dataset folder or .npz"),
])
def test_bad_config_names_the_key(tmp_path, text, match):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(UsageError, match=match):
        load_config(p)


def test_missing_file(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_a_folder_or_binary_file_as_config_is_one_clear_error(tmp_path):
    with pytest.raises(UsageError, match="is not a regular file"):
        load_config(tmp_path)
    b = tmp_path / "b.toml"
    b.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        load_config(b)


def test_a_fifo_as_config_is_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        load_config(fifo)


def test_input_paths_and_out_dir_are_checked_before_work(tmp_path):
    from nmpkit.app.config import check_paths
    from nmpkit.app.out_paths import check_out_dir

    cfg = default_config()
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data,
                                                            root=str(tmp_path / "missing")))
    with pytest.raises(UsageError, match="data.root .*missing.* does not exist"):
        check_paths(cfg)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=str(tmp_path)))
    first = dataclasses.replace(cfg.network, weights=str(tmp_path / "w.pt"))
    cfg = dataclasses.replace(cfg, networks=(first, *cfg.networks[1:]))
    with pytest.raises(UsageError, match="network.weights .*w.pt.* is not a file"):
        check_paths(cfg)
    cfg = dataclasses.replace(cfg, networks=(dataclasses.replace(first, weights=""),
                                             *cfg.networks[1:]))
    check_paths(cfg)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        check_out_dir(f)
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_out_dir(f / "sub" / "run")
    assert check_out_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    with pytest.raises(UsageError, match="not a usable folder name"):
        check_out_dir("")


@pytest.mark.parametrize("toml, out, match", [
    ("[data]\nroot = '{tmp}/none'\n", "{tmp}/r", "data.root .* does not exist"),
    ("[data]\nroot = '{tmp}'\n", "{tmp}/f/r", "is a file, not a folder"),
    ("[network]\nname = 'vgg'\n", "{tmp}/r", "network.name must be one of"),
])
def test_run_refuses_bad_inputs_before_any_stage(tmp_path, capsys, toml, out, match):
    import re

    from nmpkit.app.cli import main

    (tmp_path / "f").write_text("x")
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml.format(tmp=tmp_path))
    assert main(["run", str(cfg), "--out", out.format(tmp=tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(match, err[0]), err
    assert not (tmp_path / "r").exists()


def test_a_scheduler_without_dask_is_one_clear_error(monkeypatch, capsys):
    import importlib.util

    from nmpkit.app.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    assert main(["characterize", "--scheduler", "tcp://h:8786", "--out", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scheduler 'tcp://h:8786' needs Dask's distributed" in err[0]
    cfg = default_config().to_dict()
    cfg["characterize"]["scheduler"] = "tcp://h:8786"
    from nmpkit.app.config import validate

    with pytest.raises(UsageError, match="characterize.scheduler 'tcp://h:8786' needs Dask"):
        validate(cfg)


def test_characterize_refuses_a_negative_seed(capsys):
    from nmpkit.app.cli import main

    assert main(["characterize", "--seed", "-3", "--out", "x"]) == 2
    assert "--seed must be >= 0, got -3" in capsys.readouterr().err


def test_an_older_single_tradeoff_timesteps_is_one_budget(tmp_path):
    p = tmp_path / "old.toml"
    p.write_text("[tradeoff]\ntimesteps = 150\n")
    assert load_config(p).tradeoff.timesteps == (150,)
    p.write_text("[tradeoff]\ntimesteps = 0\n")
    with pytest.raises(UsageError, match="tradeoff.timesteps"):
        load_config(p)
