"""The one batch-and-average loop of the studies: simulate a test set in batches, weight by size.

Every study measures a per-step metric (accuracy for a classifier, MSE for a reconstruction) over
more samples than one ``cosim.simulate`` call should hold. `simulate_batched` runs the batches
and returns the sample-weighted mean per step (float64, as ``SimulationResult`` computes it), so
the tradeoff, the modulation study and `nmpkit evaluate` average the same way.

Example::

    run = simulate_batched(net, x, y, batch=250, timesteps=100, neuron=neuron)
    run.metric[-1]          # accuracy after T steps over all of x
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch

from nmpkit.errors import ConfigError

Task = Literal["classify", "reconstruct"]


def batch_slices(n: int, batch: int) -> Iterator[slice]:
    """``slice(start, stop)`` of each batch of at most ``batch`` of ``n`` samples, in order."""
    if batch < 1:
        raise ConfigError(f"batch must be >= 1, got {batch!r}")
    for start in range(0, n, batch):
        yield slice(start, min(start + batch, n))


def metric_per_step(result: Any, target: torch.Tensor, task: Task) -> torch.Tensor:
    """(T,) float64: accuracy per step (``task`` "classify", ``target`` = labels) or MSE per step
    (``task`` "reconstruct", ``target`` = the images)."""
    if task == "classify":
        return result.accuracy_per_step(target)
    if task == "reconstruct":
        return result.mse_per_step(target)
    raise ConfigError(f"task must be 'classify' or 'reconstruct', got {task!r}")


@dataclass(frozen=True, slots=True)
class BatchedRun:
    """The sample-weighted mean ``metric`` (T,) float64 over ``n`` samples; ``results`` holds each
    batch's ``SimulationResult`` when asked for (``keep=True``), else is empty."""

    metric: torch.Tensor
    n: int
    results: tuple[Any, ...] = ()


def simulate_batched(net: Any, x: torch.Tensor, target: torch.Tensor, *, batch: int,
                     task: Task = "classify", keep: bool = False, **simulate: Any) -> BatchedRun:
    """Simulate ``x`` in batches with ``cosim.simulate(net, xb, **simulate)``; average the metric.

    Args:
        net, x, target: the network, its inputs (N, ...) and labels or target images (N, ...).
        batch: samples per ``cosim.simulate`` call.
        task: which metric (see `metric_per_step`).
        keep: also return every batch's result (spike and event counts for energy).
        simulate: keyword arguments of ``cosim.simulate`` (timesteps, neuron, lower_bound, ...).
    """
    import cosim

    n = int(x.shape[0])
    if n == 0:
        raise ConfigError("simulate_batched needs at least one sample, got none")
    total: torch.Tensor | None = None
    kept = []
    for sl in batch_slices(n, batch):
        res = cosim.simulate(net, x[sl], **simulate)
        part = metric_per_step(res, target[sl], task) * res.batch_size
        total = part if total is None else total + part
        if keep:
            kept.append(res)
    assert total is not None
    return BatchedRun(metric=total / n, n=n, results=tuple(kept))


__all__ = ["BatchedRun", "Task", "batch_slices", "metric_per_step", "simulate_batched"]
