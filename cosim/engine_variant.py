"""One neuron variant's state inside ``cosim.engine`` (several variants share one pass).

A variant is one neuron model for the whole network (``SimConfig.neuron``'s form): the engine
runs K of them over the same inputs and weights in one call. Each has its own membranes, spike
counts, spike buffers and readout; the synaptic work is shared wherever their input spikes are
equal (``groups``): the first layer's constant current always, a later layer's current when the
variants' spikes into it are the same bits (e.g. the first layer's spikes for several floors:
a constant positive current never meets the floor, a negative one never fires; so the first
layer's IF update runs once for variants that differ there only in the floor:
``first_layer_leaders``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor

from cosim.engine_parts import (
    MembraneReadout,
    discard_or_empty,
    if_block,
    kernel_neuron,
    state_or_empty,
)
from cosim.neuron import StepParams, apply_transfer
from cosim.schedule import Bits, phys_shape


class VariantState:
    """Per-variant, per-layer state of one batch chunk (allocated by ``start_chunk``)."""

    def __init__(self, params: list[StepParams], dev: torch.device, dtype: torch.dtype,
                 record_floor: bool) -> None:
        self.params = params
        self.nrn = [kernel_neuron(p, dev, dtype) for p in params]
        self.flags = [(p.floor is not None, p.reset == "zero", p.refractory) for p in params]
        self.dev, self.dtype, self.record_floor = dev, dtype, record_floor
        p0 = params[0]  # a constant first-layer current: its gain and transfer once per chunk
        self.plain0 = replace(p0, gain=None, transfer=None) if not p0.refractory and (
            p0.gain is not None or p0.transfer is not None) else None
        self.nrn0 = kernel_neuron(self.plain0, dev, dtype) if self.plain0 is not None else None
        self._x0: Tensor | None = None
        self._pool: dict[tuple[str, int], Tensor] = {}

    def start_chunk(self, b: int, shapes: list[tuple[int, ...]], sizes: list[int],
                    fused: list[bool], tb_max: int, preds: Tensor | None) -> None:
        """Zeroed state for a chunk of b samples; the storage of the first (largest) chunk is
        reused by the later ones (no fresh pages to fault in per chunk)."""
        dtype = self.dtype
        ps = [phys_shape(s) for s in shapes]
        self.v = [self._take(("v", i), (b, *s), dtype) for i, s in enumerate(ps)]
        for v, p in zip(self.v, self.params, strict=True):  # the membrane controller's start
            if isinstance(p.v0, Tensor) or p.v0 != 0.0:
                v += p.v0
        self.r = [self._take(("r", i), (b, *s), torch.int32) if p.refractory else None
                  for i, (s, p) in enumerate(zip(ps, self.params, strict=True))]
        self.counts = [self._take(("c", i), (b, *s), dtype) for i, s in enumerate(ps)]
        self.disc = [self._take(("d", i), (b, *s), dtype)
                     if p.floor is not None and self.record_floor else None
                     for i, (s, p) in enumerate(zip(ps, self.params, strict=True))]
        self.r_k = [state_or_empty(t) for t in self.r]  # the kernels' form: empty = none
        self.d_k = [discard_or_empty(t) for t in self.disc]
        self.bufs = [self._take(("s", i), (tb_max * b, (n + 63) // 64), torch.int64, False)
                     if fused[i] else self._take(("s", i), (tb_max, b, *ps[i]), dtype, False)
                     for i, n in enumerate(sizes)]
        self.preds = preds  # (T, b) view of this variant's per-step predictions, or None
        self._x0 = None
        self.readout = MembraneReadout(preds) if preds is not None else None

    def _take(self, key: tuple[str, int], shape: tuple[int, ...], dtype: torch.dtype,
              zero: bool = True) -> Tensor:
        numel = math.prod(shape)
        t = self._pool.get(key)
        if t is None or t.numel() < numel or t.dtype != dtype:
            dev = self.dev if dtype != torch.int64 else torch.device("cpu")  # bit rows: CPU
            t = self._pool[key] = torch.empty(numel, device=dev, dtype=dtype)
        out = t[:numel].view(shape)
        return out.zero_() if zero else out

    def conv_args(self, i: int, tb: int, b: int) -> tuple:
        """This variant's part of ``conv_if_multi``'s arguments for layer i, and its output."""
        return (self.v[i], self.counts[i], self.r_k[i], self.d_k[i], self.nrn[i],
                self.flags[i], self.bufs[i][:tb * b])

    def update(self, ext: object | None, i: int, cur: Tensor, const: bool, tb: int, b: int,
               t0: int, last: bool) -> Tensor | Bits:
        """Layer i's IF update for the block (``cur``: (tb, b, *phys) or, const, (b, *phys));
        returns its spikes, (tb * b) rows.

        The first layer's constant current (``const``, no refractory steps) goes through the
        neuron's gain and transfer curve once per chunk (the same float32 operations as every
        step would apply), then the plain IF update: the same spikes at a fraction of the work."""
        params, nrn = self.params[i], self.nrn[i]
        if const and i == 0 and self.plain0 is not None:
            if self._x0 is None:
                self._x0 = _gain_transfer(cur, params)
            cur, params, nrn = self._x0, self.plain0, self.nrn0
        if ext is not None:
            words = self.bufs[i][:tb * b]
            pv = self.preds[t0:t0 + tb] if last and self.preds is not None else _NO_PREDS
            ext.if_bits(cur, const, self.v[i], self.counts[i], self.r_k[i], self.d_k[i],
                        nrn, *self.flags[i], words, pv)
            return Bits(words, self.sizes_n(i))
        s = self.bufs[i][:tb]
        if_block(cur, const, self.v[i], self.r[i], self.disc[i], params, s,
                 self.readout if last else None)
        self.counts[i] += s.sum(0)
        return s.reshape(tb * b, *s.shape[2:])

    def sizes_n(self, i: int) -> int:
        return self.v[i][0].numel()


def _gain_transfer(x: Tensor, p: StepParams) -> Tensor:
    """``x`` through the neuron's gain and transfer curve (``cosim.neuron.if_step``'s order)."""
    if p.gain is not None:
        x = x * p.gain
    if p.transfer is not None:
        x = apply_transfer(x, *p.transfer)
    return x.contiguous()


def first_layer_leaders(states: list[VariantState]) -> list[int]:
    """For a constant input current (and no floor statistics, and a later layer to read the
    spikes): variant k's first layer spikes as those of variant ``leaders[k]`` <= k, the first
    whose first-layer neuron differs from k's at most in the floor; its IF update is run once.

    Exact: with a constant input x per neuron (after gain, transfer) and v starting at v0 (the
    same for both), x >= 0 never meets a floor (the floor binds only under negative input,
    ``cosim.neuron``), and x < 0 never fires (v <= v0 < threshold). The spikes and counts are the
    floor's; only the membranes (never read afterwards) differ."""
    leaders = []
    for k, st in enumerate(states):
        leaders.append(next(j for j in range(k + 1)
                            if j == k or _same_but_floor(states[j].params[0], st.params[0])))
    return leaders


