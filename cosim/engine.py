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

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from cosim.convert import resolve_shapes
from cosim.engine_setup import SimConfig, check_inputs, layer_params, plan_memory
from cosim.errors import SimulationInputError
from cosim.kernels import load as load_kernels
from cosim.kernels import require as require_kernels
from cosim.kernels import status as kernels_status
from cosim.network import SpikingLayer, SpikingNetwork
from cosim.neuron import StepParams
from cosim.result import SimulationResult
from cosim.schedule import Bits, OpsRunner, phys_shape, to_logical, to_phys_param


def _if_block(cur: Tensor, const: bool, v: Tensor, r: Tensor | None, d: Tensor | None,
              p: StepParams, spikes: Tensor, readout=None) -> None:
    """IF update for ``spikes.shape[0]`` steps; writes 0/1 spikes (tb, b, *phys) in place.

    ``cosim.neuron.if_step`` in place (no temporaries for the state); tested bit for bit
    against it (tests/cosim/test_neuron.py). ``d`` (with a floor): accumulates the charge the
    floor removes, floor - v where v < floor."""
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
            if d is not None:
                d.add_((p.floor - v).clamp_(min=0.0))
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


def simulate(net: SpikingNetwork, inputs: Tensor, config: SimConfig | None = None,
             **options: object) -> SimulationResult:
    """Run the converted network on a batch of inputs for ``config.timesteps`` steps.

    IF semantics per step and layer: ``cosim.neuron.if_step`` (v += input; spike if v >=
    threshold, at most one spike per neuron per step; reset by subtraction or to zero; then
    v = max(v, floor)). Every layer spikes, the output layer too; see ``cosim.result`` for the
    readout.

    Two forms: ``simulate(net, x, SimConfig(timesteps=T, neuron=...))``, or the keywords of
    ``SimConfig`` (``simulate(net, x, timesteps=T, lower_bound=-0.5)``), where ``lower_bound``
    (``None`` = NMP, ``0.0`` = ZMP, negative = floor in threshold units) and ``reset`` stand for
    ``neuron=IFNeuron(lower_bound=..., reset=...)`` (see ``SimConfig.from_keywords``).

    Args:
        net: From ``cosim.convert``.
        inputs: (B, *input_shape) analog inputs.
        config: The settings; or None and ``options`` as keywords.

    Returns:
        A ``SimulationResult``.

    Raises:
        SimulationInputError: a bad argument (naming it and its value), or a memory budget too
            small for the outputs (naming the budget and the need), before any work.
        KernelBuildError: ``kernels=True`` and the compiled kernels are unavailable.
    """
    if config is None:
        config = SimConfig.from_keywords(**options)
    elif options:
        raise SimulationInputError(
            f"pass either a SimConfig or keyword options, got both (config and "
            f"{', '.join(sorted(options))})")
    elif not isinstance(config, SimConfig):
        raise SimulationInputError(f"config must be a cosim.SimConfig, got "
                                   f"{type(config).__name__}")
    return _run(net, inputs, config)


