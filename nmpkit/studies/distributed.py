"""Evaluations on a Dask cluster: samples × variants split into content-addressed chunks.

    out = run_chunks_on("tcp://host:8786", net, x, y, cfg, task="classify", parts_dir=parts)
    # == nmpkit.studies.evaluate_chunks.run_chunks(net, x, y, cfg, task="classify", parts_dir=parts)
    per_variant = simulate_on(client, net, x, neurons=[...], timesteps=T, batch=250)
    # per_variant[k] == [cosim.simulate(net, x[sl], timesteps=T, neuron=neurons[k]) for sl ...]

The work is cut exactly as the local loops cut it (``batch_slices``: the same chunks, so the same
``cosim.simulate`` calls and results): one Dask task per chunk of samples, running all variants
of that chunk in one ``cosim.simulate_variants`` pass. `submit_chunks` is the one submitter
(scatter, keys, pure tasks) behind `nmpkit evaluate` (`run_chunks_on`), `nmpkit tradeoff`
(`submit_variants`, via ``tradeoff_sim.simulate_budgets_many``) and `nmpkit optimize`
(`simulate_on`, via ``optimize_eval.DesignEvaluator.evaluate``). A task's key is the content hash of
everything its result depends on (the converted network's tensors and options, the chunk's
input and target bytes, the simulation settings, the variants): equal work is done once, and a
rerun or another client asking for it gets the same key.

Tasks are pure (``pure=True``; a result is a function of its inputs only), and the network,
inputs and targets are scattered to every worker (``broadcast=True``): when a worker dies, the
scheduler recomputes the chunks it was running or held (results not yet gathered) on the workers
left, from replicas of the data that did not die with it (tests/nmpkit/studies/test_distributed.py
kills a worker holding results and checks the output equals a local run).

``run_chunks_on`` stores each finished chunk in ``parts_dir`` under the local run's name, then
lets ``run_chunks`` combine them: a Dask run and a local run resume from each other's chunks.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from calib.io import atomic_write, content_hash
from nmpkit.studies.batched import batch_slices
from nmpkit.studies.evaluate_chunks import part_path, run_chunks
from nmpkit.studies.evaluate_parts import EvalConfig, chunk_record


def tensor_digest(*tensors: torch.Tensor | None) -> str:
    """sha256 of the tensors' dtypes, shapes and bytes (None: a marker)."""
    h = hashlib.sha256()
    for t in tensors:
        if t is None:
            h.update(b"none\0")
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def network_digest(net: Any) -> str:
    """Content hash of a converted network: every op's kind, options and tensors, the shapes,
    the output scale and the network's own neuron model (``repr``)."""
    h = hashlib.sha256()
    h.update(repr((tuple(net.input_shape), float(net.output_scale),
                   repr(getattr(net, "neuron", None)))).encode())
    for ly in net.layers:
        h.update(repr((ly.name, tuple(ly.shape))).encode())
        for op in ly.ops:
            h.update(repr((op.kind, sorted(op.options.items()))).encode())
            h.update(tensor_digest(op.weight, op.bias).encode())
    return h.hexdigest()


def neuron_digest(neuron: Any) -> str:
    """Content hash of one variant (``SimConfig.neuron``'s form: one neuron, or a tuple or list
    of one per spiking layer, as ``calibrated_neurons`` returns): every field of each
    ``IFNeuron`` by name, tensors (and tensor tuples such as ``transfer``) by their bytes, so a
    field added to the neuron can never be left out of the key. Equal digests simulate alike."""
    import dataclasses

    parts = tuple(neuron) if isinstance(neuron, (tuple, list)) else (neuron,)
    h = hashlib.sha256()
    for n in parts:
        if n is None:
            h.update(b"none\0")
            continue
        for f in dataclasses.fields(n):
            v = getattr(n, f.name)
            if isinstance(v, torch.Tensor):
                v = tensor_digest(v)
            elif isinstance(v, tuple) and v and all(isinstance(t, torch.Tensor) for t in v):
                v = tensor_digest(*v)
            h.update(f"{f.name}={v!r}\0".encode())
    return h.hexdigest()


@contextmanager
def client_for(scheduler: Any) -> Iterator[Any]:
    """A ``distributed.Client`` for an address (closed afterwards) or the given client."""
    from distributed import Client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    client = Client(scheduler)
    try:
        yield client
    finally:
        client.close()


def _simulate_chunk(net: Any, x: torch.Tensor, start: int, stop: int,
                    neurons: Sequence[Any], sim: dict[str, Any]) -> list[Any]:
    """All variants of one chunk (one ``simulate`` for a single variant, as the local loops)."""
    import cosim

    xb = x[start:stop]
    if len(neurons) == 1:
        return [cosim.simulate(net, xb, neuron=neurons[0], **sim)]
    return cosim.simulate_variants(net, xb, neurons=list(neurons), **sim)


def _eval_chunk(net: Any, x: torch.Tensor, target: torch.Tensor, start: int, stop: int,
                cfg: EvalConfig, task: str, snapshots: tuple[int, ...]) -> dict[str, Any]:
    """One chunk's record, as ``run_chunks`` stores it (`evaluate_parts.chunk_record`)."""
    return chunk_record(net, x[start:stop], target[start:stop], cfg, task=task,
                        snapshots=snapshots)


