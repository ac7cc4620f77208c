"""The typed evaluate study: EvaluateConfig → run → EvaluateResult, and its files round-trip."""

import json

import numpy as np
import pytest
import torch

from nmpkit.errors import ConfigError
from nmpkit.studies.evaluate import EvalConfig, EvaluateConfig, EvaluateResult, run

SIM = EvalConfig(timesteps=8, lower_bound=0.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"network": "mnist", "data_root": "d", "limit": 0}, r"limit must be >= 1, got 0"),
    ({"network": "mnist", "data_root": "d", "dataset": "cifar10"},
     r"dataset for mnist must be one of mnist, fashion-mnist, got 'cifar10'"),
    ({"network": "mnist"}, r"data_root is required for network 'mnist'"),
    ({"network": "autoencoder", "crop": 48}, r"crop must be a multiple of 32 in 32..512, got 48"),
    ({"network": "autoencoder", "limit": 3}, r"limit does not apply to the autoencoder"),
    ({"network": "lenet", "data_root": "d"}, r"network must be one of .*got 'lenet'"),
])
def test_bad_values_name_the_field(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        EvaluateConfig(weights="w.pt", sim=SIM, **kwargs)


def test_defaults_and_snapshots():
    clf = EvaluateConfig(network="mnist", weights="w.pt", sim=SIM, data_root="d")
    assert clf.dataset == "mnist" and clf.snapshots == ()  # no reconstructions for a classifier
    ae = EvaluateConfig(network="autoencoder", weights="w.pt", sim=SIM, snapshots=(9, 2, 8, 0))
    assert ae.snapshots == (2, 8)  # the steps within T, in order
    with pytest.raises(AttributeError):
        clf.limit = 3  # frozen


def _mnist(tmp_path):
    from nmpkit.ml.train import save_weights
    from nmpkit.ml.zoo import get_network

    torch.manual_seed(0)
    model = get_network("mnist").build()
    with torch.no_grad():  # smaller FC weights keep the random net's rates moderate
        model[5].weight.mul_(0.2)
    save_weights(model, tmp_path / "w.pt", {"note": "random init, for tests"})
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "mnist.npz", x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 30),
             x_test=rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 7))
    return tmp_path / "w.pt", tmp_path / "mnist.npz"


def test_run_scores_by_hand_and_the_files_round_trip(tmp_path):
    w, data = _mnist(tmp_path)
    sim = EvalConfig(timesteps=9, lower_bound=-0.5, batch_size=3, calibration_samples=20,
                     correlation_at=5, correlation_samples=2)
    cfg = EvaluateConfig(network="mnist", weights=str(w), sim=sim, data_root=str(data), limit=5)
    res = run(cfg, parts_prefix=tmp_path / "parts")
    assert res.summary["samples"] == 5 and len(res.metric) == 9 and res.metric_name == "accuracy"
    # the accuracy per step is the hand count of the per-sample correctness
    assert res.correct.shape == (9, 5)
    np.testing.assert_array_equal(np.asarray(res.metric), res.correct.mean(axis=1))
    assert res.final == res.metric[-1] and res.summary["bound"] == "-0.5"
    assert res.summary["provenance"]["evaluate"]["limit"] == 5
    assert len(list(tmp_path.glob("parts-*"))) == 1  # the resumable chunks
    paths = res.save(tmp_path / "out", "floor")
    assert sorted(p.name for p in paths) == ["floor.csv", "floor.json", "floor_corr.csv",
                                             "floor_correct.npz"]
    back = EvaluateResult.load(tmp_path / "out", "floor")
    assert back.metric == res.metric
    np.testing.assert_array_equal(back.correct, res.correct)
    assert back.correlation == res.correlation and len(res.correlation) > 0
    assert back.summary == json.loads(json.dumps(res.summary, default=str))
    side = json.loads((tmp_path / "out" / "floor.json").read_text())
    assert side["correlation"]["file"] == "floor_corr.csv" and side["correlation"]["t"] == 5


def test_load_of_a_missing_result_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nothing\.json: no evaluation result here"):
        EvaluateResult.load(tmp_path, "nothing")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"list\.json: expected a JSON object, got list"):
        EvaluateResult.load(tmp_path, "list")
