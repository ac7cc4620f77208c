"""Evaluation helpers: bound parsing, ANN activations and normalization scales."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from nmpkit.errors import ConfigError
from nmpkit.studies.evaluate import (
    EvalConfig,
    ann_activations,
    bound_label,
    config_key,
    layer_scales,
    parse_lower_bound,
)


def test_parse_lower_bound():
    assert parse_lower_bound("nmp") is None
    assert parse_lower_bound("ZMP") == 0.0
    assert parse_lower_bound("-0.3") == -0.3
    assert parse_lower_bound("0") == 0.0
    for bad in ("0.1", "abc", "nan", "-inf"):
        with pytest.raises(ConfigError, match="--lower-bound"):
            parse_lower_bound(bad)


@given(st.floats(min_value=-10, max_value=0, allow_nan=False))
def test_parse_lower_bound_roundtrips_floats(v):
    assert parse_lower_bound(repr(v)) == v


def test_bound_label():
    assert [bound_label(b) for b in (None, 0.0, -0.2)] == ["NMP", "ZMP", "-0.2"]


def test_eval_config_validation():
    with pytest.raises(ConfigError, match="timesteps"):
        EvalConfig(timesteps=0, lower_bound=None)
    with pytest.raises(ConfigError, match="percentile"):
        EvalConfig(timesteps=5, lower_bound=None, percentile=101)


def _net():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]]))
        m[0].bias.zero_()
        m[2].weight.fill_(0.5)
        m[2].bias.zero_()
    return m


def test_ann_activations_are_relu_outputs_then_the_output():
    x = torch.tensor([[1.0, 2.0, -3.0]])
    acts = ann_activations(_net(), x)
    assert len(acts) == 2
    torch.testing.assert_close(acts[0], torch.tensor([[1.0, 2.0, 0.0, 0.0]]))
    torch.testing.assert_close(acts[1], torch.tensor([[1.5, 1.5]]))


def test_layer_scales_are_percentiles_of_active_values():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    scales = layer_scales(_net(), x, 100.0, batch_size=1)
    # hidden: max active value 4; output: max of 0.5*(sum of ReLU outputs) = 3.0
    assert scales == pytest.approx([4.0, 3.0])
    med = layer_scales(_net(), x, 50.0)
    assert med[0] == pytest.approx(np.percentile([1, 2, 3, 4], 50))


def test_config_key_changes_with_inputs():
    assert config_key(a=1, b=None) == config_key(b=None, a=1)
    assert config_key(a=1) != config_key(a=2)


# ----- end to end through cosim (skipped until cosim.convert/simulate exist) -------------------

try:
    import cosim

    HAVE_COSIM = hasattr(cosim, "convert") and hasattr(cosim, "simulate")
except ImportError:  # pragma: no cover
    HAVE_COSIM = False
needs_cosim = pytest.mark.skipif(not HAVE_COSIM, reason="cosim.convert/simulate not available")


def _mnist_weights(tmp_path):
    from nmpkit.ml.train import save_weights
    from nmpkit.ml.zoo import get_network

    torch.manual_seed(0)
    model = get_network("mnist").build()
    with torch.no_grad():  # smaller FC weights keep the random net's rates moderate
        model[5].weight.mul_(0.2)
    save_weights(model, tmp_path / "w.pt", {"note": "random init, for tests"})
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 40),
        x_test=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 6),
    )
    return tmp_path / "w.pt", tmp_path / "mnist.npz"


@needs_cosim
def test_chunks_combine_to_the_whole_batch_metric(tmp_path):
    from nmpkit.ml.train import load_weights
    from nmpkit.studies.evaluate import convert_normalized
    from nmpkit.studies.evaluate_chunks import run_chunks

    w, _ = _mnist_weights(tmp_path)
    model = load_weights("mnist", w)
    x = torch.rand(6, 1, 28, 28)
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    cfg = EvalConfig(timesteps=12, lower_bound=None)
    net = convert_normalized(model, torch.rand(20, 1, 28, 28), cfg)
    whole = run_chunks(
        net, x, y, EvalConfig(timesteps=12, lower_bound=0.0, batch_size=6), task="classify"
    )
    parts = run_chunks(
        net,
        x,
        y,
        EvalConfig(timesteps=12, lower_bound=0.0, batch_size=4),
        task="classify",
        parts_dir=tmp_path / "p",
    )
    np.testing.assert_allclose(parts["metric"], whole["metric"], rtol=0, atol=1e-12)
    # rates are means of float32 state in the engine: equal up to rounding, not bit for bit
    np.testing.assert_allclose(parts["layer_rates"], whole["layer_rates"], rtol=1e-6)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "chunk_0000000_4.pt",
        "chunk_0000004_2.pt",
    ]
    again = run_chunks(
        net,
        x,
        y,
        EvalConfig(timesteps=12, lower_bound=0.0, batch_size=4),
        task="classify",
        parts_dir=tmp_path / "p",
    )  # resumed from the parts
    np.testing.assert_array_equal(again["metric"], parts["metric"])
    # per-sample correctness: the same across chunkings, and its mean is the accuracy per step
    assert whole["correct"].shape == (12, 6) and whole["correct"].dtype == torch.bool
    assert torch.equal(parts["correct"], whole["correct"])
    assert torch.equal(again["correct"], whole["correct"])
    np.testing.assert_allclose(whole["correct"].double().mean(1).numpy(), whole["metric"],
                               rtol=0, atol=1e-12)


@needs_cosim
def test_evaluate_command_writes_csv_sidecar_and_correlation(tmp_path, capsys):
    import json

    import pandas as pd

    from nmpkit.app.cli import main

    w, data = _mnist_weights(tmp_path)
    out = tmp_path / "e" / "nmp.csv"
    rc = main(
        [
            "--quiet",
            "evaluate",
            "mnist",
            "--weights",
            str(w),
            "--lower-bound",
            "nmp",
            "--timesteps",
            "15",
            "--data-root",
            str(data),
            "--out",
            str(out),
            "--correlation-at",
            "10",
            "--correlation-samples",
            "2",
            "--calibration-samples",
            "20",
            "--batch-size",
            "4",
        ]
    )
    assert rc == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["t", "accuracy"] and list(df.t) == list(range(1, 16))
    assert df.accuracy.between(0, 1).all()
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["lower_bound"] is None and side["samples"] == 6 and side["timesteps"] == 15
    assert side["final_accuracy"] == pytest.approx(df.accuracy.iloc[-1])
    assert side["provenance"]["command"] == "nmpkit evaluate"
    corr = pd.read_csv(tmp_path / "e" / "nmp_corr.csv")
    assert {"layer", "ann_activation", "snn_rate"} <= set(corr.columns)
    assert side["correlation"]["t"] == 10 and len(side["correlation"]["layers"]) >= 3
    rc = main(
        [
            "evaluate",
            "mnist",
            "--weights",
            str(w),
            "--lower-bound",
            "0.5",
            "--timesteps",
            "5",
            "--data-root",
            str(data),
        ]
    )
    assert rc == 2 and "--lower-bound" in capsys.readouterr().err


@needs_cosim
def test_evaluate_autoencoder_reconstructions(tmp_path):
    import json

    from nmpkit.app.cli import main
    from nmpkit.ml.train import save_weights
    from nmpkit.ml.zoo import get_network

    torch.manual_seed(0)
    save_weights(get_network("autoencoder").build(), tmp_path / "ae.pt", {})
    out = tmp_path / "ae_zmp.csv"
    rc = main(
        [
            "--quiet",
            "evaluate",
            "autoencoder",
            "--weights",
            str(tmp_path / "ae.pt"),
            "--lower-bound",
            "zmp",
            "--timesteps",
            "6",
            "--crop",
            "64",
            "--snapshots",
            "2,6,9",
            "--correlation-samples",
            "0",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["samples"] == 4 and side["metric"] == "mse"
    with np.load(tmp_path / "ae_zmp_recon.npz") as f:
        assert sorted(f.files) == ["t2", "t6", "target"]
        assert f["t6"].shape == (3, 64, 64)
        mse6 = float(((f["t6"] - f["target"]) ** 2).mean())
    import pandas as pd

    # the saved image is the decoded output clipped to [0, 1]: its MSE can only be lower
    assert mse6 <= pd.read_csv(out).mse.iloc[-1] + 1e-9


@needs_cosim
def test_a_longer_limit_reuses_the_finished_chunks(tmp_path, monkeypatch):
    import nmpkit.studies.evaluate as ev
    from nmpkit.ml.train import load_weights

    w, _ = _mnist_weights(tmp_path)
    net = ev.convert_normalized(load_weights("mnist", w), torch.rand(20, 1, 28, 28),
                     EvalConfig(timesteps=5, lower_bound=None))
    x, y = torch.rand(7, 1, 28, 28), torch.arange(7) % 10
    cfg = EvalConfig(timesteps=5, lower_bound=None, batch_size=3)
    calls = []
    import nmpkit.studies.evaluate_chunks as chunks

    real = chunks.chunk_record
    monkeypatch.setattr(chunks, "chunk_record",
                        lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    short = chunks.run_chunks(net, x[:3], y[:3], cfg, task="classify", parts_dir=tmp_path / "p")
    full = chunks.run_chunks(net, x, y, cfg, task="classify", parts_dir=tmp_path / "p")
    assert calls == [3, 3, 1]  # the first chunk was not simulated again
    alone = chunks.run_chunks(net, x, y, cfg, task="classify")
    np.testing.assert_allclose(full["metric"], alone["metric"], rtol=0, atol=1e-12)
    assert short["metric"].shape == (5,)



@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "other-shape"])
def test_a_damaged_chunk_is_discarded_and_recomputed(tmp_path, damage):
    """issue 12: a 0-byte chunk used to make every later rerun crash with EOFError."""
    import nmpkit.studies.evaluate as ev
    import nmpkit.studies.evaluate_chunks as chunks
    from nmpkit.ml.train import load_weights

    w, _ = _mnist_weights(tmp_path)
    net = ev.convert_normalized(load_weights("mnist", w), torch.rand(20, 1, 28, 28),
                                EvalConfig(timesteps=5, lower_bound=None))
    x, y = torch.rand(5, 1, 28, 28), torch.arange(5) % 10
    cfg = EvalConfig(timesteps=5, lower_bound=None, batch_size=3)
    good = chunks.run_chunks(net, x, y, cfg, task="classify", parts_dir=tmp_path / "p")
    chunk = sorted((tmp_path / "p").glob("chunk_*.pt"))[0]
    blob = chunk.read_bytes()
    if damage == "empty":
        chunk.write_bytes(b"")
    elif damage == "truncated":
        chunk.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        chunk.write_bytes(b"not a torch file")
    else:
        torch.save({"metric": torch.zeros(3, dtype=torch.float64), "rates": torch.zeros(1),
                    "n": 3}, chunk)
    with pytest.warns(RuntimeWarning, match=f"discarding the unreadable evaluation chunk "
                                            f"{chunk.name}"):
        again = chunks.run_chunks(net, x, y, cfg, task="classify", parts_dir=tmp_path / "p")
    np.testing.assert_allclose(again["metric"], good["metric"], rtol=0, atol=1e-12)
    assert torch.load(chunk, weights_only=True)["n"] == 3  # rewritten whole

def test_eval_config_checks_device_and_memory():
    with pytest.raises(ConfigError, match="device must be cpu, cuda or cuda:N, got 'tpu'"):
        EvalConfig(timesteps=3, lower_bound=None, device="tpu")
    with pytest.raises(ConfigError, match="memory_budget_gb must be > 0, got 0"):
        EvalConfig(timesteps=3, lower_bound=None, memory_budget_gb=0)
