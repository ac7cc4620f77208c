"""NIR interop with peer SNN tools, through their own NIR export and import.

Each peer runs its own step loop; spike counts per neuron are compared with ``cosim.simulate``
after configuring both sides to the same semantics. What differs by default (and is set here):

- SpikingJelly 2.0 (``nir_exchange``): v += x (it writes ``r = 1/dt``: import with the same dt);
  spike when v >= θ; its export refuses soft reset, so its graphs are hard-reset (ours:
  ``reset="zero"``); after importing ours, ``v_reset = None`` gives its soft reset (subtract).
  No floor.
- sinabs 3.1: v += x, spike when v >= θ, reset by subtraction; its default ``MultiSpike``
  (floor(v/θ) spikes per step) is set to ``SingleSpike``; its ``from_nir`` puts a floor at
  −v_threshold, set here to the floor of our metadata (it applies ``relu(v − m) + m``, equal to
  max(v, m) when the sums are exact). Its export writes neither floor nor reset.
- Norse 1.1: v += x (``r`` ignored), spike when v > θ (strict), reset to v_reset = 0 (ours:
  ``reset="zero"``; the strict ">" is ours with threshold = the next float32 above θ).
  Its export has no Flatten node and writes scalar IF parameters and a batch-of-one Input.

Dyadic weights and inputs keep every sum exact, so the counts must be identical; on ordinary
float data the counts are compared too (equal in every run so far; a difference would be a
float-order effect of ±1 and is bounded below).
"""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

nir = pytest.importorskip("nir")

from cosim import IFNeuron, convert, from_nir, simulate, to_nir  # noqa: E402
from cosim.nir import NIRImportWarning  # noqa: E402

torch.set_num_threads(1)
# the peers' own deprecations (nirtorch's old API, which sinabs and Norse still call)
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:nirtorch.*"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:sinabs.*"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:norse.*"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:spikingjelly.*")]
GT = float(np.nextafter(np.float32(1.0), np.float32(2.0)))  # v >= GT  <=>  v > 1 (float32)


def fill_(model: nn.Module, g: torch.Generator, dyadic: bool) -> nn.Module:
    with torch.no_grad():  # synapses only: sinabs keeps thresholds and floors as parameters
        for p in (p for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)
                  for p in m.parameters()):
            p.copy_(torch.randint(-6, 7, p.shape, generator=g).float() / 16 if dyadic
                    else torch.randn(p.shape, generator=g) * 0.6)
    return model


def data(g: torch.Generator, shape: tuple[int, ...], dyadic: bool, n: int = 6) -> torch.Tensor:
    if dyadic:
        return torch.randint(0, 17, (n, *shape), generator=g).float() / 16
    return torch.rand((n, *shape), generator=g)


def diffs(peer: list[torch.Tensor], ours, bound: int | None = 1) -> list[int]:
    """Neurons whose counts differ, per layer (none by more than ``bound`` spikes)."""
    out = []
    for a, b in zip(peer, ours.spike_counts, strict=True):
        d = (a.reshape(b.shape).long() - b.long()).abs()
        assert bound is None or int(d.max()) <= bound, f"a count differs by {int(d.max())}"
        out.append(int((d > 0).sum()))
    return out


def imported(graph, **kw):
    with pytest.warns(NIRImportWarning, match="no 'nmpkit' metadata"):
        return from_nir(graph, **kw)


# ---- SpikingJelly ----------------------------------------------------------------
def sj_run(gm: nn.Module, x: torch.Tensor, T: int) -> list[torch.Tensor]:
    wrappers = [m for m in gm.modules() if type(m).__name__ == "_NIRStatefulModule"]
    counts: list = [0] * len(wrappers)

    def hook(i):
        def h(_m, _inp, out):
            counts[i] = counts[i] + out[0].detach()
        return h

    hs = [w.register_forward_hook(hook(i)) for i, w in enumerate(wrappers)]
    state = None
    with torch.no_grad():
        for _ in range(T):
            _, state = gm(x, state)
    for h in hs:
        h.remove()
    return counts


def sj_net(g: torch.Generator, dyadic: bool) -> nn.Module:
    from spikingjelly.activation_based import layer, neuron

    return fill_(nn.Sequential(
        layer.Conv2d(1, 4, 3, padding=1), neuron.IFNode(v_reset=0.0), layer.AvgPool2d(2),
        layer.Flatten(), layer.Linear(64, 6), neuron.IFNode(v_reset=0.0)), g, dyadic)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), dyadic=st.booleans())