def submit_chunks(client: Any, fn: Callable[..., Any], data: Sequence[Any],
                  slices: Sequence[slice], *, prefix: str, base: str,
                  args: tuple = ()) -> tuple[list[tuple[slice, Any]], tuple]:
    """The one chunk submitter: ``data`` scattered to every worker (``broadcast``, no content
    keys), one pure task ``fn(*data, sl.start, sl.stop, *args)`` per slice, keyed
    ``PREFIX-<hash of base and the chunk's bytes of every tensor in data>``.

    Returns ((slice, future) pairs; the scattered data's futures: hold them as long as the
    pairs, so a result lost with a worker is recomputed from the replicas)."""
    def key(sl: slice) -> str:
        chunk = [tensor_digest(v[sl]) for v in data if isinstance(v, torch.Tensor)]
        return f"{prefix}-" + content_hash({"base": base, "chunk": chunk})[:24]

    scattered = tuple(client.scatter(v, broadcast=True, hash=False) for v in data)
    pairs = [(sl, client.submit(fn, *scattered, sl.start, sl.stop, *args, key=key(sl),
                                pure=True)) for sl in slices]
    return pairs, scattered


def results_or_local(pairs: Sequence[tuple[slice, Any]],
                     local: Callable[[slice], Any]) -> list[Any]:
    """Each future's result, in order; a chunk whose future the cluster cancelled is computed
    here by ``local(slice)`` instead (the same pure function of the same inputs, so the same
    result). Dask can cancel a content-addressed key "already forgotten" when one client
    releases it while another submits it again (seen once in CI: the optimizer's evaluation
    resubmitting the test's own keys right after a worker was killed)."""
    from concurrent.futures import CancelledError

    out = []
    for sl, fut in pairs:
        try:
            out.append(fut.result())
        except CancelledError:
            out.append(local(sl))
    return out


def run_chunks_on(scheduler: Any, net: Any, x: torch.Tensor, target: torch.Tensor,
                  cfg: EvalConfig, *, task: str, parts_dir: Path | None = None,
                  progress: Callable[[int], None] | None = None,
                  snapshots: tuple[int, ...] = ()) -> dict:
    """``nmpkit.studies.evaluate_chunks.run_chunks`` with the chunks computed on a Dask cluster.

    Args:
        scheduler: A Dask scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``.
        The rest: as ``run_chunks`` (the same chunks, records and result).
    """
    from concurrent.futures import CancelledError

    from distributed import as_completed

    if parts_dir is None:
        with tempfile.TemporaryDirectory(prefix="nmpkit-eval-") as tmp:
            return run_chunks_on(scheduler, net, x, target, cfg, task=task,
                                 parts_dir=Path(tmp), progress=progress, snapshots=snapshots)
    parts_dir.mkdir(parents=True, exist_ok=True)
    # the chunks not on disk; run_chunks checks those that are (and recomputes a bad one locally)
    todo = [sl for sl in batch_slices(len(x), cfg.batch_size)
            if not part_path(parts_dir, sl.start, sl.stop - sl.start).is_file()]
    if todo:
        base = content_hash({"net": network_digest(net), "cfg": repr(cfg), "task": task,
                             "snapshots": list(snapshots), "torch": torch.__version__})
        with client_for(scheduler) as client:
            pairs, _data = submit_chunks(client, _eval_chunk, (net, x, target), todo,
                                         prefix="nmpkit-eval", base=base,
                                         args=(cfg, task, tuple(snapshots)))
            by_future = {fut: sl for sl, fut in pairs}
            for fut in as_completed(list(by_future)):
                try:
                    rec = fut.result()
                except CancelledError:  # see results_or_local
                    continue  # not written: run_chunks below computes the missing chunk here
                atomic_write(part_path(parts_dir, by_future[fut].start,
                                       by_future[fut].stop - by_future[fut].start),
                             lambda tmp, rec=rec: torch.save(rec, tmp))
    return run_chunks(net, x, target, cfg, task=task, parts_dir=parts_dir, progress=progress,
                      snapshots=snapshots)


def submit_variants(client: Any, net: Any, x: torch.Tensor, neurons: Sequence[Any], *,
                    batch: int, **simulate: Any) -> tuple[list[tuple[slice, Any]], tuple]:
    """One pure task per chunk of ``batch`` samples, all variants in it.

    Returns ((slice, future) pairs, each future's result a list of K ``SimulationResult`` in
    the order of ``neurons``; the futures of the scattered network and inputs). Hold the second
    as long as the first: a result lost with a worker is recomputed from that data."""
    sim = dict(simulate)
    base = content_hash({"net": network_digest(net), "neurons": [neuron_digest(n)
                                                                  for n in neurons],
                         "sim": repr(sorted(sim.items())), "torch": torch.__version__})
    return submit_chunks(client, _simulate_chunk, (net, x), list(batch_slices(len(x), batch)),
                         prefix="nmpkit-sim", base=base, args=(tuple(neurons), sim))


def simulate_on(scheduler: Any, net: Any, x: torch.Tensor, neurons: Sequence[Any], *,
                batch: int, **simulate: Any) -> list[list[Any]]:
    """For each variant, the results of ``cosim.simulate(net, x[sl], neuron=neurons[k],
    **simulate)`` over the chunks ``batch_slices(len(x), batch)``, computed on a Dask cluster
    (samples × variants: one task per chunk, every variant in one pass)."""
    with client_for(scheduler) as client:
        pairs, _data = submit_variants(client, net, x, neurons, batch=batch, **simulate)
        chunks = results_or_local(pairs, lambda sl: _simulate_chunk(
            net, x, sl.start, sl.stop, tuple(neurons), dict(simulate)))
    return [[c[k] for c in chunks] for k in range(len(neurons))]


__all__ = ["client_for", "network_digest", "neuron_digest", "results_or_local", "run_chunks_on",
           "simulate_on", "submit_chunks", "submit_variants", "tensor_digest"]
