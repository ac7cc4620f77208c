"""The IF network engine: ``simulate`` runs a ``SpikingNetwork`` for T steps, exactly.

Order of work (all equal to a plain step loop over t, then layers, then neurons):

- the batch is cut into chunks that fit ``memory_budget_bytes``;
- the first layer's current is computed once per chunk (constant-current input);
- time is cut into blocks of ``time_block`` steps; within a block, layer by layer: the IF
  update (``cosim.neuron``) runs step by step over the block, then the next layer's current
  for the whole block comes from one call of its synaptic ops (``cosim.schedule``: dense, or
  event-driven, chosen per layer by measurement). Layer l+1 at step t only needs layer l's
  spikes at step t, so this order gives the step loop's spikes exactly.
- with the compiled kernels (``cosim.kernels``; CPU, float32), every layer's IF update (gain,
  transfer curve, refractoriness included) runs in C++ and its spikes go to the next layer
  bit-packed; an event-driven Conv2d runs fused with the IF update of the layer it feeds
  (sample by sample, output row by output row: its current never goes to memory), and the
  output layer's per-step readout is computed with its IF update.

State is updated in place inside the engine (its buffers never leave it). Neuron state and
spikes are stored channels-last, (H, W, C) per sample, for the convolutions' fast path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

from cosim.convert import resolve_shapes
from cosim.engine_setup import LayerParams, check_args, layer_params
from cosim.errors import SimulationInputError
from cosim.kernels import load as load_kernels
from cosim.kernels import status as kernels_status
from cosim.network import SpikingLayer, SpikingNetwork
from cosim.neuron import IFNeuron, Reset
from cosim.result import SimulationResult
from cosim.schedule import Bits, OpsRunner, Schedule, phys_shape, to_logical, to_phys_param


def _if_block(cur: Tensor, const: bool, v: Tensor, r: Tensor | None, p: LayerParams,
              spikes: Tensor, readout=None) -> None:
    """IF update for ``spikes.shape[0]`` steps; writes 0/1 spikes (tb, b, *phys) in place."""
    for t in range(spikes.shape[0]):
        x = cur if const else cur[t]
        if p.gain is not None:
            x = x * p.gain
        if p.transfer is not None:
            x = p.apply_transfer(x)
        s = spikes[t]
        if r is not None:
            active = r == 0
            x = torch.where(active, x, 0.0)  # refractory: the input is discarded
        v.add_(x)
        torch.ge(v, p.threshold, out=s)
        if r is not None:
            s.mul_(active)
        if p.reset == "zero":
            v.mul_(1.0 - s)
        elif isinstance(p.threshold, Tensor):
            v.addcmul_(s, p.threshold, value=-1.0)
        else:
            v.sub_(s, alpha=p.threshold)
        if p.floor is not None:
            if isinstance(p.floor, Tensor):
                torch.maximum(v, p.floor, out=v)
            else:
                v.clamp_(min=p.floor)
        if r is not None:
            r.sub_(1).clamp_(min=0).masked_fill_(s.bool(), p.refractory)
        if readout is not None:
            readout(s, v)


class _MembraneReadout:
    """Per-step class prediction: most spikes so far, ties by membrane potential."""

    def __init__(self, preds: Tensor) -> None:
        self.preds, self.t, self.cum = preds, 0, None

    def __call__(self, s: Tensor, v: Tensor) -> None:
        self.cum = s.clone() if self.cum is None else self.cum.add_(s)
        best = self.cum.max(1, keepdim=True).values
        key = torch.where(self.cum == best, v, float("-inf"))
        self.preds[self.t] = key.argmax(1).to(self.preds.dtype).cpu()
        self.t += 1


def simulate(net: SpikingNetwork, inputs: Tensor, *, timesteps: int,
             lower_bound: float | None = None, reset: Reset = "subtract",
             neuron: IFNeuron | Sequence[IFNeuron] | None = None,
             device: torch.device | str | None = None, encoding: str = "current",
             generator: torch.Generator | None = None, record_ann: bool = False,
             schedule: Schedule = "auto", time_block: int = 8,
             memory_budget_bytes: int = 1 << 30, chunk_size: int | None = None,
             dtype: torch.dtype = torch.float32, kernels: bool | None = None
             ) -> SimulationResult:
    """Run the converted network on a batch of inputs for ``timesteps`` steps.

    IF semantics per step and layer: v += input; spike if v >= threshold (at most one spike
    per neuron per step); reset by subtraction (default) or to zero; then v = max(v, floor).
    Every layer spikes, the output layer too; see ``cosim.result`` for the readout.

    Args:
        net: From ``cosim.convert``.
        inputs: (B, *input_shape) analog inputs.
        timesteps: T >= 1.
        lower_bound: ``None`` = NMP (no floor), ``0.0`` = ZMP, negative = floor in threshold
            units. Ignored in favour of ``neuron`` when that is given (then it must be left at
            its default or agree with it).
        reset: ``"subtract"`` or ``"zero"`` (same rule as ``lower_bound`` with ``neuron``).
        neuron: An ``IFNeuron`` for every spiking layer, or one per layer; default
            ``net.neuron`` (its floor/reset replaced by ``lower_bound``/``reset`` when given),
            else the ideal IF.
        device: Where to run (e.g. ``"cuda"``); default CPU. Results come back on the CPU.
        encoding: ``"current"`` (input applied as a constant current every step) or
            ``"poisson"`` (inputs in [-1, 1] give spikes of sign(x) with probability |x| per
            step; draws: for each batch chunk in order, each step in order, one
            ``torch.rand((chunk, *input_shape), generator=generator)`` on the CPU).
        generator: Required for ``"poisson"``: a seeded ``torch.Generator`` (CPU).
        record_ann: Also store every layer's normalized ANN activation (for correlations).
        schedule: ``"auto"`` (measured per layer), ``"dense"`` or ``"sparse"``.
        time_block: Steps per block (the unit of batched synaptic work).
        memory_budget_bytes: Bound on the engine's working memory (sets the chunk size).
        chunk_size: Samples per chunk; overrides the budget.
        dtype: Floating type of state and weights (float32 default).
        kernels: Use the compiled CPU kernels (``cosim.kernels``): ``None`` = when available
            (CPU, float32), ``True`` = required, ``False`` = pure torch.

    Returns:
        A ``SimulationResult``.

    Raises:
        SimulationInputError: a bad argument, naming it and its value.
    """
    check_args(net, inputs, timesteps=timesteps, lower_bound=lower_bound, reset=reset,
               encoding=encoding, generator=generator, schedule=schedule,
               time_block=time_block, memory_budget_bytes=memory_budget_bytes,
               chunk_size=chunk_size)
    inputs = torch.as_tensor(inputs).detach().to("cpu", dtype)
    if tuple(net.input_shape) != tuple(inputs.shape[1:]) or not net.layers[0].shape:
        net = resolve_shapes(net, tuple(inputs.shape[1:]))
    dev = torch.device(device) if device is not None else torch.device("cpu")
    ext = _kernels(kernels, dev, dtype)
    params = layer_params(net, neuron, lower_bound, reset, dev, dtype)
    fan_in = net_input_fan_out(net)
    run = net.to(dev, dtype)
    shapes = [ly.shape for ly in run.layers]
    runners = [OpsRunner(ly.ops, shapes[i - 1] if i else run.input_shape, ly.shape, schedule,
                         dev, binary=i > 0, ext=ext if i > 0 else None)
               for i, ly in enumerate(run.layers)]
    fused = [ext is not None] * len(params)  # IF update in C++, spikes bit-packed
    nrn = [_kernel_neuron(p, dev, dtype) for p in params]
    flags = [(p.floor is not None, p.reset == "zero", p.refractory) for p in params]
    B, T, L = inputs.shape[0], timesteps, len(shapes)
    tb_max = min(time_block, T)
    sizes = [ly.size for ly in run.layers]
    per_sample = sum(sizes) * (12 + 9 * tb_max) + 4 * inputs[0].numel() * (1 + tb_max)
    b_chunk = chunk_size or max(1, min(B, memory_budget_bytes // per_sample))
    count_dtype = torch.int16 if T < 2**15 else torch.int32
    counts_out = [torch.zeros((B, *s), dtype=count_dtype) for s in shapes]
    out_spikes = torch.zeros((T, B, *shapes[-1]), dtype=torch.bool)
    preds = torch.zeros((T, B), dtype=torch.int16) if len(shapes[-1]) == 1 else None
    no_preds = torch.zeros(0, dtype=torch.int16)
    in_events = torch.zeros(B, dtype=torch.float64)
    syn = [torch.zeros(B, dtype=torch.float64) for _ in range(L)]  # spikes × fan-out
    fan_out = [to_phys_param(net.fan_out(i), s).reshape(-1).to(dev, torch.float64)
               for i, s in enumerate(shapes)]
    poisson = encoding == "poisson"
    with torch.no_grad(), _full_fp32(dev):
        for b0 in range(0, B, b_chunk):
            x = inputs[b0:b0 + b_chunk]
            b = x.shape[0]
            v = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype) for s in shapes]
            r = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=torch.int32)
                 if p.refractory else None for s, p in zip(shapes, params, strict=True)]
            counts = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype) for s in shapes]
            bufs = [torch.empty((tb_max * b, (n + 63) // 64), dtype=torch.int64) if fused[i]
                    else torch.empty((tb_max, b, *phys_shape(shapes[i])), device=dev, dtype=dtype)
                    for i, n in enumerate(sizes)]
            readout = _MembraneReadout(preds[:, b0:b0 + b]) if preds is not None else None
            if not poisson:
                cur0 = runners[0](_phys_input(x, run.input_shape).to(dev))
                in_events[b0:b0 + b] += (x.reshape(b, -1) != 0).double() @ fan_in.double() * T
            for t0 in range(0, T, tb_max):
                tb = min(tb_max, T - t0)
                if poisson:
                    spk_in = _poisson(x, tb, generator)
                    in_events[b0:b0 + b] += spk_in.abs().reshape(tb, b, -1).double().sum(0) @ \
                        fan_in.double()
                    rows = _phys_input(spk_in.reshape(tb * b, *x.shape[1:]), run.input_shape)
                    cur = runners[0](rows.to(dev)).reshape(tb, b, *phys_shape(shapes[0]))
                else:
                    cur = cur0
                spk: Tensor | Bits | None = None  # the previous layer's spikes, (tb * b) rows
                for i in range(L):
                    const = i == 0 and not poisson
                    if i > 0:
                        mode = runners[i].pick(spk)
                        if fused[i] and mode == "sparse" and runners[i].kind == "conv" \
                                and not (i == L - 1 and preds is not None):
                            words = bufs[i][:tb * b]
                            runners[i].conv_if(spk, v[i], counts[i], _r(r[i]), nrn[i], *flags[i],
                                               words)
                            spk = Bits(words, sizes[i])
                            continue
                        nxt = runners[i].current(spk, mode)
                        cur = nxt.reshape(tb, b, *nxt.shape[1:])
                    if fused[i]:
                        words = bufs[i][:tb * b]
                        pv = preds[t0:t0 + tb, b0:b0 + b] \
                            if i == L - 1 and preds is not None else no_preds
                        ext.if_bits(cur, const, v[i], counts[i], _r(r[i]), nrn[i], *flags[i],
                                    words, pv)
                        spk = Bits(words, sizes[i])
                    else:
                        s = bufs[i][:tb]
                        _if_block(cur, const, v[i], r[i], params[i], s,
                                  readout if i == L - 1 else None)
                        counts[i] += s.sum(0)
                        spk = s.reshape(tb * b, *s.shape[2:])
                if isinstance(spk, Bits):
                    spk = ext.unpack_bits(spk.words, spk.n, _NO_OUT).reshape(
                        tb * b, *phys_shape(shapes[-1]))
                out_spikes[t0:t0 + tb, b0:b0 + b] = to_logical(spk, shapes[-1]).reshape(
                    tb, b, *shapes[-1]).to("cpu", torch.bool)
            for i in range(L):
                counts_out[i][b0:b0 + b] = to_logical(counts[i], shapes[i]).to("cpu",
                                                                               count_dtype)
                syn[i][b0:b0 + b] = (counts[i].reshape(b, -1).double()
                                     @ fan_out[i]).cpu()
    ann = None
    if record_ann:
        acts = [net.ann_forward(inputs[i:i + b_chunk]) for i in range(0, B, b_chunk)]
        ann = [torch.cat([a[j] for a in acts]) for j in range(L)]
    return SimulationResult(
        timesteps=T, output_counts=counts_out[-1], spike_counts=counts_out,
        output_spikes=out_spikes, predictions_membrane=preds, output_scale=net.output_scale,
        layer_names=tuple(ly.name for ly in net.layers), layer_sizes=tuple(sizes),
        synaptic_events=syn, input_synaptic_events=in_events, ann_activations=ann,
        schedule={ly.name: rn.describe() for ly, rn in zip(net.layers, runners, strict=True)}
        | {"chunk_size": b_chunk, "time_block": tb_max,
           "kernels": kernels_status() if ext is not None or kernels is None else "torch only"})


@contextmanager
def _full_fp32(dev: torch.device) -> Iterator[None]:
    """On CUDA, no TF32 in convolutions or matmuls while simulating.

    torch lets cuDNN convolutions use TF32 (10-bit mantissa) by default; that changes currents
    far beyond summation order. Restored afterwards.
    """
    if dev.type != "cuda":
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def _kernels(kernels: bool | None, dev: torch.device, dtype: torch.dtype) -> object | None:
    if kernels is False:
        return None
    usable = dev.type == "cpu" and dtype == torch.float32
    ext = load_kernels() if usable else None
    if kernels and ext is None:
        raise SimulationInputError(
            f"kernels=True but the compiled kernels are unavailable here ({kernels_status()}; "
            f"they need device='cpu' and float32, got {dev.type!r}, {dtype}); use kernels=None")
    return ext


def _as_tensor(value: float | Tensor, dev: torch.device, dtype: torch.dtype) -> Tensor:
    if isinstance(value, Tensor):
        return value.contiguous()
    return torch.tensor([value], device=dev, dtype=dtype)


def _kernel_neuron(p: LayerParams, dev: torch.device, dtype: torch.dtype) -> list[Tensor]:
    """threshold, floor, gain, transfer xs, ys for ``cosim.kernels`` (empty = identity)."""
    none = torch.zeros(0, device=dev, dtype=dtype)
    xs, ys = p.transfer if p.transfer is not None else (none, none)
    return [_as_tensor(p.threshold, dev, dtype),
            _as_tensor(p.floor if p.floor is not None else 0.0, dev, dtype),
            none if p.gain is None else _as_tensor(p.gain, dev, dtype), xs, ys]


def _r(r: Tensor | None) -> Tensor:
    return r if r is not None else _NO_STATE


_NO_STATE = torch.zeros(0, dtype=torch.int32)
_NO_OUT = torch.zeros(0)


def _phys_input(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    return (x.permute(0, 2, 3, 1) if len(shape) == 3 else x).contiguous()


def _poisson(x: Tensor, tb: int, generator: torch.Generator) -> Tensor:
    p, sign = x.abs(), torch.sign(x)
    return torch.stack([sign * (torch.rand(x.shape, generator=generator, dtype=x.dtype) < p)
                        for _ in range(tb)])


def net_input_fan_out(net: SpikingNetwork) -> Tensor:
    """Synapses leaving each input element (flattened), through the first layer's ops."""
    probe = SpikingNetwork(layers=(SpikingLayer(name="input", ops=(), shape=net.input_shape),
                         net.layers[0]), input_shape=net.input_shape)
    return probe.fan_out(0).reshape(-1)


__all__ = ["simulate"]