def test_spikingjelly_export_runs_here(seed, dyadic):
    pytest.importorskip("spikingjelly.activation_based.nir_exchange")
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    g = torch.Generator().manual_seed(seed)
    net_sj = sj_net(g, dyadic)
    x = data(g, (1, 8, 8), dyadic)
    graph = export_to_nir(net_sj, x[:1], dt=1e-4)  # its default step: r = 1e4
    net = imported(graph, dt=1e-4)
    assert net.neuron[0].gain == 1.0
    from spikingjelly.activation_based import functional
    functional.reset_net(net_sj)
    T = 40
    spikes: list = [0, 0]
    ifs = [m for m in net_sj.modules() if type(m).__name__ == "IFNode"]
    hs = [m.register_forward_hook(lambda _m, _i, o, k=k: spikes.__setitem__(k, spikes[k] + o))
          for k, m in enumerate(ifs)]
    with torch.no_grad():
        for _ in range(T):
            net_sj(x)
    for h in hs:
        h.remove()
    peer = [s.detach() for s in spikes]
    assert diffs(peer, simulate(net, x, timesteps=T, reset="zero")) == [0, 0]


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("dyadic", [True, False])
def test_exported_here_runs_in_spikingjelly(reset, dyadic, tmp_path):
    pytest.importorskip("spikingjelly.activation_based.nir_exchange")
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    g = torch.Generator().manual_seed(11)
    model = fill_(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                                nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                nn.Flatten(), nn.Linear(6, 5)), g, dyadic)
    x = data(g, (1, 8, 8), dyadic)
    net = convert(model, None if dyadic else x, input_shape=(1, 8, 8))
    path = tmp_path / "net.nir"
    nir.write(path, to_nir(net, IFNeuron(reset=reset)))
    gm = import_from_nir(path, dt=1.0)
    if reset == "subtract":  # SpikingJelly's soft reset; NIR's IF itself resets to v_reset
        for m in gm.modules():
            if type(m).__name__ == "IFNode":
                m.v_reset = None
    T = 50
    assert diffs(sj_run(gm, x, T), simulate(from_nir(path), x, timesteps=T)) == [0, 0, 0]


# ---- sinabs ----------------------------------------------------------------
def sinabs_run(model: nn.Module, x: torch.Tensor, T: int) -> list[torch.Tensor]:
    import sinabs.layers as sl

    ifs = [m for m in model.modules() if isinstance(m, sl.IAFSqueeze)]
    outs: list[torch.Tensor] = []
    hs = [m.register_forward_hook(lambda _m, _i, o: outs.append(o.detach())) for m in ifs]
    for m in ifs:
        m.reset_states()
    flat = x.unsqueeze(1).expand(x.shape[0], T, *x.shape[1:]).reshape(-1, *x.shape[1:])
    with torch.no_grad():
        model(flat)  # (batch × time) in one tensor: constant current every step
    for h in hs:
        h.remove()
    return [o.reshape(x.shape[0], T, *o.shape[1:]).sum(1) for o in outs]


@pytest.mark.parametrize("floor", [None, 0.0, -0.5])
@pytest.mark.parametrize("dyadic", [True, False])
def test_sinabs_export_runs_here(floor, dyadic):
    pytest.importorskip("sinabs")
    import sinabs.layers as sl
    from sinabs import nir as snir
    from sinabs.activation import SingleSpike

    g = torch.Generator().manual_seed(5)
    B = 6
    model = fill_(nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike,
                                                     min_v_mem=floor),
        sl.SumPool2d(2), nn.Flatten(), nn.Linear(48, 5),
        sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike, min_v_mem=floor)), g, dyadic)
    x = data(g, (1, 8, 8), dyadic, n=B)
    T = 40
    peer = sinabs_run(model, x, T)
    net = imported(snir.to_nir(model, x))  # sinabs writes neither the floor nor the reset
    assert [op.options.get("divisor_override") for op in net.layers[1].ops[:1]] == [1]
    assert diffs(peer, simulate(net, x, timesteps=T, lower_bound=floor)) == [0, 0]
    if floor is not None:  # the floor changes the spikes here, so the test can see it
        assert sum(diffs(peer, simulate(net, x, timesteps=T), bound=None)) > 0


