"""simulate_batched: the batch-weighted mean equals one simulation of the whole set."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cosim
from nmpkit.studies.batched import batch_slices, simulate_batched

torch.set_num_threads(1)


def _net_and_data(n: int = 23):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 4)).eval()
    x = torch.rand(n, 8, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    return cosim.convert(model, x, percentile=99.9), x, y


@given(st.integers(0, 200), st.integers(1, 50))
def test_batch_slices_cover_every_sample_once_in_order(n, batch):
    idx = [i for sl in batch_slices(n, batch) for i in range(sl.start, sl.stop)]
    assert idx == list(range(n))
    assert all(sl.stop - sl.start <= batch for sl in batch_slices(n, batch))


@settings(max_examples=5, deadline=None)
@given(st.integers(1, 23))
def test_batched_mean_equals_the_whole_set_at_once(batch):
    net, x, y = _net_and_data()
    whole = cosim.simulate(net, x, timesteps=20, lower_bound=0.0)
    run = simulate_batched(net, x, y, batch=batch, keep=True, timesteps=20, lower_bound=0.0)
    assert run.n == 23 and len(run.results) == -(-23 // batch)
    torch.testing.assert_close(run.metric, whole.accuracy_per_step(y), rtol=0, atol=1e-12)
    # a hand count: correct samples after T steps / N
    counts = whole.output_spikes.sum(0)
    assert float(run.metric[-1]) == pytest.approx(float((counts.argmax(1) == y).double().mean()))


def test_reconstruction_metric_and_bad_input():
    net, x, y = _net_and_data(6)
    target = torch.rand(6, 4)
    whole = cosim.simulate(net, x, timesteps=10)
    run = simulate_batched(net, x, target, batch=4, task="reconstruct", timesteps=10)
    torch.testing.assert_close(run.metric, whole.mse_per_step(target), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="task must be"):
        simulate_batched(net, x, y, batch=4, task="segment", timesteps=10)
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        simulate_batched(net, x, y, batch=0, timesteps=10)
