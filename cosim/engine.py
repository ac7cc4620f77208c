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
- on a CUDA device (no compiled kernels there), a Conv2d fed by spikes can run event-driven in
  Triton (``cosim.triton_events``), chosen like the CPU's by ``schedule``; Linear uses
  ``embedding_bag`` over the active indices.
- K neuron variants (``cosim.simulate_variants``) share one pass: each has its own state
  (``cosim.engine_variant``); a layer's current is computed once for the variants whose spikes
  into it are equal, the other variants' rows go into the same synaptic call, and an
  event-driven Conv2d runs fused with every variant's IF update (``conv_if_multi``).

State is updated in place inside the engine (its buffers never leave it). Neuron state and
spikes are stored channels-last, (H, W, C) per sample, for the convolutions' fast path.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cosim.convert import resolve_shapes
from cosim.engine_counts import StepCounts
from cosim.engine_parts import (
    full_fp32,
    net_input_fan_out,
    phys_input,
    pick_kernels,
    poisson_spikes,
)
from cosim.engine_setup import SimConfig, check_inputs, layer_params, plan_memory
from cosim.engine_variant import (
    VariantState,
    concat,
    conv_if_multi,
    first_layer_leaders,
    groups,
    unique_rows,
)
from cosim.errors import SimulationInputError
from cosim.network import SpikingNetwork
from cosim.result import SimulationResult
from cosim.schedule import Bits, OpsRunner, phys_shape, to_logical, to_phys_param
from cosim.triton_events import describe as event_convs_note
from cosim.triton_events import usable as event_convs_usable


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
    return _run(net, inputs, resolve_config(config, options, getattr(net, "neuron", None)))[0]


def resolve_config(config: SimConfig | None, options: dict[str, object],
                   neuron: object) -> SimConfig:
    """``config``, or a ``SimConfig`` from keyword ``options`` (with ``neuron`` as the default
    neuron model) when it is None; passing both, or a config of another type, is refused."""
    if config is None:
        return SimConfig.from_keywords(neuron, **options)
    if options:
        raise SimulationInputError(
            f"pass either a SimConfig or keyword options, got both (config and "
            f"{', '.join(sorted(options))})")
    if not isinstance(config, SimConfig):
        raise SimulationInputError(f"config must be a cosim.SimConfig, got "
                                   f"{type(config).__name__}")
    return config


