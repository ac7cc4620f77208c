"""Evaluations on a Dask cluster (a LocalCluster of 2 worker processes) equal local runs, and a
killed worker's chunks are recomputed. Dyadic weights and inputs: every sum is exact, so any
schedule a worker's ``auto`` picks gives the same bits as the local run's."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
import torch
from torch import nn

import cosim
from nmpkit.studies.batched import batch_slices
from nmpkit.studies.evaluate import EvalConfig
from nmpkit.studies.evaluate_chunks import run_chunks

distributed = pytest.importorskip("distributed")

from nmpkit.studies.distributed import (  # noqa: E402
    network_digest,
    run_chunks_on,
    simulate_on,
    submit_variants,
)


def _net_and_data():
    g = torch.Generator().manual_seed(7)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(6 * 3 * 3, 12), nn.ReLU(),
                          nn.Linear(12, 5)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-12, 13, p.shape, generator=g).float() / 16)
    x = torch.randint(-4, 17, (10, 1, 9, 9), generator=g).float() / 16
    y = torch.randint(0, 5, (10,), generator=g)
    return cosim.convert(model), x, y


def _same_results(a, b):
    for ra, rb in zip(a, b, strict=True):
        for ca, cb in zip(ra.spike_counts, rb.spike_counts, strict=True):
            assert torch.equal(ca, cb)
        assert torch.equal(ra.output_spikes, rb.output_spikes)


@pytest.mark.slow
def test_dask_evaluation_equals_local_and_survives_a_killed_worker(tmp_path):
    net, x, y = _net_and_data()
    cfg = EvalConfig(timesteps=20, lower_bound=-0.5, batch_size=3)
    local = run_chunks(net, x, y, cfg, task="classify", parts_dir=tmp_path / "local")
    floors = [None, 0.0, -0.5]
    neurons = [cosim.IFNeuron(lower_bound=f) for f in floors]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        on = run_chunks_on(client, net, x, y, cfg, task="classify", parts_dir=tmp_path / "dask")
        np.testing.assert_array_equal(on["metric"], local["metric"])
        assert on["layer_rates"] == local["layer_rates"]
        assert torch.equal(on["correct"], local["correct"])
        assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == \
            sorted(p.name for p in (tmp_path / "local").iterdir())

        # samples × variants: one task per chunk, all floors in it; equal to local calls
        sims = simulate_on(client, net, x, neurons, batch=4, timesteps=16)
        for n, got in zip(neurons, sims, strict=True):
            _same_results(got, [cosim.simulate(net, x[sl], timesteps=16, neuron=n)
                                for sl in batch_slices(len(x), 4)])

        # a worker dies holding finished chunks: the scheduler recomputes them elsewhere
        pairs, data = submit_variants(client, net, x, neurons, batch=2, timesteps=12)
        distributed.wait([f for _, f in pairs])
        held = client.who_has([f for _, f in pairs])
        victim = next(iter(next(ws for ws in held.values() if ws)))
        lost = [k for k, ws in held.items() if set(ws) == {victim}]
        assert lost  # some results lived only on the victim
        os.kill(client.run(os.getpid)[victim], signal.SIGKILL)  # this test's own worker
        chunks = client.gather([f for _, f in pairs])
        assert victim not in client.scheduler_info()["workers"]
        del data
        for k, n in enumerate(neurons):
            _same_results([c[k] for c in chunks],
                          [cosim.simulate(net, x[sl], timesteps=12, neuron=n)
                           for sl in batch_slices(len(x), 2)])


def test_network_digest_follows_the_weights():
    net, _, _ = _net_and_data()
    d0 = network_digest(net)
    assert network_digest(net) == d0
    w = net.layers[1].ops[0].weight
    with torch.no_grad():
        w[0, 0, 0, 0] += 1 / 16
    assert network_digest(net) != d0


def _same_budgets(a, b):
    for (ok_a, c_a), (ok_b, c_b) in zip(a, b, strict=True):
        np.testing.assert_array_equal(ok_a, ok_b)
        assert c_a.keys() == c_b.keys()
        for t in c_a:
            assert torch.equal(c_a[t].input_synaptic_events, c_b[t].input_synaptic_events)
            for u, v in zip(c_a[t].spike_counts + c_a[t].synaptic_events,
                            c_b[t].spike_counts + c_b[t].synaptic_events, strict=True):
                assert torch.equal(u, v)


@pytest.mark.slow
def test_tradeoff_simulations_on_dask_equal_local_and_survive_a_killed_worker():
    from nmpkit.studies.tradeoff_sim import simulate_budgets_many

    net, x, y = _net_and_data()
    models = [cosim.IFNeuron(lower_bound=f) for f in (None, 0.0, -0.5)]
    kw = {"steps": [6, 10, 16], "batch": 3, "energy_samples": 7}
    local = simulate_budgets_many(net, x, y, models, **kw)
    one_local = simulate_budgets_many(net, x, y, models[1:2], **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            _same_budgets(simulate_budgets_many(net, x, y, models, scheduler=client, **kw),
                          local)
        ran = [t for t in stream.data if str(t["key"]).startswith("nmpkit-sim-")]
        assert len(ran) == 4  # 10 images by 3 to T=16, the first 3 chunks (7 images priced)
        # keeping their counts at T=6 and T=10: no second run
        _same_budgets(simulate_budgets_many(net, x, y, models[1:2], scheduler=client, **kw),
                      one_local)
        # the long run's chunks (same content-addressed keys as the tradeoff's) finish, a
        # worker holding some dies, the tradeoff's call asks for them: recomputed elsewhere
        pairs, data = submit_variants(client, net, x[:9], models, batch=3, timesteps=16,
                                      count_steps=(6, 10))
        distributed.wait([f for _, f in pairs])
        held = client.who_has([f for _, f in pairs])
        victim = next(iter(next(ws for ws in held.values() if ws)))
        assert [k for k, ws in held.items() if set(ws) == {victim}]
        os.kill(client.run(os.getpid)[victim], signal.SIGKILL)
        deadline = time.monotonic() + 60  # a wait, not a timed assertion
        while victim in client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert victim not in client.scheduler_info()["workers"]
        client.wait_for_workers(2, timeout=60)  # the nanny's restarted worker
        got = simulate_budgets_many(net, x, y, models, scheduler=client, **kw)
        del data, pairs
        _same_budgets(got, local)


@pytest.mark.slow
def test_optimize_evaluations_on_dask_equal_local_and_survive_a_killed_worker(tmp_path):
    """`nmpkit optimize`'s engine runs (DesignEvaluator.evaluate) with the repository's
    calibrated neuron (per-layer neurons, transfer curve, floor): the cluster's chunks equal the
    local loop's, and after a worker holding some of them dies, too."""
    from pathlib import Path

    from calib import Calibration
    from circuits.design import preset
    from cosim.calibrated import calibrated_neurons
    from cosim.convert import resolve_shapes
    from nmpkit.studies.optimize_eval import DesignEvaluator
    from nmpkit.studies.tradeoff import Classifier

    torch.set_num_threads(1)
    cal = Calibration.load(Path(__file__).parents[3] / "results" / "calibration"
                           / "calibration-default.json")
    net, x, y = _net_and_data()
    net = resolve_shapes(net, tuple(x.shape[1:]))  # the energy model's fan-outs need the shapes
    clf = Classifier(net=net, x=x, y=y, ann_accuracy=0.0, info={"net": "dyadic"})
    design = preset("default", v_dd_volts=cal.v_dd_volts, v_neg_volts=cal.v_neg_volts)
    kw = {"timesteps": 14, "batch": 3}
    local = DesignEvaluator(clf, out_dir=tmp_path / "local", **kw)
    want = [local.evaluate(cal, d) for d in (None, design)]

    def same(got, ref):
        np.testing.assert_array_equal(got.correct, ref.correct)
        assert (got.energy_joules, got.spikes_per_inference, got.floor_theta) == \
            (ref.energy_joules, ref.spikes_per_inference, ref.floor_theta)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        on = DesignEvaluator(clf, out_dir=tmp_path / "dask", scheduler=client, **kw)
        with distributed.get_task_stream(client) as stream:
            for d, ref in zip((None, design), want, strict=True):
                same(on.evaluate(cal, d), ref)
        ran = [t for t in stream.data if str(t["key"]).startswith("nmpkit-sim-")]
        assert len(ran) == 2 * 4  # 10 images by 3, for NMP and the design: on the cluster
        neurons = calibrated_neurons(cal, [ly.shape for ly in net.layers],
                                     v_neg_volts=design.v_neg_volts)
        pairs, data = submit_variants(client, net, x, [neurons], batch=3, timesteps=14)
        distributed.wait([f for _, f in pairs])
        held = client.who_has([f for _, f in pairs])
        victim = next(iter(next(ws for ws in held.values() if ws)))
        assert [k for k, ws in held.items() if set(ws) == {victim}]
        os.kill(client.run(os.getpid)[victim], signal.SIGKILL)
        deadline = time.monotonic() + 60  # a wait, not a timed assertion
        while victim in client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert victim not in client.scheduler_info()["workers"]
        got = on.evaluate(cal, design)
        del data, pairs
        same(got, want[1])