@pytest.mark.parametrize("floor", [None, 0.0, -0.5])
def test_exported_here_runs_in_sinabs(floor, tmp_path):
    pytest.importorskip("sinabs")
    import sinabs.layers as sl
    from sinabs import nir as snir
    from sinabs.activation import SingleSpike

    g = torch.Generator().manual_seed(6)
    model = fill_(nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                nn.Linear(192, 5)), g, dyadic=True)
    B, T = 5, 40
    x = data(g, (1, 8, 8), True, n=B)
    net = convert(model, input_shape=(1, 8, 8))
    path = tmp_path / "net.nir"
    nir.write(path, to_nir(net, IFNeuron(lower_bound=floor)))
    graph = nir.read(path)
    peer_model = snir.from_nir(graph, batch_size=B)
    meta = graph.metadata["nmpkit"]["layers"]
    for name, m in peer_model.named_modules():
        if isinstance(m, sl.IAFSqueeze):  # its import: MultiSpike and a floor at -v_threshold
            m.spike_fn = SingleSpike
            lb = meta[name]["lower_bound"]
            m.min_v_mem = None if lb == "none" else \
                nn.Parameter(float(lb) * m.spike_threshold.data, requires_grad=False)
    peer = sinabs_run(peer_model, x, T)
    assert diffs(peer, simulate(from_nir(path), x, timesteps=T)) == [0, 0]
    if floor is not None:
        assert sum(diffs(peer, simulate(net, x, timesteps=T), bound=None)) > 0


# ---- Norse ----------------------------------------------------------------
def norse_run(model: nn.Module, x: torch.Tensor, T: int) -> list[torch.Tensor]:
    import norse.torch as nt

    cells = [c for c in model.modules() if isinstance(c, nt.IAFCell)]
    counts: list = [0] * len(cells)

    def hook(i):
        def h(_m, _inp, out):
            counts[i] = counts[i] + out[0].detach()
        return h

    hs = [c.register_forward_hook(hook(i)) for i, c in enumerate(cells)]
    state = None
    with torch.no_grad():
        for _ in range(T):
            _, state = model(x, state)
    for h in hs:
        h.remove()
    return counts


def test_norse_export_runs_here_and_ties_explain_the_differences():
    pytest.importorskip("norse")
    import norse.torch as nt

    g = torch.Generator().manual_seed(2)
    model = fill_(nt.SequentialState(nn.Linear(20, 16), nt.IAFCell(), nn.Linear(16, 5),
                                     nt.IAFCell()), g, dyadic=True)
    x = data(g, (20,), True, n=8)
    T = 60
    peer = norse_run(model, x, T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRImportWarning)
        net = from_nir(nt.to_nir(model, x[:1]))
    # with our v >= θ, every tie v == θ fires one step earlier than Norse's v > θ
    ge = diffs(peer, simulate(net, x, timesteps=T, reset="zero"), bound=None)
    assert sum(ge) > 0  # dyadic sums hit v == θ exactly
    # the same rule as Norse's (v > θ as v >= next float above θ): identical counts
    assert diffs(peer, simulate(net, x, timesteps=T,
                                neuron=IFNeuron(threshold=GT, reset="zero"))) == [0, 0]


def test_exported_here_runs_in_norse():
    pytest.importorskip("norse")
    import norse.torch as nt

    g = torch.Generator().manual_seed(3)
    model = fill_(nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5)), g, False)
    x = data(g, (20,), False, n=8)
    net = convert(model, x)
    T = 60
    peer = norse_run(nt.from_nir(to_nir(net, IFNeuron(reset="zero"))), x, T)
    assert diffs(peer, simulate(net, x, timesteps=T, reset="zero")) == [0, 0]
    # exporting the strict rule makes Norse's v > θ' equal to ours on any data
    dy = torch.randint(0, 17, (8, 20), generator=g).float() / 16
    fill_(model, g, dyadic=True)
    net = convert(model, input_shape=(20,))
    peer = norse_run(nt.from_nir(to_nir(net, IFNeuron(reset="zero"))), dy, T)
    assert diffs(peer, simulate(net, dy, timesteps=T, neuron=IFNeuron(threshold=GT,
                                                                       reset="zero"))) == [0, 0]