def _run(net: SpikingNetwork, inputs: Tensor, cfg: SimConfig,
         neurons: list | None = None) -> list[SimulationResult]:
    """The simulation of ``cfg`` for each neuron variant in ``neurons`` (default: the one of
    ``cfg``), in one pass over the inputs: one result per variant (``cosim.variants``)."""
    check_inputs(net, inputs, cfg)
    neurons = [cfg.neuron] if neurons is None else neurons
    dtype, T, K = cfg.dtype, cfg.timesteps, len(neurons)
    inputs = torch.as_tensor(inputs).detach().to("cpu", dtype)
    if tuple(net.input_shape) != tuple(inputs.shape[1:]) or not net.layers[0].shape:
        net = resolve_shapes(net, tuple(inputs.shape[1:]))
    dev = cfg.torch_device
    states = [VariantState(layer_params(net, n, dev, dtype), dev, dtype, cfg.record_floor)
              for n in neurons]
    shapes = [ly.shape for ly in net.layers]
    sizes = [ly.size for ly in net.layers]
    B, L = inputs.shape[0], len(shapes)
    one_d = len(shapes[-1]) == 1
    cps = [t for t in cfg.count_steps if t < T]  # counts after these steps too (T: the result)
    plan = plan_memory(cfg, B, sizes, sizes[-1], inputs[0].numel(), one_d, variants=K,
                       checkpoints=len(cps))
    ext, kernel_note = pick_kernels(cfg.kernels, dev, dtype)
    fan_in = net_input_fan_out(net)
    run = net.to(dev, dtype)
    events = ext is None and event_convs_usable(dev)  # Triton's event-driven Conv2d (CUDA)
    runners = [OpsRunner(ly.ops, shapes[i - 1] if i else run.input_shape, ly.shape,
                         cfg.schedule, dev, binary=i > 0, ext=ext if i > 0 else None,
                         events=events and i > 0)
               for i, ly in enumerate(run.layers)]
    fused = [ext is not None] * L  # IF update in C++, spikes bit-packed
    tb_max = min(cfg.time_block, T)
    b_chunk = plan.chunk
    count_dtype = torch.int16 if T < 2**15 else torch.int32
    counts_out = [[torch.zeros((B, *s), dtype=count_dtype) for s in shapes] for _ in states]
    out_spikes = [torch.zeros((T, B, *shapes[-1]), dtype=torch.bool) for _ in states]
    preds = [torch.zeros((T, B), dtype=torch.int16) if one_d else None for _ in states]
    in_events = torch.zeros(B, dtype=torch.float64)
    syn = [[torch.zeros(B, dtype=torch.float64) for _ in range(L)] for _ in states]
    floor_charge = [[torch.zeros(B, dtype=torch.float64) for _ in range(L)] for _ in states]
    floor_hits = [[torch.zeros(B, dtype=torch.int64) for _ in range(L)] for _ in states]
    fan_out = [to_phys_param(net.fan_out(i), s).reshape(-1).to(dev, torch.float64)
               for i, s in enumerate(shapes)]
    poisson, generator = cfg.encoding == "poisson", cfg.generator
    at = StepCounts(cps, K, B, shapes, count_dtype, fan_out) if cps else None
    lead0 = first_layer_leaders(states) if not poisson and L > 1 and not cfg.record_floor \
        else list(range(K))  # variant k's first-layer spikes are those of lead0[k]
    with torch.no_grad(), full_fp32(dev):
        for b0 in range(0, B, b_chunk):
            x = inputs[b0:b0 + b_chunk]
            b = x.shape[0]
            for k, st in enumerate(states):
                st.start_chunk(b, shapes, sizes, fused, tb_max,
                               preds[k][:, b0:b0 + b] if one_d else None)
            if not poisson:
                cur0 = runners[0](phys_input(x, run.input_shape).to(dev))
                in_events[b0:b0 + b] += (x.reshape(b, -1) != 0).double() @ fan_in.double() * T
                if at is not None:
                    at.input_events(x, fan_in, b0)
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
                spk: list[Tensor | Bits] = [None] * K  # each variant's spikes, (tb * b) rows
                snap = at.in_block(t0, tb) if at is not None else []

                def take(k: int, i: int) -> None:  # the counts after the steps in ``snap``
                    cnt = states[lead0[k]].counts[0] if i == 0 else states[k].counts[i]
                    at.take(k, i, cnt, spk[k], ext if fused[i] else None, snap, t0, tb, b0, b)
                for i in range(L):
                    const, last = i == 0 and not poisson, i == L - 1
                    grp, curs = [list(range(K))], [cur]
                    if i > 0:
                        grp = groups(spk)
                        mode = runners[i].pick(spk[grp[0][0]])
                        if fused[i] and mode == "sparse" and runners[i].kind == "conv" \
                                and not (last and one_d):
                            for g in grp:
                                out = conv_if_multi(runners[i], spk[g[0]],
                                                    [states[k] for k in g], i, tb, b)
                                for k, o in zip(g, out, strict=True):
                                    spk[k] = o
                                    if snap:
                                        take(k, i)
                            continue
                        inp = concat([spk[g[0]] for g in grp])
                        uq = unique_rows(inp) if len(grp) > 1 and mode == "sparse" and \
                            isinstance(inp, Bits) else None  # per-row sums: exact either way
                        nxt = runners[i].current(inp, mode) if uq is None else \
                            runners[i].current(uq[0], mode)[uq[1]]
                        nxt = nxt.reshape(len(grp), tb, b, *nxt.shape[1:])
                        curs = list(nxt.unbind(0))
                    for g, c in zip(grp, curs, strict=True):
                        for k in g:
                            if i == 0 and lead0[k] != k:
                                spk[k] = spk[lead0[k]]
                            else:
                                spk[k] = states[k].update(ext if fused[i] else None, i, c,
                                                          const, tb, b, t0, last)
                            if snap:
                                take(k, i)
                for k, s in enumerate(spk):
                    if isinstance(s, Bits):
                        s = ext.unpack_bits(s.words, s.n, _NO_OUT).reshape(
                            tb * b, *phys_shape(shapes[-1]))
                    out_spikes[k][t0:t0 + tb, b0:b0 + b] = to_logical(s, shapes[-1]).reshape(
                        tb, b, *shapes[-1]).to("cpu", torch.bool)
            for k, st in enumerate(states):
                for i in range(L):
                    cnt = states[lead0[k]].counts[0] if i == 0 else st.counts[i]
                    counts_out[k][i][b0:b0 + b] = to_logical(cnt, shapes[i]).to(
                        "cpu", count_dtype)
                    syn[k][i][b0:b0 + b] = (cnt.reshape(b, -1).double()
                                            @ fan_out[i]).cpu()
                    if st.disc[i] is not None:  # in thresholds; neurons that hit the floor
                        th = st.params[i].threshold
                        th = th.double() if isinstance(th, Tensor) else th
                        floor_charge[k][i][b0:b0 + b] = (st.disc[i].double() / th).reshape(
                            b, -1).sum(1).cpu()
                        floor_hits[k][i][b0:b0 + b] = (st.disc[i] > 0).reshape(b, -1).sum(1).cpu()
    ann = None
    if cfg.record_ann:
        acts = [net.ann_forward(inputs[i:i + b_chunk]) for i in range(0, B, b_chunk)]
        ann = [torch.cat([a[j] for a in acts]) for j in range(L)]
    schedule = {ly.name: rn.describe() for ly, rn in zip(net.layers, runners, strict=True)} \
        | {"chunk_size": b_chunk, "time_block": tb_max, "kernels": kernel_note,
           "event_convs": event_convs_note(dev) if events else "none"} \
        | ({"variants": K} if K > 1 else {})
    return [SimulationResult(
        timesteps=T, output_counts=counts_out[k][-1], spike_counts=counts_out[k],
        output_spikes=out_spikes[k], predictions_membrane=preds[k],
        output_scale=net.output_scale, layer_names=tuple(ly.name for ly in net.layers),
        layer_sizes=tuple(sizes), synaptic_events=syn[k],
        input_synaptic_events=in_events if k == 0 else in_events.clone(),
        ann_activations=ann, floor_discarded=floor_charge[k] if cfg.record_floor else None,
        floor_hits=floor_hits[k] if cfg.record_floor else None, schedule=dict(schedule),
        counts_at=at.result(k) if at is not None else None)
        for k in range(K)]


_NO_OUT = torch.zeros(0)

__all__ = ["SimConfig", "simulate"]