def test_neuron_digest_sees_every_field_of_the_neuron():
    """Two neurons that differ in any one IFNeuron field get different digests (the tradeoff's
    parts and the Dask chunks are keyed by it); equal neurons, rebuilt, get equal ones."""
    import dataclasses

    import torch

    from cosim import IFNeuron
    from nmpkit.studies.distributed import neuron_digest

    x = torch.linspace(-1, 2, 7, dtype=torch.float64)
    base = IFNeuron(threshold=1.0, gain=1.0, lower_bound=-1.0, transfer=(x, x.clamp(min=0)))
    changed = {"threshold": 1.5, "gain": torch.tensor(0.9), "lower_bound": 0.0, "reset": "zero",
               "transfer": (x, x.clamp(min=0) * 0.99), "refractory_steps": 1, "v_init": 0.25}
    names = {f.name for f in dataclasses.fields(IFNeuron)}
    assert names <= set(changed), f"a new IFNeuron field needs a case here: {names - set(changed)}"
    d0 = neuron_digest([base, None])
    rebuilt = IFNeuron(threshold=1.0, gain=1.0, lower_bound=-1.0,
                       transfer=(x.clone(), x.clamp(min=0).clone()))
    assert neuron_digest([rebuilt, None]) == d0
    for name, value in changed.items():
        assert neuron_digest([dataclasses.replace(base, **{name: value}), None]) != d0, name
    assert neuron_digest(base) != neuron_digest([base, base])


def _slow_square(v: int) -> int:
    time.sleep(3)  # still running when the test cancels it
    return v * v


def test_a_chunk_the_cluster_cancels_is_computed_here():
    """A future Dask cancels ("already forgotten": one client released a content-addressed key
    while another submitted it again; seen once in CI) is not an error: its chunk is computed
    locally by the same function, and the other chunks keep the cluster's results."""
    from nmpkit.studies.distributed import results_or_local

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        done = client.submit(lambda v: v * v, 3, key="nmpkit-test-done", pure=True)
        slow = client.submit(_slow_square, 4, key="nmpkit-test-slow", pure=True)
        done.result()
        slow.cancel()
        pairs = [(slice(3, 4), done), (slice(4, 5), slow)]
        local = []
        got = results_or_local(pairs, lambda sl: local.append(sl.start) or sl.start ** 2)
    assert got == [9, 16]
    assert local == [4]  # only the cancelled chunk ran here
