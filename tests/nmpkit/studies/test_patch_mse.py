"""Per-patch MSE of a converted autoencoder (nmpkit.studies.patch_mse) and the bootstrap
intervals the autoencoder study puts on it (nmpkit.studies.stats)."""

import numpy as np
import pytest
import torch
from torch import nn

from nmpkit.errors import ConfigError
from nmpkit.studies import stats
from nmpkit.studies.evaluate_parts import EvalConfig, convert_normalized, simulate_eval
from nmpkit.studies.patch_mse import mse_per_patch, patch_mse_run


def test_mse_per_patch_matches_a_loop():
    gen = torch.Generator().manual_seed(0)
    spk = torch.rand(7, 5, 2, 3, 3, generator=gen) < 0.3
    tgt = torch.rand(5, 2, 3, 3, generator=gen)
    got = mse_per_patch(spk, 1.7, tgt, block=2)
    ref = np.empty((7, 5))
    s, y = spk.numpy().astype(np.float64), tgt.numpy().astype(np.float64)
    for t in range(7):
        for b in range(5):
            est = s[: t + 1, b].sum(0) / (t + 1) * 1.7
            ref[t, b] = ((est - y[b]) ** 2).mean()
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)
    with pytest.raises(ConfigError, match="target must be"):
        mse_per_patch(spk, 1.0, tgt[:4])


def _tiny_autoencoder() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(6, 6, 3, stride=2, padding=1), nn.ReLU(),
                         nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1))


def test_patch_run_agrees_with_cosim_and_resumes(tmp_path):
    model = _tiny_autoencoder().eval()
    x = torch.rand(10, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    cfg = EvalConfig(timesteps=30, lower_bound=0.0, batch_size=4, correlation_samples=0)
    net = convert_normalized(model, x, cfg)
    run = patch_mse_run(net, x, cfg, snapshots=(5, 30, 99), parts_dir=tmp_path, keep_counts=4)
    whole = simulate_eval(net, x, 30, cfg)  # one call, cosim's own per-step MSE over all patches
    assert run.mse.shape == (30, 10)
    np.testing.assert_allclose(run.mse.mean(1), whole.mse_per_step(x).numpy(), rtol=1e-10)
    assert sorted(run.snapshots) == [5, 30]
    np.testing.assert_allclose(run.snapshots[30],
                               whole.output_counts.float().numpy() / 30 * whole.output_scale,
                               rtol=1e-6)
    np.testing.assert_allclose(run.layer_rates, whole.layer_rates, rtol=1e-6)  # float32 rates
    assert [c.shape[0] for c in run.spike_counts] == [4] * len(whole.spike_counts)
    np.testing.assert_array_equal(run.spike_counts[0], whole.spike_counts[0][:4].numpy())
    assert len(list(tmp_path.glob("chunk_*.pt"))) == 3  # 4 + 4 + 2 patches
    (tmp_path / "chunk_000004_4.pt").write_bytes(b"")  # a truncated chunk is recomputed
    again = patch_mse_run(net, x, cfg, snapshots=(5, 30), parts_dir=tmp_path, keep_counts=4)
    np.testing.assert_array_equal(again.mse, run.mse)


def test_bootstrap_intervals_cover_known_values():
    """Of 40 synthetic sets of 256 skewed 'per-patch MSEs', the 95% intervals must cover the
    true mean (and a paired true ratio) in at least 34 (P(fewer | 95% coverage) ≈ 1.4%)."""
    hits_mean = hits_ratio = 0
    for seed in range(40):
        g = np.random.default_rng(seed)
        a = g.exponential(0.01, 256)  # true mean 0.01
        b = a * 1.5 + g.exponential(0.002, 256)  # true ratio E[b]/E[a] = (0.015 + 0.002)/0.01
        m = stats.mean_interval(a, n_resamples=999, seed=seed)
        r = stats.ratio_interval(b, a, n_resamples=999, seed=seed)
        hits_mean += m.ci_low <= 0.01 <= m.ci_high
        hits_ratio += r.ci_low <= 1.7 <= r.ci_high
        assert m.ci_low < m.estimate < m.ci_high and m.n == 256
    assert hits_mean >= 34 and hits_ratio >= 34, (hits_mean, hits_ratio)
