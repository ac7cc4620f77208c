"""Spike counts at earlier steps of one run (``SimConfig.count_steps``): what a run to t < T counts.

With constant-current input the first t steps of a run to T are a run to t (step t only depends
on the steps before it), so every layer's spike counts after t steps, the synaptic events they
trigger and the input's events over t steps can be taken from the run to T instead of a second
run: the trade-off prices every latency budget from one simulation this way.

The IF kernels update a layer a whole time block at a time, so the counts after step t (inside
the block [t0, t0 + tb)) are the counts after the block minus that layer's spikes of steps
t .. t0 + tb - 1, read from the block's spike rows (bits or 0/1 values, rows ``s * b + i``). The
blocks, and so every current, stay those of the run without ``count_steps``; the synaptic events
and the input's events are computed with the expressions the engine uses at the end of a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from cosim.schedule import Bits, to_logical


@dataclass(frozen=True, slots=True)
class PrefixCounts:
    """A run's counts after its first ``timesteps`` steps (per sample, as ``SimulationResult``)."""

    timesteps: int
    spike_counts: list[Tensor]
    synaptic_events: list[Tensor]
    input_synaptic_events: Tensor


class StepCounts:
    """Collects the counts at ``steps`` (each < T) of K variants over the chunks of one run."""

    def __init__(self, steps: Sequence[int], variants: int, batch: int,
                 shapes: Sequence[tuple[int, ...]], count_dtype: torch.dtype,
                 fan_out: Sequence[Tensor]) -> None:
        self.steps = tuple(steps)
        self.shapes, self.fan_out, self.count_dtype = list(shapes), list(fan_out), count_dtype
        self.counts = [{t: [torch.zeros((batch, *s), dtype=count_dtype) for s in shapes]
                        for t in self.steps} for _ in range(variants)]
        self.syn = [{t: [torch.zeros(batch, dtype=torch.float64) for _ in shapes]
                     for t in self.steps} for _ in range(variants)]
        self.inputs = {t: torch.zeros(batch, dtype=torch.float64) for t in self.steps}

    def input_events(self, x: Tensor, fan_in: Tensor, b0: int) -> None:
        """The constant input's events over t steps, for the chunk ``x`` starting at ``b0``."""
        b = x.shape[0]
        for t in self.steps:
            self.inputs[t][b0:b0 + b] += (x.reshape(b, -1) != 0).double() @ fan_in.double() * t

    def in_block(self, t0: int, tb: int) -> list[int]:
        """The steps whose counts end in the block of steps [t0, t0 + tb)."""
        return [t for t in self.steps if t0 < t <= t0 + tb]

    def take(self, k: int, i: int, cnt: Tensor, spk: Tensor | Bits, ext: object | None,
             steps: Sequence[int], t0: int, tb: int, b0: int, b: int) -> None:
        """Variant k's layer i after its update for the block [t0, t0 + tb): ``cnt`` its counts
        after the block ((b, *phys)), ``spk`` its spikes of the block ((tb * b) rows)."""
        for t in steps:
            c = cnt
            if t < t0 + tb:
                c = cnt - _rows(spk, ext, (t - t0) * b, tb * b).reshape(
                    t0 + tb - t, b, *cnt.shape[1:]).sum(0)
            self.counts[k][t][i][b0:b0 + b] = to_logical(c, self.shapes[i]).to(
                "cpu", self.count_dtype)
            self.syn[k][t][i][b0:b0 + b] = (c.reshape(b, -1).double() @ self.fan_out[i]).cpu()

    def result(self, k: int) -> dict[int, PrefixCounts]:
        return {t: PrefixCounts(timesteps=t, spike_counts=self.counts[k][t],
                                synaptic_events=self.syn[k][t],
                                input_synaptic_events=self.inputs[t] if k == 0
                                else self.inputs[t].clone()) for t in self.steps}


def _rows(spk: Tensor | Bits, ext: object | None, r0: int, r1: int) -> Tensor:
    """Rows r0 .. r1 - 1 of a block's spikes as 0/1 values."""
    if isinstance(spk, Bits):
        return ext.unpack_bits(spk.words[r0:r1], spk.n, _NO_OUT)
    return spk[r0:r1]


_NO_OUT = torch.zeros(0)

__all__ = ["PrefixCounts", "StepCounts"]
