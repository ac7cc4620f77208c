"""Schedules for one layer's synaptic ops on a block of spikes, all equal to the plain op.

Tensors here are in the engine's physical layout: a conv-like neuron shape ``(C, H, W)`` is
stored channels-last as ``(H, W, C)`` (``to_logical`` gives the NCHW view torch's convolutions
take, with channels-last strides so oneDNN's fast path runs); a flat shape ``(N,)`` as is. With
the compiled kernels, spikes may also come bit-packed (``Bits``, see ``cosim.kernels``).

- ``dense``: the op chain on ``(rows, ...)`` where rows = time block × batch.
- ``sparse`` (event-driven; Linear after optional Flatten, and with the compiled kernels also
  Conv2d with groups = 1 and numeric padding): each spike adds its weights into the outputs it
  reaches (``cosim.kernels``; for Linear without them, ``embedding_bag`` over the active
  indices), plus the bias. Work ∝ number of spikes × fan-out. With the kernels, the engine
  fuses an event-driven Conv2d with the IF update of the layer it feeds (``conv_if``).
  On a CUDA device (no compiled kernels there) Conv2d is event-driven too, in Triton
  (``cosim.triton_events``) when Triton is installed; Linear uses ``embedding_bag``.
- ``auto``: times both (best of two) on a slice of 16 rows of the first call and again every
  64 calls (firing rates drift), and uses the faster one: chosen per layer, by measurement.
  (Both probes compute the current; the fused conv+IF is cheaper than its probe suggests.)

On a dyadic grid (every sum exact) all schedules give identical currents; with arbitrary float
weights the summation order differs, which can flip a spike count by ±1 on a few neurons.

The kernels' Linear weight layout (transposed, rows in the spikes' physical order, about the
weight's size) is kept between ``simulate`` calls while the weight tensor lives unchanged.
"""

from __future__ import annotations

import time
import weakref
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from cosim.network import SynapticOp, apply_ops

Schedule = Literal["auto", "dense", "sparse"]
SCHEDULES: tuple[str, ...] = ("auto", "dense", "sparse")
_PROBE_EVERY = 64  # auto: re-time both schedules every this many calls (rates drift)
_PROBE_ROWS = 16  # rows (sample-steps) of a block used for timing


