"""Schedules for one layer's synaptic ops on a block of spikes, all equal to the plain op.

Tensors here are in the engine's physical layout: a conv-like neuron shape ``(C, H, W)`` is
stored channels-last as ``(H, W, C)`` (``to_logical`` gives the NCHW view torch's convolutions
take, with channels-last strides so oneDNN's fast path runs); a flat shape ``(N,)`` as is.

- ``dense``: the op chain on ``(rows, ...)`` where rows = time block × batch.
- ``sparse`` (Linear after optional Flatten, input = spikes): event-driven accumulation. Each
  row's current is the sum of the weight columns of the inputs that spiked
  (``embedding_bag`` over the active indices), plus the bias. Work ∝ number of spikes.
- ``auto``: runs both on the first calls that carry spikes, times them, and from then on picks,
  per call, the one predicted faster for that call's spike count (a per-row cost for dense,
  a per-row plus per-spike cost for sparse, both measured on this machine and device).

On a dyadic grid (every sum exact) all schedules give identical currents; with arbitrary float
weights the summation order differs, which can flip a spike count by ±1 on a few neurons.
"""

from __future__ import annotations

import time
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from cosim.network import SynapticOp, apply_ops

Schedule = Literal["auto", "dense", "sparse"]
SCHEDULES: tuple[str, ...] = ("auto", "dense", "sparse")


def phys_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Physical (storage) shape of a neuron shape: (C, H, W) → (H, W, C)."""
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else tuple(shape)


def to_logical(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """View (R, *phys_shape) as (R, *shape) (no copy)."""
    return x.permute(0, 3, 1, 2) if len(shape) == 3 else x


def to_phys(y: Tensor, shape: tuple[int, ...]) -> Tensor:
    """(R, *shape) → contiguous (R, *phys_shape) (free when y is channels-last)."""
    return (y.permute(0, 2, 3, 1) if len(shape) == 3 else y).contiguous()


def to_phys_param(p: Tensor, shape: tuple[int, ...]) -> Tensor:
    """A per-neuron parameter broadcast to ``shape`` and laid out physically."""
    p = torch.broadcast_to(p, shape)
    return (p.permute(1, 2, 0) if len(shape) == 3 else p).contiguous()


class OpsRunner:
    """Computes one layer's input current from the previous layer's spikes (or the input)."""

    def __init__(self, ops: tuple[SynapticOp, ...], in_shape: tuple[int, ...],
                 out_shape: tuple[int, ...], schedule: Schedule, device: torch.device,
                 binary: bool = True) -> None:
        self.ops, self.in_shape, self.out_shape = ops, in_shape, out_shape
        self.binary = binary  # inputs are 0/1 spikes (else: values weight the gathered rows)
        self.device = device
        linear = [op for op in ops if op.kind != "flatten"]
        self.sparse_ok = (len(linear) == 1 and linear[0].kind == "linear"
                          and ops[-1].kind == "linear" and len(out_shape) == 1)
        self.mode = schedule if self.sparse_ok else "dense"
        self.calls = {"dense": 0, "sparse": 0}
        self._cost: dict[str, tuple[float, float]] = {}
        self._probes = 0
        if self.sparse_ok:
            lin = linear[0]
            n_in = lin.weight.shape[1]
            # rows of w_t in the physical order of the input's flattened spikes
            order = torch.arange(n_in, device=lin.weight.device)
            if len(in_shape) == 3:
                order = order.reshape(in_shape).permute(1, 2, 0).reshape(-1)
            self.w_t = lin.weight.t()[order].contiguous()
            self.bias = lin.bias

    def __call__(self, x: Tensor) -> Tensor:
        """x: (R, *phys(in_shape)) → (R, *phys(out_shape)) current."""
        mode = self.mode
        if mode == "auto":
            mode = self._choose(x)
        self.calls[mode] += 1
        return self._sparse(x) if mode == "sparse" else self._dense(x)

    def _dense(self, x: Tensor) -> Tensor:
        return to_phys(apply_ops(self.ops, to_logical(x, self.in_shape)), self.out_shape)

    def _sparse(self, x: Tensor, nz: Tensor | None = None) -> Tensor:
        flat = x.reshape(x.shape[0], -1)
        if nz is None:
            nz = flat.reshape(-1).nonzero().squeeze(1)
        n_in = flat.shape[1]
        counts = torch.count_nonzero(flat, dim=1)
        offsets = torch.zeros_like(counts)
        offsets[1:] = counts.cumsum(0)[:-1]
        psw = None if self.binary else flat.reshape(-1)[nz]
        out = F.embedding_bag(nz % n_in, self.w_t, offsets, mode="sum", per_sample_weights=psw)
        if self.bias is not None:
            out += self.bias
        return out

    def _timed(self, fn, *args) -> tuple[Tensor, float]:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t0 = time.perf_counter()
        y = fn(*args)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return y, time.perf_counter() - t0

    def _choose(self, x: Tensor) -> str:
        rows = x.shape[0]
        nnz = int(torch.count_nonzero(x))
        if nnz == 0:
            return "sparse"
        if self._probes < 2:  # probe both; the first call of each warms up
            self._probes += 1
            _, td = self._timed(self._dense, x)
            _, ts = self._timed(self._sparse, x)
            self._cost = {"dense": (td / rows, 0.0), "sparse": (ts / (rows + nnz), 0.0)}
            return "dense" if td <= ts else "sparse"
        dense = self._cost["dense"][0] * rows
        sparse = self._cost["sparse"][0] * (rows + nnz)
        return "sparse" if sparse < dense else "dense"

    def describe(self) -> str:
        kinds = "+".join(op.kind for op in self.ops)
        if not self.sparse_ok:
            return f"{kinds}: dense"
        return f"{kinds}: {self.mode} (dense calls {self.calls['dense']}, " \
               f"sparse calls {self.calls['sparse']})"


__all__ = ["OpsRunner", "SCHEDULES", "Schedule", "phys_shape", "to_logical", "to_phys",
           "to_phys_param"]