def _run(net: SpikingNetwork, inputs: Tensor, cfg: SimConfig) -> SimulationResult:
    check_inputs(net, inputs, cfg)
    dtype, T = cfg.dtype, cfg.timesteps
    inputs = torch.as_tensor(inputs).detach().to("cpu", dtype)
    if tuple(net.input_shape) != tuple(inputs.shape[1:]) or not net.layers[0].shape:
        net = resolve_shapes(net, tuple(inputs.shape[1:]))
    dev = cfg.torch_device
    params = layer_params(net, cfg.neuron, dev, dtype)
    shapes = [ly.shape for ly in net.layers]
    sizes = [ly.size for ly in net.layers]
    B, L = inputs.shape[0], len(shapes)
    one_d = len(shapes[-1]) == 1
    plan = plan_memory(cfg, B, sizes, sizes[-1], inputs[0].numel(), one_d)
    ext, kernel_note = _kernels(cfg.kernels, dev, dtype)
    fan_in = net_input_fan_out(net)
    run = net.to(dev, dtype)
    runners = [OpsRunner(ly.ops, shapes[i - 1] if i else run.input_shape, ly.shape,
                         cfg.schedule, dev, binary=i > 0, ext=ext if i > 0 else None)
               for i, ly in enumerate(run.layers)]
    fused = [ext is not None] * len(params)  # IF update in C++, spikes bit-packed
    nrn = [_kernel_neuron(p, dev, dtype) for p in params]
    flags = [(p.floor is not None, p.reset == "zero", p.refractory) for p in params]
    tb_max = min(cfg.time_block, T)
    b_chunk = plan.chunk
    count_dtype = torch.int16 if T < 2**15 else torch.int32
    counts_out = [torch.zeros((B, *s), dtype=count_dtype) for s in shapes]
    out_spikes = torch.zeros((T, B, *shapes[-1]), dtype=torch.bool)
    preds = torch.zeros((T, B), dtype=torch.int16) if one_d else None
    no_preds = torch.zeros(0, dtype=torch.int16)
    in_events = torch.zeros(B, dtype=torch.float64)
    syn = [torch.zeros(B, dtype=torch.float64) for _ in range(L)]  # spikes × fan-out
    floor_charge = [torch.zeros(B, dtype=torch.float64) for _ in range(L)]
    floor_hits = [torch.zeros(B, dtype=torch.int64) for _ in range(L)]
    fan_out = [to_phys_param(net.fan_out(i), s).reshape(-1).to(dev, torch.float64)
               for i, s in enumerate(shapes)]
    poisson, generator = cfg.encoding == "poisson", cfg.generator
    with torch.no_grad(), _full_fp32(dev):
        for b0 in range(0, B, b_chunk):
            x = inputs[b0:b0 + b_chunk]
            b = x.shape[0]
            v = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype) for s in shapes]
            r = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=torch.int32)
                 if p.refractory else None for s, p in zip(shapes, params, strict=True)]
            counts = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype) for s in shapes]
            disc = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype)
                    if p.floor is not None else None for s, p in zip(shapes, params, strict=True)]
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
                            runners[i].conv_if(spk, v[i], counts[i], _r(r[i]), _d(disc[i]),
                                               nrn[i], *flags[i], words)
                            spk = Bits(words, sizes[i])
                            continue
                        nxt = runners[i].current(spk, mode)
                        cur = nxt.reshape(tb, b, *nxt.shape[1:])
                    if fused[i]:
                        words = bufs[i][:tb * b]
                        pv = preds[t0:t0 + tb, b0:b0 + b] \
                            if i == L - 1 and preds is not None else no_preds
                        ext.if_bits(cur, const, v[i], counts[i], _r(r[i]), _d(disc[i]),
                                    nrn[i], *flags[i], words, pv)
                        spk = Bits(words, sizes[i])
                    else:
                        s = bufs[i][:tb]
                        _if_block(cur, const, v[i], r[i], disc[i], params[i], s,
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
                if disc[i] is not None:  # in thresholds; neurons that hit the floor
                    th = params[i].threshold
                    th = th.double() if isinstance(th, Tensor) else th
                    floor_charge[i][b0:b0 + b] = (disc[i].double() / th).reshape(b, -1).sum(1).cpu()
                    floor_hits[i][b0:b0 + b] = (disc[i] > 0).reshape(b, -1).sum(1).cpu()
    ann = None
    if cfg.record_ann:
        acts = [net.ann_forward(inputs[i:i + b_chunk]) for i in range(0, B, b_chunk)]
        ann = [torch.cat([a[j] for a in acts]) for j in range(L)]
    return SimulationResult(
        timesteps=T, output_counts=counts_out[-1], spike_counts=counts_out,
        output_spikes=out_spikes, predictions_membrane=preds, output_scale=net.output_scale,
        layer_names=tuple(ly.name for ly in net.layers), layer_sizes=tuple(sizes),
        synaptic_events=syn, input_synaptic_events=in_events, ann_activations=ann,
        floor_discarded=floor_charge, floor_hits=floor_hits,
        schedule={ly.name: rn.describe() for ly, rn in zip(net.layers, runners, strict=True)}
        | {"chunk_size": b_chunk, "time_block": tb_max,
           "kernels": kernel_note})


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


def _kernels(kernels: bool | None, dev: torch.device,
             dtype: torch.dtype) -> tuple[object | None, str]:
    """The compiled module (or None) and what ``SimulationResult.schedule["kernels"]`` says."""
    if kernels is False:
        return None, "torch only"
    usable = dev.type == "cpu" and dtype == torch.float32
    if kernels and not usable:
        raise SimulationInputError(
            f"kernels=True needs device='cpu' and dtype=torch.float32, got {dev.type!r}, "
            f"{dtype}; use kernels=None")
    if not usable:
        return None, f"torch only (the kernels need CPU and float32; here {dev.type}, {dtype})"
    ext = require_kernels() if kernels else load_kernels()  # a failed build: KernelBuildError
    return ext, kernels_status()                             # or a warning, and recorded here


def _as_tensor(value: float | Tensor, dev: torch.device, dtype: torch.dtype) -> Tensor:
    if isinstance(value, Tensor):
        return value.contiguous()
    return torch.tensor([value], device=dev, dtype=dtype)


def _kernel_neuron(p: StepParams, dev: torch.device, dtype: torch.dtype) -> list[Tensor]:
    """threshold, floor, gain, transfer xs, ys for ``cosim.kernels`` (empty = identity)."""
    none = torch.zeros(0, device=dev, dtype=dtype)
    xs, ys = p.transfer if p.transfer is not None else (none, none)
    return [_as_tensor(p.threshold, dev, dtype),
            _as_tensor(p.floor if p.floor is not None else 0.0, dev, dtype),
            none if p.gain is None else _as_tensor(p.gain, dev, dtype), xs, ys]


def _r(r: Tensor | None) -> Tensor:
    return r if r is not None else _NO_STATE


def _d(d: Tensor | None) -> Tensor:
    return d if d is not None else _NO_OUT


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


__all__ = ["SimConfig", "simulate"]
