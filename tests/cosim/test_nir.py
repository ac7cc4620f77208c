"""cosim.to_nir / from_nir: the network, its floor, reset and calibrated neurons survive a NIR file.

Dyadic weights and inputs (multiples of 1/16, few terms) make every sum exact, so a round trip
must give bit-identical spike counts whatever order the engine sums in.
"""

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

nir = pytest.importorskip("nir")

from calib import fit  # noqa: E402
from cosim import IFNeuron, calibrated_neurons, convert, from_nir, simulate, to_nir  # noqa: E402
from cosim.errors import NIRError  # noqa: E402
from cosim.nir import (  # noqa: E402
    SCHEMA_KEY,
    NIRImportWarning,
    calibration_provenance,
    nir_metadata,
    with_neuron,
)
from tests.calib import synth_tables as syn  # noqa: E402
from tests.cosim.cosim_reference import RefNeuron, run_reference  # noqa: E402

torch.set_num_threads(1)


def dyadic_(model: nn.Module, g: torch.Generator) -> nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-6, 7, p.shape, generator=g).float() / 16)
    return model


def conv_model(g: torch.Generator) -> nn.Module:
    return dyadic_(nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(3, 4, 3, stride=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 5)), g)


def dyadic_input(g: torch.Generator, n: int = 6) -> torch.Tensor:
    return torch.randint(0, 17, (n, 1, 8, 8), generator=g).float() / 16


def counts(res) -> list[torch.Tensor]:
    return [c.clone() for c in res.spike_counts]


def same_counts(a, b) -> None:
    for ca, cb in zip(counts(a), counts(b), strict=True):
        assert torch.equal(ca, cb)


def through_file(graph, tmp_path):
    path = tmp_path / "net.nir"
    nir.write(path, graph)
    return nir.read(path)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), lb=st.sampled_from([None, 0.0, -0.5, -2.0]),
       reset=st.sampled_from(["subtract", "zero"]))
def test_round_trip_through_a_file_gives_the_same_spikes(seed, lb, reset, tmp_path_factory):
    g = torch.Generator().manual_seed(seed)
    net = convert(conv_model(g), input_shape=(1, 8, 8))
    x = dyadic_input(g)
    neuron = IFNeuron(lower_bound=lb, reset=reset)
    back = from_nir(through_file(to_nir(net, neuron), tmp_path_factory.mktemp("n")))
    assert back.neuron == (neuron,) * 3
    assert [ly.shape for ly in back.layers] == [ly.shape for ly in net.layers]
    assert [op.kind for ly in back.layers for op in ly.ops] == \
        [op.kind for ly in net.layers for op in ly.ops]
    T = 40
    same_counts(simulate(net, x, timesteps=T, lower_bound=lb, reset=reset),
                simulate(back, x, timesteps=T))  # the imported floor and reset by default
    # an independent step loop on the original torch model agrees too
    ref = run_reference(conv_model(torch.Generator().manual_seed(seed)), x, T,
                        [RefNeuron(lower_bound=lb, reset=reset)] * 3)
    assert torch.equal(simulate(back, x, timesteps=T).output_counts.long(),
                       ref["counts"][-1].long())


def test_normalized_network_keeps_scales_and_names(tmp_path):
    g = torch.Generator().manual_seed(3)
    model = conv_model(g)
    x = torch.rand(32, 1, 8, 8, generator=g)
    net = convert(model, x, percentile=99.0)
    back = from_nir(through_file(to_nir(net), tmp_path))
    assert [(ly.name, ly.scale, ly.relu) for ly in back.layers] == \
        [(ly.name, ly.scale, ly.relu) for ly in net.layers]
    assert back.neuron == (IFNeuron(),) * 3  # the ideal IF, written out as NMP + subtract
    assert back.output_scale == net.output_scale
    for a, b in zip(net.layers, back.layers, strict=True):
        for oa, ob in zip(a.ops, b.ops, strict=True):
            assert oa.kind == ob.kind and oa.source == ob.source
            if oa.weight is not None:
                assert torch.equal(oa.weight, ob.weight)
    same_counts(simulate(net, x[:8], timesteps=30, schedule="dense"),
                simulate(back, x[:8], timesteps=30, schedule="dense"))


def test_scale_op_of_a_weightless_layer_round_trips(tmp_path):
    g = torch.Generator().manual_seed(4)
    model = dyadic_(nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.AvgPool2d(2), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(27, 4)), g)
    x = torch.rand(16, 1, 8, 8, generator=g)
    net = convert(model, x)
    assert net.layers[1].ops[-1].kind == "scale"
    back = from_nir(through_file(to_nir(net), tmp_path))
    assert torch.equal(back.layers[1].ops[-1].weight, net.layers[1].ops[-1].weight)
    same_counts(simulate(net, x, timesteps=30, schedule="dense"),
                simulate(back, x, timesteps=30, schedule="dense"))


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    return fit(syn.write_tables(tmp_path_factory.mktemp("t")))