def _same_but_floor(a: StepParams, b: StepParams) -> bool:
    def eq(x: object, y: object) -> bool:
        if isinstance(x, Tensor) or isinstance(y, Tensor):
            return isinstance(x, Tensor) and isinstance(y, Tensor) and x.shape == y.shape \
                and torch.equal(x, y)
        if isinstance(x, tuple) and isinstance(y, tuple):
            return len(x) == len(y) and all(eq(p, q) for p, q in zip(x, y, strict=True))
        return x == y
    return all(eq(getattr(a, f), getattr(b, f))
               for f in ("threshold", "gain", "transfer", "reset", "refractory", "v0"))


def groups(spikes: list[Tensor | Bits]) -> list[list[int]]:
    """Variants with equal spikes (the same bits or values), in order of first appearance.

    A sum of each variant's words (or values) is compared first: K sums, then a full
    comparison only where two sums agree (instead of up to K (K - 1) / 2 full comparisons)."""
    def data(k: int) -> Tensor:
        s = spikes[k]
        return s.words if isinstance(s, Bits) else s

    sums: dict[int, float | int] = {}  # computed on first need: none where spikes are shared

    def key(k: int) -> float | int:
        if k not in sums:
            sums[k] = _fingerprint(data(k))
        return sums[k]

    out: list[list[int]] = []
    for k, s in enumerate(spikes):
        for g in out:
            j = g[0]
            if spikes[j] is s or (key(j) == key(k) and torch.equal(data(j), data(k))):
                g.append(k)
                break
        else:
            out.append([k])
    return out


def _fingerprint(a: Tensor) -> float | int:
    return a.sum().item()  # int64 words wrap; 0/1 values sum exactly


def concat(spikes: list[Tensor | Bits]) -> Tensor | Bits:
    """The rows of several variants' spikes, one after the other (one synaptic call for all)."""
    if len(spikes) == 1:
        return spikes[0]
    if isinstance(spikes[0], Bits):
        return Bits(torch.cat([s.words for s in spikes]), spikes[0].n)
    return torch.cat(spikes)


def unique_rows(x: Bits) -> tuple[Bits, Tensor] | None:
    """The distinct rows of ``x`` and, for each row, the index of its copy among them; None
    when fewer than 1 in 8 rows repeat (not worth it). Rows are told apart by a hash and then
    compared in full (a collision gives None, never a wrong row)."""
    w = x.words
    if w.shape[0] < 2:
        return None
    key = (w * _mixer(w.shape[1])).sum(1)  # int64, wrapping: a hash of each row
    uniq, inv = torch.unique(key, return_inverse=True)
    if uniq.numel() * 8 > w.shape[0] * 7:
        return None
    first = torch.full((uniq.numel(),), w.shape[0], dtype=torch.int64)
    first.scatter_reduce_(0, inv, torch.arange(w.shape[0]), reduce="amin")
    rows = w[first]
    if not torch.equal(rows[inv], w):
        return None
    return Bits(rows, x.n), inv


def _mixer(n: int) -> Tensor:
    m = _MIXERS.get(n)
    if m is None:
        g = torch.Generator().manual_seed(n)
        m = torch.randint(-2**62, 2**62, (n,), generator=g, dtype=torch.int64) | 1
        _MIXERS[n] = m
    return m


_MIXERS: dict[int, Tensor] = {}


def conv_if_multi(runner: object, spk: Tensor | Bits, states: list[VariantState], i: int,
                  tb: int, b: int) -> list[Bits]:
    """Event-driven conv of ``spk`` fused with layer i's IF update of every variant in
    ``states`` (they share these input spikes): the current is computed once."""
    args = [st.conv_args(i, tb, b) for st in states]
    flags = [int(f) for a in args for f in a[5]]
    runner.ext.conv_if_multi(runner._words(spk), runner.w_t, runner.w_tail, runner.bias,
                             runner.geo, [a[0] for a in args], [a[1] for a in args],
                             [a[2] for a in args], [a[3] for a in args], [a[4] for a in args],
                             flags, [a[6] for a in args])
    return [Bits(a[6], st.sizes_n(i)) for a, st in zip(args, states, strict=True)]


_NO_PREDS = torch.zeros(0, dtype=torch.int16)

__all__ = ["VariantState", "concat", "conv_if_multi", "first_layer_leaders", "groups",
           "unique_rows"]
