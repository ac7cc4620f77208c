"""Training: loss goes down, resume is exact, weights round-trip with weights_only=True."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nmpkit.errors import ConfigError
from nmpkit.ml.data import Dataset
from nmpkit.ml.recipe import Recipe
from nmpkit.ml.train import (
    TrainConfig,
    augment_crop_flip,
    evaluate_ann,
    load_weights,
    save_weights,
    train,
)
from nmpkit.ml.zoo import NetworkSpec, get_network


def _tiny() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)
    )


def _spec(**recipe) -> NetworkSpec:
    r = dict(
        optimizer="adam",
        lr=1e-2,
        weight_decay=1e-4,
        batch_size=16,
        epochs=2,
        schedule="cosine",
        augment="crop_flip",
    )
    return NetworkSpec(
        name="tiny",
        build=_tiny,
        task="classify",
        datasets=("mnist",),
        input_shape=(1, 8, 8),
        mean=(0.5,),
        std=(0.25,),
        recipe=Recipe(**{**r, **recipe}),
    )


def _data(n=64) -> Dataset:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 8, n)
    x = rng.integers(0, 60, (n, 1, 8, 8)).astype(np.uint8)
    x[np.arange(n), 0, y, :] = 250  # a learnable label: a bright row
    return Dataset(
        name="mnist", x_train=x, y_train=y, x_test=x[:32], y_test=y[:32], source="synthetic"
    )


def test_one_training_step_reduces_the_loss():
    spec = get_network("mnist")
    torch.manual_seed(0)
    model = spec.build()
    x, y = torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,))
    # a plain gradient step (Adam's first step is sign-like, too coarse on 12 M weights)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.eval()  # no dropout noise when comparing the two losses
    before = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = nn.functional.cross_entropy(model(x), y)
    assert after.item() < before.item()


def test_train_learns_and_writes_weights_with_provenance(tmp_path):
    meta = train(_spec(augment="none"), _data(), tmp_path / "w.pt", TrainConfig(epochs=8, seed=3))
    assert meta["epochs_done"] == 8 and meta["seed"] == 3
    assert meta["history"][-1]["test_accuracy"] > 0.5  # chance is 0.1
    assert (
        meta["history"][-1]["train_loss_partial_mean"]
        < meta["history"][0]["train_loss_partial_mean"]
    )
    side = json.loads((tmp_path / "w.json").read_text())
    assert {"git_revision", "versions", "created_utc"} <= side["provenance"].keys()
    assert {"torch", "nmpkit"} <= side["provenance"]["versions"].keys()
    sd = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(sd) == set(_tiny().state_dict())


class _Stop(Exception):
    pass


def test_resume_mid_epoch_gives_the_same_weights(tmp_path):
    spec, data = _spec(), _data()
    train(spec, data, tmp_path / "a.pt", TrainConfig(epochs=2, seed=5))

    def stop_after_5(epoch, batch, loss):
        if epoch == 1 and batch == 1:
            raise _Stop

    cfg = TrainConfig(epochs=2, seed=5, checkpoint_seconds=0.0)
    with pytest.raises(_Stop):
        train(spec, data, tmp_path / "b.pt", cfg, on_batch=stop_after_5)
    train(spec, data, tmp_path / "b.pt", TrainConfig(epochs=2, seed=5, resume=True))
    a = torch.load(tmp_path / "a.pt", weights_only=True)
    b = torch.load(tmp_path / "b.pt", weights_only=True)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    other = torch.load(tmp_path / "b.pt.ckpt", weights_only=True)
    assert other["epoch"] == 2
    with pytest.raises(ConfigError, match="checkpoint is for network"):
        train(spec, data, tmp_path / "b.pt", TrainConfig(epochs=3, seed=6, resume=True))


def test_half_weights_roundtrip_and_load_errors(tmp_path):
    spec = get_network("autoencoder")
    model = spec.build()
    save_weights(model, tmp_path / "ae.pt", {"note": "test"}, half=True)
    sd = torch.load(tmp_path / "ae.pt", weights_only=True)
    assert all(v.dtype == torch.float16 for v in sd.values())
    loaded = load_weights("autoencoder", tmp_path / "ae.pt")
    w0, w1 = model[0].weight.detach(), loaded[0].weight
    assert w1.dtype == torch.float32
    torch.testing.assert_close(w1, w0.half().float(), rtol=0, atol=0)
    assert not loaded.training
    with pytest.raises(ConfigError, match="do not fit network 'mnist'"):
        load_weights("mnist", tmp_path / "ae.pt")
    with pytest.raises(ConfigError, match="not found"):
        load_weights("mnist", tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ConfigError, match="junk.pt"):
        load_weights("mnist", tmp_path / "junk.pt")



@pytest.mark.parametrize("blob", [b"", b"junk", b"PK\x03\x04truncated"])
def test_a_corrupt_resume_checkpoint_is_one_clear_error(tmp_path, blob):
    (tmp_path / "b.pt.ckpt").write_bytes(blob)
    with pytest.raises(ConfigError, match="b.pt.ckpt: not a readable training checkpoint"):
        train(_spec(), _data(), tmp_path / "b.pt", TrainConfig(epochs=1, seed=5, resume=True))


def test_a_checkpoint_missing_entries_is_one_clear_error(tmp_path):
    torch.save({"network": "x"}, tmp_path / "b.pt.ckpt")
    with pytest.raises(ConfigError, match="not a readable training checkpoint .*KeyError"):
        train(_spec(), _data(), tmp_path / "b.pt", TrainConfig(epochs=1, seed=5, resume=True))

@pytest.mark.parametrize("corrupt, match", [
    (lambda sd: {k: (v * 100).long() for k, v in sd.items()},
     "dtype torch.int64, expected a floating"),
    (lambda sd: {k: v.fill_(float("nan")) for k, v in sd.items()}, "NaN/Inf"),
    (lambda sd: {k: v[:1] for k, v in sd.items()}, "has shape"),
    (lambda sd: {**sd, "extra.weight": torch.zeros(1)}, "unexpected"),
])
def test_load_weights_refuses_what_it_would_have_cast(tmp_path, corrupt, match):
    """issue 12: an int64 / NaN / misshapen state_dict is refused by name, not evaluated."""
    model = get_network("autoencoder").build()
    sd = corrupt({k: v.detach().clone() for k, v in model.state_dict().items()})
    torch.save(sd, tmp_path / "w.pt")
    with pytest.raises(ConfigError, match=match):
        load_weights("autoencoder", tmp_path / "w.pt")


def test_crop_flip_gives_shifted_or_mirrored_crops():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6) + 1
    out = augment_crop_flip(x, torch.Generator().manual_seed(0), pad=2)
    padded = nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, dy : dy + 6, dx : dx + 6] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)
    no_pad = augment_crop_flip(x, torch.Generator().manual_seed(1), pad=0)
    for i in range(2):
        assert torch.equal(no_pad[i], x[i]) or torch.equal(no_pad[i], x[i].flip(2))


def test_evaluate_ann_counts_and_mse():
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]]).view(3, 1, 1, 2)
    assert evaluate_ann(model, x, torch.tensor([0, 0, 0]), batch_size=2) == pytest.approx(2 / 3)
    ident = nn.Sequential(nn.Identity())
    assert evaluate_ann(ident, x, None) == 0.0


def test_train_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="train_limit"):
        TrainConfig(epochs=1, train_limit=0)


def test_max_batches_stops_mid_epoch_and_resume_finishes_the_same_run(tmp_path):
    spec, data = _spec(), _data()  # 64 samples, batch 16: 4 batches per epoch
    train(spec, data, tmp_path / "a.pt", TrainConfig(epochs=2, seed=2))
    meta = train(spec, data, tmp_path / "b.pt", TrainConfig(epochs=2, seed=2, max_batches=6))
    assert meta["batches_done"] == 6 and meta["epochs_done"] == 1
    assert meta["history"][-1]["stopped_at_batch"] == 6
    meta = train(spec, data, tmp_path / "b.pt", TrainConfig(epochs=2, seed=2, resume=True))
    assert meta["batches_done"] == 8
    a = torch.load(tmp_path / "a.pt", weights_only=True)
    b = torch.load(tmp_path / "b.pt", weights_only=True)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def _crop_flip_loop(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """The per-sample definition: pad, slice a window at (dy, dx), flip if drawn."""
    b, _, h, w = x.shape
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    flip = torch.rand(b, generator=gen) < 0.5
    out = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])
    return torch.where(flip.view(b, 1, 1, 1), out.flip(3), out)


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 9), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       pad=st.integers(0, 4), seed=st.integers(0, 2**31))
def test_augment_crop_flip_equals_the_per_sample_loop(b, c, h, w, pad, seed):
    x = torch.randn(b, c, h, w, generator=torch.Generator().manual_seed(seed))
    got = augment_crop_flip(x, torch.Generator().manual_seed(seed), pad=pad)
    want = _crop_flip_loop(x, torch.Generator().manual_seed(seed), pad=pad)
    assert torch.equal(got, want)


def test_train_config_checks_the_device():
    with pytest.raises(ConfigError, match="device must be cpu, cuda or cuda:N, got 'gpu0'"):
        TrainConfig(epochs=1, device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            TrainConfig(epochs=1, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_augment_crop_flip_same_on_cuda():
    x = torch.randn(16, 3, 8, 8)
    a = augment_crop_flip(x, torch.Generator().manual_seed(3))
    b = augment_crop_flip(x.cuda(), torch.Generator().manual_seed(3))
    assert torch.equal(a, b.cpu())


def test_bf16_autocast_training_learns_and_is_recorded(tmp_path):
    meta = train(_spec(augment="none"), _data(), tmp_path / "w.pt",
                 TrainConfig(epochs=8, seed=3, amp=True))
    assert meta["amp"] == "bfloat16 autocast" and meta["device"].startswith("cpu")
    assert meta["history"][-1]["test_accuracy"] > 0.5
    sd = torch.load(tmp_path / "w.pt", weights_only=True)
    assert all(v.dtype == torch.float32 for v in sd.values() if v.is_floating_point())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda_learns(tmp_path):
    meta = train(_spec(), _data(), tmp_path / "g.pt", TrainConfig(epochs=8, seed=3,
                                                                  device="cuda"))
    assert meta["device"].startswith("cuda") and meta["history"][-1]["test_accuracy"] > 0.5