def test_calibrated_neurons_and_provenance_survive(cal, tmp_path):
    g = torch.Generator().manual_seed(1)
    net = convert(conv_model(g), input_shape=(1, 8, 8))
    x = dyadic_input(g)
    neurons = calibrated_neurons(cal, [ly.shape for ly in net.layers], v_neg_volts=-0.5,
                                 generator=torch.Generator().manual_seed(7))
    assert isinstance(neurons[0].threshold, torch.Tensor) and neurons[0].transfer is not None
    prov = calibration_provenance(cal, v_neg_volts=-0.5, seed=7)
    graph = through_file(to_nir(net, neurons, provenance=prov), tmp_path)
    back = from_nir(graph)
    for a, b in zip(neurons, back.neuron, strict=True):
        assert torch.equal(torch.broadcast_to(a.threshold, b.threshold.shape), b.threshold)
        assert torch.equal(torch.broadcast_to(a.gain, b.gain.shape), b.gain)
        assert a.lower_bound == b.lower_bound and a.reset == b.reset
        assert a.refractory_steps == b.refractory_steps
        assert all(torch.equal(p, q) for p, q in zip(a.transfer, b.transfer, strict=True))
    # the per-neuron parameters sit in NIR's own fields, where other tools read them
    assert np.array_equal(graph.nodes["layer0_if"].v_threshold, neurons[0].threshold.numpy())
    meta = nir_metadata(graph)
    assert meta["schema_version"] == 1 and meta["spikes_per_step"] == 1
    assert meta["calibration"]["sha256"] == prov["sha256"]
    assert meta["calibration"]["v_neg_volts"] == -0.5 and meta["calibration"]["mismatch_seed"] == 7
    assert meta["calibration"]["v_dd_volts"] == cal.v_dd_volts
    T = 60
    same_counts(simulate(net, x, timesteps=T, neuron=neurons), simulate(back, x, timesteps=T))


def test_graph_without_metadata_imports_as_nmp_subtract_and_says_so():
    g = torch.Generator().manual_seed(2)
    net = convert(conv_model(g), input_shape=(1, 8, 8))
    graph = to_nir(net, IFNeuron(lower_bound=0.0, reset="zero"))
    graph.metadata = {}
    with pytest.warns(NIRImportWarning, match="NMP.*subtraction"):
        back = from_nir(graph)
    assert back.neuron == (IFNeuron(),) * 3
    x = dyadic_input(g)
    same_counts(simulate(net, x, timesteps=30), simulate(back, x, timesteps=30))
    # the caller's floor and reset still apply to an imported network
    same_counts(simulate(net, x, timesteps=30, lower_bound=0.0, reset="zero"),
                simulate(back, x, timesteps=30, lower_bound=0.0, reset="zero"))
    zmp = with_neuron(back, lower_bound=0.0)
    same_counts(simulate(net, x, timesteps=30, lower_bound=0.0), simulate(zmp, x, timesteps=30))


def test_unsupported_node_is_named_with_its_type():
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}),
               "fc": nir.Affine(weight=np.ones((2, 3), np.float32), bias=np.zeros(2, np.float32)),
               "leaky": nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                                v_threshold=np.ones(2)),
               "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", "leaky"), ("leaky", "output")])
    with pytest.raises(NIRError, match=r"node 'leaky' of type LIF is not supported"):
        from_nir(graph)
    assert issubclass(NIRError, ValueError)


def test_bad_graphs_and_ops_get_clear_errors():
    net = convert(nn.Sequential(nn.ConvTranspose2d(1, 2, 2), nn.ReLU()), input_shape=(1, 4, 4))
    with pytest.raises(NIRError, match="conv_transpose2d.*no NIR node"):
        to_nir(net)
    g = torch.Generator().manual_seed(0)
    graph = to_nir(convert(conv_model(g), input_shape=(1, 8, 8)))
    graph.metadata[SCHEMA_KEY]["schema_version"] = 99
    with pytest.raises(NIRError, match="schema_version must be 1, got 99"):
        from_nir(graph)
    graph.metadata[SCHEMA_KEY]["schema_version"] = 1
    graph.edges.append(("layer0_if", "output"))
    with pytest.raises(NIRError, match="feed-forward chains only"):
        from_nir(graph)
    tail = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}),
               "fc": nir.Affine(weight=np.ones((2, 3), np.float32), bias=np.zeros(2, np.float32)),
               "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", "output")])
    with pytest.raises(NIRError, match="no IF node"):
        from_nir(tail)
    with pytest.raises(NIRError, match="sequence of 3 IFNeurons"):
        to_nir(convert(conv_model(g), input_shape=(1, 8, 8)), [IFNeuron()])


def test_network_neuron_travels_through_to_and_simulate():
    g = torch.Generator().manual_seed(5)
    net = convert(conv_model(g), input_shape=(1, 8, 8))
    floored = dataclasses.replace(net, neuron=(IFNeuron(lower_bound=-1.0),) * 3)
    x = dyadic_input(g)
    assert floored.to("cpu").neuron == floored.neuron
    same_counts(simulate(net, x, timesteps=25, lower_bound=-1.0),
                simulate(floored, x, timesteps=25))
    assert from_nir(to_nir(floored)).neuron == floored.neuron
    with pytest.raises(ValueError, match="tuple of 3 IFNeurons"):
        dataclasses.replace(net, neuron=(IFNeuron(),))


def test_the_start_membrane_travels_through_a_file(tmp_path):
    g = torch.Generator().manual_seed(6)
    net = convert(conv_model(g), input_shape=(1, 8, 8))
    neurons = (IFNeuron(lower_bound=-0.5, v_init=0.25), IFNeuron(v_init=-0.75), IFNeuron())
    back = from_nir(through_file(to_nir(net, neurons), tmp_path))
    assert [n.v_init for n in back.neuron] == [0.25, -0.75, 0.0]
    x = dyadic_input(g)
    same_counts(simulate(net, x, timesteps=20, neuron=neurons), simulate(back, x, timesteps=20))
