"""ExportConfig and NirEvaluateConfig: each bad value is one ConfigError naming the option."""

import pytest

from nmpkit.errors import ConfigError
from nmpkit.studies.evaluate_nir import NirEvaluateConfig
from nmpkit.studies.export_nir import ExportConfig

BASE = {"network": "mnist", "weights": "w.pt", "data_root": "d"}


@pytest.mark.parametrize("kwargs, match", [
    ({"dataset": "svhn"}, r"--dataset for mnist must be one of mnist, fashion-mnist, got 'svhn'"),
    ({"calibration_samples": 0}, r"--calibration-samples must be >= 1, got 0"),
    ({"v_neg_volts": -0.2}, r"--v-neg and --mismatch-seed need --calibration FILE"),
    ({"calibration": "c.json"}, r"--calibration needs --v-neg VOLTS"),
    ({"calibration": "c.json", "v_neg_volts": -0.2, "lower_bound": "zmp"},
     r"--lower-bound does not apply with --calibration"),
    ({"lower_bound": "0.5"}, r"--lower-bound must be nmp, zmp or a finite float <= 0, got '0.5'"),
])
def test_export_config_names_the_option(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ExportConfig(**(BASE | kwargs))


def test_export_config_defaults_the_dataset():
    assert ExportConfig(**BASE).dataset == "mnist"


@pytest.mark.parametrize("kwargs, match", [
    ({"nir": "missing.nir"}, r"--nir file 'missing.nir' not found"),
    ({"data_root": None}, r"--data-root is required with --nir"),
    ({"timesteps": 0}, r"--timesteps must be >= 1, got 0"),
    ({"limit": 0}, r"--limit must be >= 1, got 0"),
    ({"lower_bound": "high"}, r"--lower-bound must be nmp, zmp or a float <= 0, got 'high'"),
    ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
])
def test_nir_evaluate_config_names_the_option(tmp_path, kwargs, match):
    (tmp_path / "net.nir").write_bytes(b"")
    base = {"nir": str(tmp_path / "net.nir"), "data_root": "d", "timesteps": 5}
    if "nir" in kwargs:
        kwargs = {"nir": str(tmp_path / kwargs["nir"])}
        match = r"--nir file '.*missing.nir' not found"
    with pytest.raises(ConfigError, match=match):
        NirEvaluateConfig(**(base | kwargs))