class Bits(NamedTuple):
    """Bit-packed spikes: ``words`` (rows, ceil(n / 64)) int64, bit j of a row = neuron j."""

    words: Tensor
    n: int


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
                 binary: bool = True, ext: object | None = None, events: bool = False) -> None:
        self.ops, self.in_shape, self.out_shape = ops, in_shape, out_shape
        self.device, self.ext = device, ext
        self.binary = binary  # inputs are 0/1 spikes (else: values weight the gathered rows)
        linear = [op for op in ops if op.kind != "flatten"]
        self.kind = "dense"
        if (len(linear) == 1 and linear[0].kind == "linear" and ops[-1].kind == "linear"
                and len(out_shape) == 1):
            self.kind = "linear"
            lin = linear[0]
            self.n_out = lin.weight.shape[0]
            pad = (-self.n_out) % 16 if ext is not None else -1  # -1: torch's layout
            self.w_t, self.bias = _cached(
                (lin.weight, lin.bias), ("linear", tuple(in_shape), pad, str(device)),
                lambda: _linear_layout(lin, in_shape, pad))
        elif ext is not None and _event_conv(ops, in_shape):
            self.kind = "conv"
            op = ops[0]
            self.w_t, self.w_tail, self.bias = _conv_layout(op)
            o, (n_out, c, kh, kw) = op.options, op.weight.shape
            self.geo = [in_shape[1], in_shape[2], c, kh, kw, *o["stride"], *o["padding"],
                        *o["dilation"], out_shape[1], out_shape[2], n_out]
        elif events and _event_conv(ops, in_shape):
            from cosim.triton_events import conv_layout

            self.kind = "conv_events"  # Triton on a CUDA device (``cosim.triton_events``)
            op = ops[0]
            self.w_t = _cached((op.weight,), ("conv_events", str(device)),
                               lambda: conv_layout(op.weight))
            self.bias = op.bias
        self.sparse_ok = self.kind != "dense"
        self.mode = schedule if self.sparse_ok else "dense"
        self.calls = {"dense": 0, "sparse": 0}
        self._n = 0
        self._fast = "dense"
        self._unpacked: Tensor | None = None

    def __call__(self, x: Tensor | Bits) -> Tensor:
        """x: (R, *phys(in_shape)) spikes (or ``Bits``) → (R, *phys(out_shape)) current."""
        return self.current(x, self.pick(x))

    def pick(self, x: Tensor | Bits) -> str:
        """The schedule of this call ("dense" or "sparse"), timing both now and then (auto)."""
        mode = self.mode
        if mode == "auto":
            if self._n % _PROBE_EVERY == 0:  # (re)time both on a slice, each second of two
                probe = _rows(x, _PROBE_ROWS)
                td = min(self._timed(self._dense, probe)[1] for _ in range(2))
                ts = min(self._timed(self._sparse, probe)[1] for _ in range(2))
                self._fast = "dense" if td <= ts else "sparse"
            self._n += 1
            mode = self._fast
        self.calls[mode] += 1
        return mode

    def current(self, x: Tensor | Bits, mode: str) -> Tensor:
        return self._sparse(x) if mode == "sparse" else self._dense(x)

    def conv_if(self, x: Tensor | Bits, v: Tensor, counts: Tensor, r: Tensor, discard: Tensor,
                neuron: list[Tensor], has_floor: bool, reset_zero: bool, refractory: int,
                out: Tensor) -> None:
        """Event-driven Conv2d fused with the next layer's IF update (``cosim.kernels``)."""
        self.ext.conv_if(self._words(x), self.w_t, self.w_tail, self.bias, self.geo, v, counts,
                         r, discard, neuron, has_floor, reset_zero, refractory, out)

    def _words(self, x: Tensor | Bits) -> Tensor:
        if isinstance(x, Bits):
            return x.words
        return self.ext.pack_bits(x.reshape(x.shape[0], -1).contiguous())

    def _dense(self, x: Tensor | Bits) -> Tensor:
        if isinstance(x, Bits):  # into a buffer kept between calls (no fresh pages)
            rows = x.words.shape[0]
            if self._unpacked is None or self._unpacked.shape[0] < rows:
                self._unpacked = torch.empty((rows, x.n), dtype=torch.float32)
            x = self.ext.unpack_bits(x.words, x.n, self._unpacked[:rows]).reshape(
                rows, *phys_shape(self.in_shape))
        return to_phys(apply_ops(self.ops, to_logical(x, self.in_shape)), self.out_shape)

    def _sparse(self, x: Tensor | Bits) -> Tensor:
        if self.kind == "conv_events":
            from cosim.triton_events import event_conv2d

            o = self.ops[0].options
            return event_conv2d(x, self.w_t, self.bias, stride=o["stride"],
                                padding=o["padding"], dilation=o["dilation"],
                                out_hw=(self.out_shape[1], self.out_shape[2]))
        if self.ext is not None:
            words = self._words(x)
            if self.kind == "conv":
                return self.ext.conv_cur(words, self.w_t, self.w_tail, self.bias, self.geo)
            return self.ext.linear_bits(words, self.w_t, self.bias, self.n_out)
        flat = x.reshape(x.shape[0], -1)
        nz = flat.reshape(-1).nonzero().squeeze(1)
        counts = torch.count_nonzero(flat, dim=1)
        offsets = torch.zeros_like(counts)
        offsets[1:] = counts.cumsum(0)[:-1]
        psw = None if self.binary else flat.reshape(-1)[nz]
        out = F.embedding_bag(nz % flat.shape[1], self.w_t, offsets, mode="sum",
                              per_sample_weights=psw)
        if self.bias.numel():
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

    def describe(self) -> str:
        kinds = "+".join(op.kind for op in self.ops)
        if not self.sparse_ok:
            return f"{kinds}: dense"
        return (f"{kinds}: {self.mode} (dense calls {self.calls['dense']}, "
                f"event-driven calls {self.calls['sparse']})")


