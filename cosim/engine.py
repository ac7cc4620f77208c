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

import torch
from torch import Tensor

from cosim.convert import resolve_shapes
from cosim.engine_parts import (
    MembraneReadout,
    discard_or_empty,
    full_fp32,
    if_block,
    kernel_neuron,
    net_input_fan_out,
    phys_input,
    pick_kernels,
    poisson_spikes,
    state_or_empty,
)
from cosim.engine_setup import SimConfig, check_inputs, layer_params, plan_memory
from cosim.errors import SimulationInputError
from cosim.network import SpikingNetwork
from cosim.result import SimulationResult
from cosim.schedule import Bits, OpsRunner, phys_shape, to_logical, to_phys_param


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
    ``neuron=IFNeuron(lower_bound=..., reset=...)`` (see ``SimConfig.from_keywords``). Without
    ``neuron``, a network with its own model (``net.neuron``, from ``cosim.from_nir``) runs
    with it (its floor/reset replaced by ``lower_bound``/``reset`` where given).

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
        config = SimConfig.from_keywords(getattr(net, "neuron", None), **options)
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
    ext, kernel_note = pick_kernels(cfg.kernels, dev, dtype)
    fan_in = net_input_fan_out(net)
    run = net.to(dev, dtype)
    runners = [OpsRunner(ly.ops, shapes[i - 1] if i else run.input_shape, ly.shape,
                         cfg.schedule, dev, binary=i > 0, ext=ext if i > 0 else None)
               for i, ly in enumerate(run.layers)]
    fused = [ext is not None] * len(params)  # IF update in C++, spikes bit-packed
    nrn = [kernel_neuron(p, dev, dtype) for p in params]
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
    with torch.no_grad(), full_fp32(dev):
        for b0 in range(0, B, b_chunk):
            x = inputs[b0:b0 + b_chunk]
            b = x.shape[0]
            v = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype) for s in shapes]
            r = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=torch.int32)
                 if p.refractory else None for s, p in zip(shapes, params, strict=True)]
            counts = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype) for s in shapes]
            disc = [torch.zeros((b, *phys_shape(s)), device=dev, dtype=dtype)
                    if p.floor is not None and cfg.record_floor else None
                    for s, p in zip(shapes, params, strict=True)]
            r_k = [state_or_empty(t) for t in r]  # the kernels' form: empty = none
            d_k = [discard_or_empty(t) for t in disc]
            bufs = [torch.empty((tb_max * b, (n + 63) // 64), dtype=torch.int64) if fused[i]
                    else torch.empty((tb_max, b, *phys_shape(shapes[i])), device=dev, dtype=dtype)
                    for i, n in enumerate(sizes)]
            readout = MembraneReadout(preds[:, b0:b0 + b]) if preds is not None else None
            if not poisson:
                cur0 = runners[0](phys_input(x, run.input_shape).to(dev))
                in_events[b0:b0 + b] += (x.reshape(b, -1) != 0).double() @ fan_in.double() * T
            for t0 in range(0, T, tb_max):
                tb = min(tb_max, T - t0)
                if poisson:
                    spk_in = poisson_spikes(x, tb, generator)
                    in_events[b0:b0 + b] += spk_in.abs().reshape(tb, b, -1).double().sum(0) @ \
                        fan_in.double()
                    rows = phys_input(spk_in.reshape(tb * b, *x.shape[1:]), run.input_shape)
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
                            runners[i].conv_if(spk, v[i], counts[i], r_k[i], d_k[i], nrn[i],
                                               *flags[i], words)
                            spk = Bits(words, sizes[i])
                            continue
                        nxt = runners[i].current(spk, mode)
                        cur = nxt.reshape(tb, b, *nxt.shape[1:])
                    if fused[i]:
                        words = bufs[i][:tb * b]
                        pv = preds[t0:t0 + tb, b0:b0 + b] \
                            if i == L - 1 and preds is not None else no_preds
                        ext.if_bits(cur, const, v[i], counts[i], r_k[i], d_k[i], nrn[i],
                                    *flags[i], words, pv)
                        spk = Bits(words, sizes[i])
                    else:
                        s = bufs[i][:tb]
                        if_block(cur, const, v[i], r[i], disc[i], params[i], s,
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
        floor_discarded=floor_charge if cfg.record_floor else None,
        floor_hits=floor_hits if cfg.record_floor else None,
        schedule={ly.name: rn.describe() for ly, rn in zip(net.layers, runners, strict=True)}
        | {"chunk_size": b_chunk, "time_block": tb_max,
           "kernels": kernel_note})


_NO_OUT = torch.zeros(0)

__all__ = ["SimConfig", "simulate"]
