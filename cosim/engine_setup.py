"""``SimConfig`` (the validated settings of one ``simulate`` call), the input checks that need
the network, the per-layer neuron parameters, and the memory plan checked before allocating."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

from cosim.errors import SimulationInputError
from cosim.network import SpikingNetwork
from cosim.neuron import RESETS, IFNeuron, StepParams
from cosim.schedule import SCHEDULES, Schedule, to_phys_param

ENCODINGS: tuple[str, ...] = ("current", "poisson")


def _int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SimulationInputError(f"{name} must be an int >= {minimum}, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Everything ``cosim.simulate`` needs besides the network and the inputs (validated here).

    Attributes:
        timesteps: T >= 1.
        neuron: An ``IFNeuron`` for every spiking layer, or one per layer (a tuple); None =
            the network's own model (``net.neuron``, e.g. from ``cosim.from_nir``), else the
            ideal IF. The floor (``IFNeuron.lower_bound``) and the reset live here only.
        device: Where to run (e.g. ``"cuda"``); None = CPU. Results come back on the CPU.
        encoding: ``"current"`` (input applied as a constant current every step) or
            ``"poisson"`` (inputs in [-1, 1] give spikes of sign(x) with probability |x| per
            step; draws: for each batch chunk in order, each step in order, one
            ``torch.rand((chunk, *input_shape), generator=generator)`` on the CPU).
        generator: Required for ``"poisson"``: a seeded CPU ``torch.Generator``.
        record_ann: Also store every layer's normalized ANN activation (for correlations).
        record_floor: Also keep, per layer with a floor, the charge the floor discards and the
            neurons that hit it (``SimulationResult.floor_charge`` / ``floor_hit_fraction``;
            one more float of state per neuron, about 5% slower with the kernels).
        schedule: ``"auto"`` (measured per layer), ``"dense"`` or ``"sparse"``.
        time_block: Steps per block (the unit of batched synaptic work).
        memory_budget_bytes: Bound on the engine's memory: the output buffers plus the working
            memory of one chunk must fit (checked before allocating); sets the chunk size.
        chunk_size: Samples per chunk; overrides the budget's choice.
        dtype: Floating type of state and weights.
        kernels: The compiled CPU kernels (``cosim.kernels``): None = when available (CPU,
            float32; a failed build is warned about and recorded in the result), True =
            required (``KernelBuildError`` if they do not build), False = pure torch.
        count_steps: Steps t (1 <= t <= timesteps; constant-current input) after which every
            layer's spike counts and events are also kept: ``SimulationResult.at_step(t)`` is
            what a run to t gives (``cosim.engine_counts``), from this one run.
    """

    timesteps: int
    neuron: IFNeuron | tuple[IFNeuron, ...] | None = None
    device: torch.device | str | None = None
    encoding: str = "current"
    generator: torch.Generator | None = None
    record_ann: bool = False
    record_floor: bool = False
    schedule: Schedule = "auto"
    time_block: int = 8
    memory_budget_bytes: int = 1 << 30
    chunk_size: int | None = None
    dtype: torch.dtype = torch.float32
    kernels: bool | None = None
    count_steps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _int("timesteps", self.timesteps, 1)
        steps = self.count_steps
        if isinstance(steps, str) or not isinstance(steps, Sequence) or any(
                isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= self.timesteps
                for t in steps):
            raise SimulationInputError(
                f"count_steps must be a sequence of ints in [1, timesteps={self.timesteps}], "
                f"got {steps!r}")
        object.__setattr__(self, "count_steps", tuple(sorted(set(steps))))
        _int("time_block", self.time_block, 1)
        _int("memory_budget_bytes", self.memory_budget_bytes, 1)
        if self.chunk_size is not None:
            _int("chunk_size", self.chunk_size, 1)
        n = self.neuron
        if n is not None and not isinstance(n, IFNeuron):
            if isinstance(n, Sequence) and not isinstance(n, str) and n \
                    and all(isinstance(m, IFNeuron) for m in n):
                object.__setattr__(self, "neuron", tuple(n))
            else:
                raise SimulationInputError(
                    f"neuron must be an IFNeuron or a sequence of IFNeurons (one per spiking "
                    f"layer), got {n!r}")
        if self.encoding not in ENCODINGS:
            raise SimulationInputError(
                f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if self.encoding == "poisson" and not (isinstance(self.generator, torch.Generator)
                                               and self.generator.device.type == "cpu"):
            raise SimulationInputError(
                "encoding='poisson' needs generator=torch.Generator().manual_seed(SEED) (a "
                f"seeded CPU generator), got {self.generator!r}")
        if self.encoding == "poisson" and self.count_steps:
            raise SimulationInputError(
                f"count_steps needs encoding='current' (a run to t of Poisson input draws "
                f"other spikes than the first t steps of a longer run), got "
                f"count_steps={self.count_steps!r} with encoding='poisson'")
        if self.schedule not in SCHEDULES:
            raise SimulationInputError(
                f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("record_ann", "record_floor"):
            if not isinstance(getattr(self, name), bool):
                raise SimulationInputError(
                    f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.kernels not in (None, True, False) or isinstance(self.kernels, int) \
                and not isinstance(self.kernels, bool):
            raise SimulationInputError(f"kernels must be None, True or False, got "
                                       f"{self.kernels!r}")
        if not (isinstance(self.dtype, torch.dtype) and self.dtype.is_floating_point):
            raise SimulationInputError(f"dtype must be a floating torch.dtype, got "
                                       f"{self.dtype!r}")
        try:
            torch.device(self.device) if self.device is not None else None
        except (RuntimeError, TypeError) as err:
            raise SimulationInputError(f"device must be a torch device or its name, got "
                                       f"{self.device!r}") from err

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device) if self.device is not None else torch.device("cpu")

    @classmethod
    def from_keywords(cls, net_neuron: tuple[IFNeuron, ...] | None = None, /, *,
                      lower_bound: float | None = None, reset: str = "subtract",
                      neuron: IFNeuron | Sequence[IFNeuron] | None = None,
                      **options: object) -> SimConfig:
        """The keyword form of ``simulate``: ``lower_bound``/``reset`` stand for
        ``neuron=IFNeuron(lower_bound=..., reset=...)``; with ``neuron`` given they must be
        left at their defaults or agree with every neuron; without it and with a network that
        has its own model (``net_neuron``), they replace its floor/reset where given."""
        known = {f.name for f in fields(cls)} - {"neuron"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise SimulationInputError(
                f"unknown simulate option(s) {', '.join(unknown)}; expected some of "
                f"{', '.join(sorted(known | {'neuron', 'lower_bound', 'reset'}))}")
        if "timesteps" not in options:
            raise SimulationInputError("timesteps is required (an int >= 1)")
        if lower_bound is not None and (isinstance(lower_bound, bool)
                                        or not isinstance(lower_bound, int | float)):
            raise SimulationInputError(
                f"lower_bound must be None (NMP), 0.0 (ZMP) or a float < 1 (floor in "
                f"threshold units), got {lower_bound!r}")
        if reset not in RESETS:
            raise SimulationInputError(f"reset must be one of {RESETS}, got {reset!r}")
        if neuron is None and net_neuron is not None:
            neuron = tuple(replace(n, lower_bound=n.lower_bound if lower_bound is None
                                   else lower_bound,
                                   reset=n.reset if reset == "subtract" else reset)
                           for n in net_neuron)
        elif neuron is None:
            neuron = IFNeuron(lower_bound=lower_bound, reset=reset)
        else:
            many = [neuron] if isinstance(neuron, IFNeuron) else \
                list(neuron) if isinstance(neuron, Sequence) else []
            for i, n in enumerate(many):
                if not isinstance(n, IFNeuron):
                    continue  # SimConfig names the bad neuron
                if lower_bound is not None and n.lower_bound != lower_bound:
                    raise SimulationInputError(
                        f"lower_bound={lower_bound!r} disagrees with neuron[{i}].lower_bound="
                        f"{n.lower_bound!r}; leave lower_bound=None when passing neuron")
                if reset != "subtract" and n.reset != reset:
                    raise SimulationInputError(
                        f"reset={reset!r} disagrees with neuron[{i}].reset={n.reset!r}; leave "
                        "reset='subtract' when passing neuron")
        return cls(neuron=neuron, **options)  # type: ignore[arg-type]


def check_inputs(net: SpikingNetwork, inputs: Tensor, cfg: SimConfig) -> None:
    """The checks that need the network and the inputs (``SimConfig`` checked the rest)."""
    if not isinstance(net, SpikingNetwork):
        raise SimulationInputError(
            f"net must be a cosim.SpikingNetwork (from cosim.convert), got {type(net).__name__}")
    if not isinstance(inputs, Tensor):
        raise SimulationInputError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    if inputs.ndim < 2 or inputs.shape[0] == 0:
        raise SimulationInputError(
            f"inputs must be a non-empty (B, ...) batch, got shape {tuple(inputs.shape)}")
    if net.input_shape and tuple(inputs.shape[1:]) != tuple(net.input_shape):
        raise SimulationInputError(
            f"inputs must have shape (B, {', '.join(map(str, net.input_shape))}) for this "
            f"network, got {tuple(inputs.shape)}")
    if not bool(torch.isfinite(inputs).all()):
        raise SimulationInputError("inputs must be finite, got NaN/Inf entries")
    if cfg.encoding == "poisson" and bool((inputs.abs() > 1).any()):
        raise SimulationInputError(
            "encoding='poisson' needs inputs in [-1, 1] (spike probabilities), got values "
            f"up to {float(inputs.abs().max())!r}")


def _neurons(neuron: IFNeuron | tuple[IFNeuron, ...], n_layers: int) -> list[IFNeuron]:
    if neuron is None:
        return [IFNeuron()] * n_layers
    if isinstance(neuron, IFNeuron):
        return [neuron] * n_layers
    if len(neuron) != n_layers:
        raise SimulationInputError(
            f"neuron must be an IFNeuron or a sequence of {n_layers} IFNeurons (one per spiking "
            f"layer), got {len(neuron)}")
    return list(neuron)


def layer_params(net: SpikingNetwork, neuron: IFNeuron | tuple[IFNeuron, ...] | None,
                 device: torch.device, dtype: torch.dtype) -> list[StepParams]:
    """Every layer's ``StepParams`` in the engine's physical layout, on ``device`` (``neuron``
    None: the network's own model, else the ideal IF)."""
    if neuron is None:
        neuron = net.neuron
    out = []
    for ly, n in zip(net.layers, _neurons(neuron, len(net.layers)), strict=True):
        def lay(name: str, value: Tensor, ly=ly) -> Tensor:
            try:
                return to_phys_param(value.to(device=device, dtype=dtype), ly.shape)
            except RuntimeError as err:
                raise SimulationInputError(
                    f"neuron {name} of shape {tuple(value.shape)} does not broadcast to layer "
                    f"{ly.name!r} of shape {ly.shape}") from err

        p = StepParams.of(n, lay)
        if p.transfer is not None:
            p = replace(p, transfer=tuple(
                t.to(device=device, dtype=dtype).contiguous() for t in p.transfer))
        out.append(p)
    return out


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """Bytes of the output buffers, per sample of working memory, and the chunk size."""

    outputs: int
    per_sample: int
    chunk: int


def plan_memory(cfg: SimConfig, batch: int, sizes: Sequence[int], out_size: int,
                input_numel: int, preds: bool, variants: int = 1,
                checkpoints: int = 0) -> MemoryPlan:
    """Check the budget before anything is allocated: the outputs (spike counts of every layer,
    the output spike train, the per-step predictions) plus one chunk's working memory must fit
    ``memory_budget_bytes``; else ``SimulationInputError`` naming the budget and the need.
    With K ``variants`` (``cosim.variants``) the outputs and the neuron state are K-fold;
    each of the ``checkpoints`` (``count_steps`` before T) keeps another set of counts."""
    T = cfg.timesteps
    tb = min(cfg.time_block, T)
    count_bytes = 2 if T < 2**15 else 4
    outputs = variants * (batch * sum(sizes) * count_bytes + T * batch * out_size  # counts,
                          + (2 * T * batch if preds else 0)                   # spike train
                          + 8 * batch * (3 * len(sizes) + 1)
                          + checkpoints * batch * (sum(sizes) * count_bytes
                                                   + 8 * (len(sizes) + 1)))
    per_sample = variants * sum(sizes) * (12 + 9 * tb) + 4 * input_numel * (1 + tb)
    room = cfg.memory_budget_bytes - outputs  # the working memory left beside the outputs
    chunk = cfg.chunk_size or max(1, min(batch, room // per_sample))
    need = outputs + per_sample * min(chunk, batch) if cfg.chunk_size else \
        outputs + per_sample
    if need > cfg.memory_budget_bytes:
        what = f"a chunk of {min(chunk, batch)} samples" if cfg.chunk_size else "one sample"
        raise SimulationInputError(
            f"memory_budget_bytes={cfg.memory_budget_bytes:,} is too small for timesteps="
            f"{T:,} × batch={batch:,}: the output buffers need {outputs:,} bytes and "
            f"{what} {need - outputs:,} more ({need:,} in all, {math.ceil(need / 2**20):,} MiB); "
            f"raise the budget, or simulate fewer samples or steps per call")
    return MemoryPlan(outputs=outputs, per_sample=per_sample, chunk=chunk)


__all__ = ["ENCODINGS", "MemoryPlan", "SimConfig", "check_inputs", "layer_params",
           "plan_memory"]
