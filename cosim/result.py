"""What one simulation returns: spike counts, per-step output, accuracy/MSE after every step.

Per-step quantities come from the output layer's spike train (kept as a boolean (T, B, ...)
tensor): the cumulative count after step t is a cumsum over time, so accuracy or MSE for all T
steps costs one pass.

Classification readout after t steps: the class with the most output spikes so far. Ties
(including "no spike yet") go to the lowest class index (``ties="first"``, what ``argmax`` of
spike counts gives; the default) or, with ``ties="membrane"``, to the tied class with the
highest output membrane potential (then the lowest index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from cosim.errors import SimulationInputError

_CHUNK_ELEMENTS = 1 << 25  # bounds the (T, b, n) temporaries of the per-step readouts


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationResult:
    """Result of ``cosim.simulate``. Tensors are on the CPU; batch dimension B, T timesteps.

    Attributes:
        timesteps: T.
        output_counts: (B, *out_shape) output spikes over all T steps.
        spike_counts: One (B, *layer.shape) integer tensor per spiking layer (output last).
        output_spikes: (T, B, *out_shape) bool, the output layer's spike train.
        predictions_membrane: (T, B) class after each step with ties broken by membrane
            potential; ``None`` unless the output is 1-D.
        output_scale: Output normalization scale: rate × scale ≈ ANN output.
        layer_names: Name of each spiking layer.
        layer_sizes: Neurons per sample in each spiking layer.
        synaptic_events: One (B,) tensor per spiking layer: that layer's spikes × their fan-out
            (synaptic operations they trigger in the next layer; 0 for the output layer).
        input_synaptic_events: (B,) synaptic operations driven by the input over T steps
            (non-zero inputs × fan-out × T for constant current; input spikes × fan-out for
            Poisson coding).
        ann_activations: Per layer (B, *shape) normalized ANN activations (``record_ann``).
        schedule: How each layer's synaptic ops were computed (for the benchmark report).
        floor_discarded: With ``record_floor``: one (B,) float64 tensor per spiking layer, the
            charge its floor removed (sum over neurons and steps of floor - v where v fell
            below the floor), in thresholds; zeros for a layer without a floor.
        floor_hits: With ``record_floor``: one (B,) int64 tensor per layer, the neurons that
            hit the floor at least once.
        counts_at: With ``count_steps``: per step t < T, the counts after t steps
            (``cosim.engine_counts.PrefixCounts``); read them through ``at_step(t)``.
    """

    timesteps: int
    output_counts: Tensor
    spike_counts: list[Tensor]
    output_spikes: Tensor
    predictions_membrane: Tensor | None
    output_scale: float
    layer_names: tuple[str, ...]
    layer_sizes: tuple[int, ...]
    synaptic_events: list[Tensor]
    input_synaptic_events: Tensor
    ann_activations: list[Tensor] | None = None
    schedule: dict = field(default_factory=dict)
    floor_discarded: list[Tensor] | None = None
    floor_hits: list[Tensor] | None = None
    counts_at: dict | None = None

    def at_step(self, t: int) -> SimulationResult:
        """The result of the first ``t`` steps, as a run to ``t`` gives it (``t`` = T: this
        result; else ``t`` must be one of the run's ``count_steps``). The floor statistics are
        the run's own only at T (None before)."""
        if t == self.timesteps:
            return self
        if isinstance(t, bool) or not isinstance(t, int) or t not in (self.counts_at or {}):
            raise SimulationInputError(
                f"at_step needs t = timesteps ({self.timesteps}) or one of the run's count_steps "
                f"{sorted(self.counts_at or {})}, got {t!r}")
        c = self.counts_at[t]
        return SimulationResult(
            timesteps=t, output_counts=c.spike_counts[-1], spike_counts=c.spike_counts,
            output_spikes=self.output_spikes[:t],
            predictions_membrane=None if self.predictions_membrane is None
            else self.predictions_membrane[:t], output_scale=self.output_scale,
            layer_names=self.layer_names, layer_sizes=self.layer_sizes,
            synaptic_events=c.synaptic_events, input_synaptic_events=c.input_synaptic_events,
            ann_activations=self.ann_activations, schedule=dict(self.schedule) | {
                "prefix_of": self.timesteps})

    @classmethod
    def concat(cls, parts: Sequence[SimulationResult]) -> SimulationResult:
        """One result for the samples of ``parts`` in order (results of consecutive sample
        chunks of one network, one T): every per-sample tensor joined along the batch.

        ``schedule`` is the first part's, with ``"parts"`` (their count) and ``"chunk_size"``
        the largest of theirs. Raises ``SimulationInputError`` when the parts do not match
        (timesteps, layers, output scale, ANN activations recorded or not).
        """
        parts = list(parts)
        if not parts or not all(isinstance(p, SimulationResult) for p in parts):
            raise SimulationInputError(
                f"concat needs a non-empty sequence of SimulationResults, got {parts!r:.200}")
        first = parts[0]
        for i, p in enumerate(parts[1:], 1):
            for name in ("timesteps", "layer_names", "layer_sizes", "output_scale"):
                if getattr(p, name) != getattr(first, name):
                    raise SimulationInputError(
                        f"concat: part {i} has {name}={getattr(p, name)!r}, part 0 "
                        f"{getattr(first, name)!r}; only chunks of one simulation join")
            if sorted(p.counts_at or {}) != sorted(first.counts_at or {}):
                raise SimulationInputError(
                    f"concat: part {i} has count_steps {sorted(p.counts_at or {})}, part 0 "
                    f"{sorted(first.counts_at or {})}")
            if (p.ann_activations is None) != (first.ann_activations is None) or \
                    (p.floor_hits is None) != (first.floor_hits is None) or \
                    (p.predictions_membrane is None) != (first.predictions_membrane is None):
                raise SimulationInputError(
                    f"concat: part {i} differs from part 0 in record_ann, record_floor or "
                    "output shape")

        def cat(tensors: list[Tensor], dim: int = 0) -> Tensor:
            dtype = tensors[0].dtype
            for t in tensors[1:]:
                dtype = torch.promote_types(dtype, t.dtype)  # int16 and int32 counts
            return torch.cat([t.to(dtype) for t in tensors], dim)

        layers = range(len(first.spike_counts))
        spike_counts = [cat([p.spike_counts[i] for p in parts]) for i in layers]
        schedule = dict(first.schedule) | {"parts": len(parts)}
        chunks = [p.schedule.get("chunk_size") for p in parts]
        if all(isinstance(c, int) for c in chunks):
            schedule["chunk_size"] = max(chunks)
        return cls(
            timesteps=first.timesteps, output_counts=spike_counts[-1],
            spike_counts=spike_counts,
            output_spikes=cat([p.output_spikes for p in parts], 1),
            predictions_membrane=None if first.predictions_membrane is None
            else cat([p.predictions_membrane for p in parts], 1),
            output_scale=first.output_scale, layer_names=first.layer_names,
            layer_sizes=first.layer_sizes,
            synaptic_events=[cat([p.synaptic_events[i] for p in parts]) for i in layers],
            input_synaptic_events=cat([p.input_synaptic_events for p in parts]),
            ann_activations=None if first.ann_activations is None
            else [cat([p.ann_activations[i] for p in parts]) for i in layers],
            floor_discarded=None if first.floor_discarded is None
            else [cat([p.floor_discarded[i] for p in parts]) for i in layers],
            floor_hits=None if first.floor_hits is None
            else [cat([p.floor_hits[i] for p in parts]) for i in layers],
            schedule=schedule, counts_at=None if first.counts_at is None else {
                t: type(c)(timesteps=t, spike_counts=[
                    cat([p.counts_at[t].spike_counts[i] for p in parts]) for i in layers],
                    synaptic_events=[cat([p.counts_at[t].synaptic_events[i] for p in parts])
                                     for i in layers],
                    input_synaptic_events=cat([p.counts_at[t].input_synaptic_events
                                               for p in parts]))
                for t, c in first.counts_at.items()})

    @property
    def batch_size(self) -> int:
        return int(self.output_counts.shape[0])

    @property
    def layer_rates(self) -> tuple[float, ...]:
        """Mean spikes per neuron per step, for each spiking layer."""
        return tuple(float(c.double().mean()) / self.timesteps for c in self.spike_counts)

    @property
    def floor_charge(self) -> tuple[float, ...]:
        """Charge the floor discarded, in thresholds per neuron per step, for each layer."""
        if self.floor_discarded is None:
            raise SimulationInputError("floor_charge needs simulate(..., record_floor=True)")
        return tuple(float(d.sum()) / (self.batch_size * n * self.timesteps)
                     for d, n in zip(self.floor_discarded, self.layer_sizes, strict=True))

    @property
    def floor_hit_fraction(self) -> tuple[float, ...]:
        """Fraction of each layer's neurons (over the batch) that hit the floor at least once."""
        if self.floor_hits is None:
            raise SimulationInputError(
                "floor_hit_fraction needs simulate(..., record_floor=True)")
        return tuple(float(h.sum()) / (self.batch_size * n)
                     for h, n in zip(self.floor_hits, self.layer_sizes, strict=True))

    @property
    def synaptic_event_totals(self) -> tuple[int, ...]:
        """Total synaptic operations triggered by each layer's spikes, summed over the batch."""
        return tuple(int(e.sum()) for e in self.synaptic_events)

    def rates(self, layer: int) -> Tensor:
        """(B, *shape) firing rate (spikes per step) of every neuron of ``layer``."""
        return self.spike_counts[layer].double() / self.timesteps

    def _cumulative_chunks(self):
        n = max(1, self.output_spikes[0, 0].numel())
        step = max(1, _CHUNK_ELEMENTS // (self.timesteps * n))
        for b0 in range(0, self.batch_size, step):
            spk = self.output_spikes[:, b0:b0 + step].reshape(self.timesteps, -1, n)
            yield b0, spk.to(torch.int32).cumsum(0)

    def accuracy_per_step(self, labels: Tensor,
                          ties: Literal["first", "membrane"] = "first") -> Tensor:
        """Classification accuracy after every step.

        Args:
            labels: (B,) integer class labels.
            ties: ``"first"`` (lowest index wins a tie) or ``"membrane"`` (highest output
                membrane potential among the tied classes wins); see the module docstring.

        Returns:
            (T,) float64: entry t-1 is the accuracy after t steps.
        """
        labels = torch.as_tensor(labels).reshape(-1).long().cpu()
        if labels.numel() != self.batch_size:
            raise SimulationInputError(
                f"labels must have one entry per sample ({self.batch_size}), got shape "
                f"{tuple(labels.shape)}")
        if ties == "membrane":
            if self.predictions_membrane is None:
                raise SimulationInputError("ties='membrane' needs a 1-D output layer; use "
                                           "ties='first'")
            return (self.predictions_membrane.long() == labels).double().mean(1)
        if ties != "first":
            raise SimulationInputError(f"ties must be 'first' or 'membrane', got {ties!r}")
        correct = torch.zeros(self.timesteps, dtype=torch.float64)
        for b0, cum in self._cumulative_chunks():
            pred = cum.argmax(-1)  # first index among equal maxima
            correct += (pred == labels[b0:b0 + cum.shape[1]]).double().sum(1)
        return correct / self.batch_size

    def mse_per_step(self, targets: Tensor) -> Tensor:
        """Mean squared error of the decoded output after every step.

        The output after t steps is ``count_t / t × output_scale`` (rate × normalization scale).

        Args:
            targets: (B, *out_shape), or anything with B × prod(out_shape) elements.

        Returns:
            (T,) float64: entry t-1 is the MSE after t steps, averaged over all elements.
        """
        targets = torch.as_tensor(targets).double().cpu()
        n = self.output_spikes[0, 0].numel()
        if targets.numel() != self.batch_size * n:
            raise SimulationInputError(
                f"targets must have {self.batch_size} × {n} elements (output shape "
                f"{tuple(self.output_counts.shape)}), got shape {tuple(targets.shape)}")
        targets = targets.reshape(self.batch_size, n)
        t = torch.arange(1, self.timesteps + 1, dtype=torch.float64).reshape(-1, 1, 1)
        sse = torch.zeros(self.timesteps, dtype=torch.float64)
        for b0, cum in self._cumulative_chunks():
            est = cum.double() / t * self.output_scale
            sse += ((est - targets[b0:b0 + cum.shape[1]]) ** 2).sum((1, 2))
        return sse / (self.batch_size * n)

    def correlation(self, layer: int) -> tuple[Tensor, Tensor]:
        """ANN activation vs SNN rate of every neuron of ``layer`` (for correlation diagrams).

        Returns:
            ``(ann, rate)``: two flat float64 tensors of equal length; ``ann`` in units of the
            layer's scale, ``rate`` in spikes per step.
        """
        if self.ann_activations is None:
            raise SimulationInputError("correlation needs simulate(..., record_ann=True)")
        return self.ann_activations[layer].double().reshape(-1), self.rates(layer).reshape(-1)


__all__ = ["SimulationResult"]
