"""The trade-off's simulations: one run to the largest latency budget serves every budget.

Accuracy at every budget ``T`` comes from the long run itself: the output layer's spike train is
recorded per step (``SimulationResult.output_spikes``), so the prediction after ``T`` steps is the
arg-max of the output counts up to ``T`` (ties to the lowest index, as
``SimulationResult.accuracy_per_step``), per image. With constant-current inputs the first ``T``
steps of a run to ``T_max`` are the run to ``T`` (a test checks the equality).

Energy at ``T`` needs every layer's spikes up to ``T``: it is priced on the first
``energy_samples`` images from the long run's counts after ``T`` steps (``SimConfig.count_steps``:
what a run to ``T`` counts, kept by the run to ``T_max`` for those images; no second run).

`neuron_supply` / `neuron_for` are the one place that says which neuron an operating point
(V_DD, V_NEG) runs with; points with the same neuron share one simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from calib.calibration import Calibration
from calib.errors import CalibrationError

NEURON_NOTE = ("each V_DD runs with the neuron calibrated at that V_DD (its own θ, floor table and "
               "transfer curve; the nearest calibrated V_DD where the grid lacks it); NMP, the "
               "accuracy reference, is the nominal V_DD's")


def neuron_supply(cal: Calibration, v_dd_volts: float) -> float:
    """The V_DD whose calibrated neuron an operating point at ``v_dd_volts`` runs with: the
    calibrated supply nearest ``v_dd_volts`` (`Calibration.v_dd_grid`)."""
    grid = cal.v_dd_grid
    return float(min(grid, key=lambda g: (abs(g - v_dd_volts), g)))


def neuron_for(cal: Calibration, shapes: Sequence[Sequence[int]], *, v_dd_volts: float,
               v_neg_volts: float | None) -> list[Any]:
    """One calibrated neuron per spiking layer for the point (V_DD, V_NEG), built from the
    calibration at ``neuron_supply(cal, v_dd_volts)``; ``v_neg_volts`` None = NMP (no floor,
    the calibrated transfer curve)."""
    from cosim.calibrated import calibrated_neurons

    return calibrated_neurons(cal, shapes, v_neg_volts=v_neg_volts,
                              v_dd_volts=neuron_supply(cal, v_dd_volts))


def correct_at(output_spikes: torch.Tensor, labels: torch.Tensor,
               steps: Sequence[int]) -> np.ndarray:
    """(len(steps), B) bool: image b classified right after ``steps[k]`` steps.

    ``output_spikes`` (T, B, C) as ``SimulationResult.output_spikes``.
    """
    spk = output_spikes.reshape(output_spikes.shape[0], output_spikes.shape[1], -1)
    cum = spk.to(torch.int32).cumsum(0)
    idx = torch.as_tensor([s - 1 for s in steps], dtype=torch.long)
    pred = cum[idx].argmax(-1)  # first index among equal maxima
    return (pred == torch.as_tensor(labels).reshape(1, -1).long()).numpy()


@dataclass(slots=True)
class Counts:
    """What ``cosim.energy`` reads of a ``SimulationResult``, for a subset of its images."""

    spike_counts: list
    synaptic_events: list
    input_synaptic_events: torch.Tensor
    timesteps: int
    layer_names: tuple
    layer_sizes: tuple

    @classmethod
    def of(cls, results: Sequence[Any], m: int | None = None) -> Counts:
        """The first ``m`` images (all: None) of consecutive batch results."""
        def cat(get):
            return torch.cat([get(r) for r in results])[:m]

        r0 = results[0]
        layers = range(len(r0.spike_counts))
        return cls(spike_counts=[cat(lambda r, i=i: r.spike_counts[i].to(torch.int32))
                                 for i in layers],
                   synaptic_events=[cat(lambda r, i=i: r.synaptic_events[i]) for i in layers],
                   input_synaptic_events=cat(lambda r: r.input_synaptic_events),
                   timesteps=r0.timesteps, layer_names=r0.layer_names,
                   layer_sizes=r0.layer_sizes)


def simulate_budgets(net: Any, x: torch.Tensor, y: torch.Tensor, neurons: Any, *,
                     steps: Sequence[int], batch: int,
                     energy_samples: int) -> tuple[np.ndarray, dict[int, Counts]]:
    """Per-image correctness at every budget (one run to ``max(steps)``) and the counts to price
    energy at each budget on the first ``energy_samples`` images (0 = all)."""
    return simulate_budgets_many(net, x, y, [neurons], steps=steps, batch=batch,
                                 energy_samples=energy_samples)[0]


def simulate_budgets_many(net: Any, x: torch.Tensor, y: torch.Tensor,
                          neuron_sets: Sequence[Any], *, steps: Sequence[int], batch: int,
                          energy_samples: int, scheduler: Any = None,
                          ) -> list[tuple[np.ndarray, dict[int, Counts]]]:
    """``simulate_budgets`` for several neuron models in one pass per batch
    (``cosim.simulate_variants``: the first layer's current, the weights and equal event lists
    are shared; one model runs through ``cosim.simulate``); the same results as one
    ``simulate_budgets`` call per model.

    ``scheduler`` (a Dask scheduler address or ``distributed.Client``): the batches run on that
    cluster as content-addressed tasks (`nmpkit.studies.distributed.submit_variants`: the same
    chunks and the same simulate calls, so the same results as the local loop)."""
    models = list(neuron_sets)
    steps = sorted({int(s) for s in steps})
    n = int(x.shape[0])
    m = n if energy_samples <= 0 else min(n, energy_samples)
    if scheduler is not None:
        from nmpkit.studies.distributed import client_for

        with client_for(scheduler) as client:
            return _budgets_loop(net, x, y, models, steps=steps, batch=batch, m=m,
                                 client=client)
    return _budgets_loop(net, x, y, models, steps=steps, batch=batch, m=m, client=None)


def _budgets_loop(net: Any, x: torch.Tensor, y: torch.Tensor, models: list[Any], *,
                  steps: list[int], batch: int, m: int,
                  client: Any) -> list[tuple[np.ndarray, dict[int, Counts]]]:
    """``simulate_budgets_many``'s loop: one run to ``max(steps)`` per batch; the batches
    holding the first ``m`` images also keep their counts at the shorter budgets
    (``SimConfig.count_steps``). With a ``client`` every chunk was submitted up front and each
    result is fetched when the loop reaches it (one chunk in memory at a time)."""
    from nmpkit.studies.batched import batch_slices

    t_max, n, k_n = steps[-1], int(x.shape[0]), len(models)
    slices = list(batch_slices(n, batch))
    head = sum(1 for sl in slices if sl.start < m)  # the batches energy is priced on
    short = tuple(steps[:-1])
    pending = None
    if client is not None:
        from nmpkit.studies.distributed import submit_variants

        split = slices[head - 1].stop
        jobs = [submit_variants(client, net, x[:split], models, batch=batch, timesteps=t_max,
                                count_steps=short)]
        if split < n:
            jobs.append(submit_variants(client, net, x[split:], models, batch=batch,
                                        timesteps=t_max))
        pending = iter([f for pairs, _data in jobs for _, f in pairs])

    def sim(xs: torch.Tensor, kept: bool) -> list[Any]:
        import cosim

        if pending is not None:
            from concurrent.futures import CancelledError

            try:
                return next(pending).result()  # the cluster's result for this chunk (same order)
            except CancelledError:  # a key Dask forgot (distributed.results_or_local): run here
                pass
        more = {"count_steps": short} if kept and short else {}
        if len(models) == 1:
            return [cosim.simulate(net, xs, timesteps=t_max, neuron=models[0], **more)]
        return cosim.simulate_variants(net, xs, timesteps=t_max, neurons=models, **more)

    correct: list[list[np.ndarray]] = [[] for _ in range(k_n)]
    kept: list[list[Any]] = [[] for _ in range(k_n)]
    for j, sl in enumerate(slices):
        for k, res in enumerate(sim(x[sl], j < head)):
            correct[k].append(correct_at(res.output_spikes, y[sl], steps))
            if j < head:
                kept[k].append(res)
    oks = [np.concatenate(c, axis=1) for c in correct]
    counts = [{t: Counts.of([r.at_step(t) for r in kept[k]], m) for t in steps}
              for k in range(k_n)]
    return list(zip(oks, counts, strict=True))


def price(counts: Counts, cal: Calibration, *, v_dd_volts: float, v_neg_volts: float,
          net: Any, inputs: torch.Tensor, eta: float | None = None,
          array_size: int | None = None) -> dict[str, Any]:
    """Energy per inference of ``counts`` at (V_DD, V_NEG), with its terms; unavailable where the
    calibration cannot answer without an assumed law. ``eta`` given: the circuit's energy model
    (E0 + K/f, excitatory and inhibitory events apart, V_NEG over the pump's η, one bias per
    array of ``array_size``); a calibration without those fits falls back to the per-event
    pricing, said in the notes."""
    from cosim.energy import energy

    m = int(counts.spike_counts[0].shape[0])
    fallback: list[str] = []
    try:
        try:
            rep = energy(counts, cal, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts, net=net,
                         inputs=inputs[:m], eta=eta, array_size=array_size)
        except CalibrationError as exc:
            if eta is None:
                raise
            fallback = [f"circuit energy model unavailable ({exc}); per-event pricing used"]
            rep = energy(counts, cal, v_dd_volts=v_dd_volts, v_neg_volts=v_neg_volts, net=net,
                         inputs=inputs[:m])
    except CalibrationError as exc:
        return {"joules": None, "regime": "unavailable", "notes": [str(exc)], "samples": m}
    return {"joules": rep.total_joules, "regime": rep.regime, "notes": fallback + list(rep.notes),
            "samples": m, "spike_joules": sum(ly.e_spike_joules for ly in rep.layers),
            "synapse_joules": sum(ly.e_syn_joules for ly in rep.layers) + rep.e_input_joules,
            "static_joules": sum(ly.e_static_joules for ly in rep.layers),
            "spikes": sum(ly.spikes for ly in rep.layers)}


def pack(correct: np.ndarray) -> str:
    """A bool vector as a '0'/'1' string (for the resumable parts)."""
    return np.where(np.asarray(correct, dtype=bool), b"1", b"0").tobytes().decode()


def unpack(bits: str) -> np.ndarray:
    return np.frombuffer(bits.encode(), dtype=np.uint8) == ord("1")


__all__ = ["Counts", "NEURON_NOTE", "correct_at", "neuron_for", "neuron_supply", "pack", "price",
           "simulate_budgets", "simulate_budgets_many", "unpack"]