def _event_conv(ops: tuple[SynapticOp, ...], in_shape: tuple[int, ...]) -> bool:
    """A layer an event-driven convolution (the CPU kernels' or Triton's) can run: one Conv2d,
    groups 1, numeric padding, on a (C, H, W) input."""
    return (len(ops) == 1 and ops[0].kind == "conv2d" and ops[0].options["groups"] == 1
            and len(in_shape) == 3 and not isinstance(ops[0].options["padding"], str))


def _linear_layout(lin: SynapticOp, in_shape: tuple[int, ...],
                   pad: int) -> tuple[Tensor, Tensor]:
    """(N, O + pad) transposed weight, rows in the physical order of the flattened spikes, and
    the bias; pad >= 0: columns and bias zero-padded (the kernels' layout), -1: torch's."""
    w, n_out = lin.weight, lin.weight.shape[0]
    src = w.reshape(n_out, *in_shape).permute(2, 3, 1, 0) if len(in_shape) == 3 else w.t()
    w_t = w.new_zeros((src.numel() // n_out, n_out + max(pad, 0)))
    w_t.view(*src.shape[:-1], w_t.shape[1])[..., :n_out].copy_(src)  # one pass over w
    bias = lin.bias
    if pad >= 0:
        bias = F.pad(w.new_zeros(n_out) if bias is None else bias, (0, pad)).contiguous()
    return w_t, bias if bias is not None else w.new_zeros(0)


def _conv_layout(op: SynapticOp) -> tuple[Tensor, Tensor, Tensor]:
    """The event-driven convolution's weights (``cosim.kernels``): (KH, KW, C, OM) with the
    first channels in whole vectors of 16 (zero-padded when O % 16 > 8), a tail (KH, KW, C, TL)
    holding the last O % 16 <= 8 channels in one vector of TL = 4 or 8 (TL = 0: none), and the
    bias zero-padded to OM + TL."""
    w = op.weight.permute(2, 3, 1, 0)  # (KH, KW, C, O)
    n_out = w.shape[3]
    r = n_out % 16
    tl = 4 if 0 < r <= 4 else 8 if 4 < r <= 8 else 0
    om = n_out - r if tl else n_out + (-n_out) % 16
    main = F.pad(w[..., :om], (0, max(0, om - n_out))).contiguous()
    tail = F.pad(w[..., om:], (0, tl - (n_out - om))).contiguous() if tl else \
        w.new_zeros((*w.shape[:3], 0))
    bias = op.bias if op.bias is not None else w.new_zeros(n_out)
    return main, tail, F.pad(bias, (0, om + tl - n_out)).contiguous()


_CACHE: dict[tuple, tuple] = {}


def _cached(tensors: tuple[Tensor | None, ...], tag: tuple, make):
    """``make()`` once per tensors and tag, while the first tensor lives and none of them has
    changed (in place or by identity): the kernels' weight layouts are reused across calls."""
    anchor = tensors[0]
    key = (id(anchor), tag)
    state = tuple(None if t is None else (id(t), t._version) for t in tensors)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is anchor and hit[1] == state:
        return hit[2]
    value = make()
    _CACHE[key] = (weakref.ref(anchor, lambda _, k=key: _CACHE.pop(k, None)), state, value)
    return value


def _rows(x: Tensor | Bits, k: int) -> Tensor | Bits:
    """The first k rows (at least one, at most all)."""
    if isinstance(x, Bits):
        return Bits(x.words[:max(1, min(x.words.shape[0], k))], x.n)
    return x[:max(1, min(x.shape[0], k))]


__all__ = ["Bits", "OpsRunner", "SCHEDULES", "Schedule", "phys_shape", "to_logical", "to_phys",
           "to_phys_param"]
