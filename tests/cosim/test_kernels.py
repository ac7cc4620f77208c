"""The compiled kernels (cosim.kernels) against the step-by-step reference, at their edges.

Wide layers exercise what the small random networks of test_engine do not reach: input pixels
whose channel bits straddle 64-bit words, several 64-channel passes of the event-driven
convolution and of the event-driven Linear, ragged tails, per-neuron thresholds, floors, both
resets, every time block and chunk size. Dyadic grid: equality, not closeness.

The calibrated-neuron test uses arbitrary floats: the fused C++ IF update must perform the torch
step's float32 operations (gain, transfer curve, refractoriness) bit for bit, so with the same
(dense) synaptic currents the kernels and the pure-torch engine give identical spikes and
membrane readouts.

``NMPKIT_COSIM_KERNELS=generic`` builds the portable (scalar) code and ``=avx2`` the AVX2 paths
on an AVX-512 CPU; subprocesses rerun these tests with every build other than the default one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import cosim
from cosim import kernels
from tests.cosim.cosim_reference import (
    RefNeuron,
    check_floor_statistics,
    layer_shapes,
    membrane_predictions,
    run_reference,
)
from tests.cosim.strategies import dyadic_

torch.set_num_threads(1)
_EXAMPLES = int(os.environ.get("NMPKIT_TEST_KERNEL_EXAMPLES", "60"))


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_wide_layers_equal_reference(data):
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    g = torch.Generator().manual_seed(seed)
    c_in = data.draw(st.sampled_from([1, 3, 20, 63, 64, 70]), label="c_in")
    c_mid = data.draw(st.sampled_from([2, 17, 50, 64, 70]), label="c_mid")
    c_out = data.draw(st.sampled_from([1, 6, 16, 24, 33, 50, 60, 64, 65, 70, 130]),
                          label="c_out")
    hw = data.draw(st.integers(3, 6), label="hw")
    k = data.draw(st.integers(1, 3), label="k")
    pad = data.draw(st.integers(0, 1), label="pad")
    stride = data.draw(st.integers(1, 2), label="stride")
    dil = data.draw(st.integers(1, 2), label="dilation") if (k - 1) * 2 < hw + 2 * pad else 1
    conv2 = nn.Conv2d(c_mid, c_out, k, stride=stride, padding=pad, dilation=dil,
                      bias=data.draw(st.booleans(), label="bias"))
    with torch.no_grad():
        side = conv2(torch.zeros(1, c_mid, hw, hw)).shape[-1]
    n_fc = data.draw(st.sampled_from([3, 64, 100, 150]), label="n_fc")
    model = nn.Sequential(nn.Conv2d(c_in, c_mid, 1), nn.ReLU(), conv2, nn.ReLU(), nn.Flatten(),
                          nn.Linear(c_out * side * side, n_fc), nn.ReLU(),
                          nn.Linear(n_fc, data.draw(st.integers(1, 70), label="n_out"))).eval()
    dyadic_(model, g)
    shapes = layer_shapes(model, (c_in, hw, hw))
    B = data.draw(st.integers(1, 4), label="B")
    T = data.draw(st.integers(1, 14), label="T")
    x = torch.randint(-4, 17, (B, c_in, hw, hw), generator=g).float() / 16
    lb = data.draw(st.sampled_from([None, 0.0, -0.5, -2.0, 0.125]), label="lb")
    reset = data.draw(st.sampled_from(["subtract", "zero"]), label="reset")
    per_neuron = data.draw(st.booleans(), label="per-neuron thresholds")
    ths = [torch.randint(8, 33, s, generator=g).float() / 16 if per_neuron else 1.0
           for s in shapes]
    neurons = [cosim.IFNeuron(threshold=t, lower_bound=lb, reset=reset) for t in ths]
    refs = [RefNeuron(threshold=t, lower_bound=lb, reset=reset) for t in ths]
    res = cosim.simulate(
        cosim.convert(model), x, timesteps=T, neuron=neurons,
        schedule=data.draw(st.sampled_from(["auto", "dense", "sparse"]), label="schedule"),
        time_block=data.draw(st.integers(1, 7), label="time_block"),
        chunk_size=data.draw(st.sampled_from([None, 1, 3]), label="chunk"), record_floor=True)
    ref = run_reference(model, x, T, refs)
    for i, (a, b) in enumerate(zip(res.spike_counts, ref["counts"], strict=True)):
        assert torch.equal(a.long(), b.long()), f"layer {i} spike counts differ"
    assert torch.equal(res.output_spikes, ref["out_spikes"])
    check_floor_statistics(res, ref)
    assert torch.equal(res.predictions_membrane.long(),
                       membrane_predictions(ref["out_spikes"], ref["out_v"]))


def _random_transfer(g: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    xs = torch.sort(torch.randn(n, generator=g) * 1.5).values
    xs = xs + torch.arange(n) * 1e-3  # strictly increasing
    ys = torch.cumsum(torch.rand(n, generator=g) * 0.8, 0) - 1.3
    return xs.float(), ys.float()


@pytest.mark.parametrize("seed", range(6))
def test_fused_calibrated_neuron_is_the_torch_step(seed):
    """Arbitrary floats: the kernels' IF update equals the torch step bit for bit."""
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(2, 20, 3), nn.ReLU(), nn.Conv2d(20, 24, 3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(24 * 5 * 5, 37), nn.ReLU(),
                          nn.Linear(37, 10)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.4)
    x = torch.rand((5, 2, 9, 9), generator=g) * 1.3 - 0.2
    net = cosim.convert(model)
    shapes = [ly.shape for ly in net.layers]
    kinds = [seed % 4, (seed + 1) % 4, (seed + 2) % 4, (seed + 3) % 4]
    neurons = []
    for shape, kind in zip(shapes, kinds, strict=True):
        gain = 1.0 / 3.0 if kind in (0, 2) else torch.rand(shape, generator=g) * 1.5 + 0.2
        neurons.append(cosim.IFNeuron(
            threshold=torch.rand(shape, generator=g) * 0.8 + 0.6 if kind != 3 else 0.9,
            gain=gain, lower_bound=(None, -0.37, 0.0, -1.1)[kind],
            reset="zero" if kind == 1 else "subtract",
            transfer=_random_transfer(g, (2, 17, 64, 65, 100)[(kind + seed) % 5])
            if kind != 3 else None,
            refractory_steps=kind % 3))
    kw = dict(timesteps=23, neuron=neurons, schedule="dense", time_block=5, chunk_size=3)
    ours = cosim.simulate(net, x, **kw)
    torch_only = cosim.simulate(net, x, kernels=False, **kw)
    assert "compiled" in ours.schedule["kernels"]
    for a, b in zip(ours.spike_counts, torch_only.spike_counts, strict=True):
        assert torch.equal(a, b)
    assert torch.equal(ours.output_spikes, torch_only.output_spikes)
    assert torch.equal(ours.predictions_membrane, torch_only.predictions_membrane)
    assert sum(int(c.sum()) for c in ours.spike_counts) > 0


def test_bits_round_trip():
    ext = kernels.load()
    g = torch.Generator().manual_seed(0)
    for n in (1, 63, 64, 65, 200):
        x = (torch.rand((7, n), generator=g) < 0.3).float()
        words = ext.pack_bits(x)
        assert words.shape == (7, (n + 63) // 64)
        assert torch.equal(ext.unpack_bits(words, n, torch.zeros(0)), x)


def _cpu_flags() -> set[str]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    return set(next((ln for ln in text.splitlines() if ln.startswith("flags")), "").split())


def _native_isa() -> str:
    """The instruction set a native build must use on this CPU (cosim/csrc/common.h)."""
    flags = _cpu_flags()
    return ("avx512" if {"avx512f", "avx512dq"} <= flags
            else "avx2" if "avx2" in flags else "generic")


def test_kernel_build_matches_environment():
    """status() names the instruction set the build took, the one this CPU and the mode give."""
    mode = os.environ.get("NMPKIT_COSIM_KERNELS", "1")
    if mode == "0":
        pytest.skip("kernels disabled")
    expected = {"generic": "generic",
                "avx2": "avx2" if "avx2" in _cpu_flags() else "generic"}.get(mode, _native_isa())
    assert kernels.status() == f"compiled kernels ({expected})"
    assert kernels.load().isa() == expected


def test_each_checkout_builds_in_its_own_cache_folder(tmp_path):
    """Same sources in two folders: two names (ninja would rebuild one folder whenever the paths
    change); the name is stable and moves with the content and the flags."""
    import shutil

    a, b = tmp_path / "a" / "csrc", tmp_path / "b" / "csrc"
    shutil.copytree(kernels.SOURCE_DIR, a)
    shutil.copytree(kernels.SOURCE_DIR, b)
    flags = ("-O3",)
    assert kernels.source_hash(a) == kernels.source_hash(b)
    assert kernels.build_tag(a, flags) != kernels.build_tag(b, flags)
    assert kernels.build_tag(a, flags) == kernels.build_tag(a, list(flags))
    assert kernels.build_tag(a, flags) != kernels.build_tag(a, ("-O2",))
    before = kernels.build_tag(a, flags)
    (a / "neuron.h").write_text((a / "neuron.h").read_text() + "\n// changed\n")
    assert kernels.build_tag(a, flags) != before


def test_unknown_build_mode_is_refused():
    with pytest.raises(ValueError, match="kernel build mode must be one of native, avx2, generic"):
        kernels.build("sse9")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["generic", "avx2"])
def test_other_kernel_builds_equal_too(mode):
    """The same tests, and the MNIST-like network, with the portable build and the AVX2 build
    (where the default build is another one: on an AVX-512 CPU)."""
    if os.environ.get("NMPKIT_COSIM_KERNELS", "1") != "1":
        pytest.skip("already a non-default build")
    if mode == "avx2" and _native_isa() != "avx512":
        pytest.skip(f"the default build is already {_native_isa()}")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NMPKIT_COSIM_KERNELS=mode, NMPKIT_TEST_KERNEL_EXAMPLES="25")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         str(Path(__file__)), "tests/cosim/test_engine.py::"
         "test_mnist_like_net_sparse_and_dense_agree_with_reference",
         "-k", "not other_kernel_builds"],
        cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("kernels_on", [None, False])
def test_weight_layouts_follow_in_place_changes(kernels_on):
    """The engine reuses its weight layouts across calls; changing a weight must be seen."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 9), nn.ReLU(), nn.Linear(9, 4)).eval()
    dyadic_(model, torch.Generator().manual_seed(5), scale=4)
    with torch.no_grad():
        model[3].bias.fill_(0.5)
    net = cosim.convert(model)
    x = torch.ones(2, 3, 4)
    kw = dict(timesteps=6, schedule="sparse", kernels=kernels_on)
    assert int(cosim.simulate(net, x, **kw).output_counts.sum()) > 0
    with torch.no_grad():
        for op in net.layers[-1].ops:
            op.weight.zero_()
            op.bias.fill_(-1.0)
    assert int(cosim.simulate(net, x, **kw).output_counts.sum()) == 0


@settings(max_examples=_EXAMPLES, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), const=st.booleans(), tb=st.integers(1, 6),
       n=st.sampled_from([1, 15, 16, 17, 64, 100, 1030]),
       knots=st.sampled_from([0, 2, 64, 65, 98, 128, 129]),
       per_neuron=st.booleans(), lb=st.sampled_from([None, 0.0, -0.37]),
       reset=st.sampled_from(["subtract", "zero"]), refractory=st.sampled_from([0, 2]),
       readout=st.booleans(), grid=st.booleans())
def test_compiled_if_step_is_if_step_bit_for_bit(seed, const, tb, n, knots, per_neuron, lb,
                                                 reset, refractory, readout, grid):
    """Arbitrary floats (or, with ``grid``, multiples of 1/8, so that v lands exactly on the
    threshold and the floor): the C++ IF update (cosim/csrc/neuron.h) is
    ``cosim.neuron.if_step``: spikes, membranes, counts, refractory counters, the discarded
    charge and the output readout."""
    from cosim.engine_parts import kernel_neuron as _kernel_neuron
    from cosim.neuron import IFState, StepParams, if_step

    g = torch.Generator().manual_seed(seed)
    b = 3
    q = (lambda t: (t * 8).round() / 8) if grid else (lambda t: t)
    per = (lambda lo, hi: q(torch.rand(n, generator=g) * (hi - lo) + lo)) if per_neuron else \
        (lambda lo, hi: float(q(torch.rand(1, generator=g) * (hi - lo) + lo)))
    transfer = None
    if knots:
        xs = torch.sort(torch.randn(knots, generator=g) * 1.5).values + torch.arange(knots) * 1e-3
        transfer = (xs, torch.cumsum(torch.rand(knots, generator=g) * 0.8, 0) - 1.3)
    neuron = cosim.IFNeuron(threshold=per(0.6, 1.4), gain=per(0.2, 1.7), lower_bound=lb,
                            reset=reset, transfer=transfer, refractory_steps=refractory)
    p = StepParams.of(neuron)
    cur = q(torch.randn((b, n) if const else (tb, b, n), generator=g) * 1.2 + 0.3)
    v0 = q(torch.randn((b, n), generator=g) * 0.5)
    r0 = torch.randint(0, 3, (b, n), generator=g, dtype=torch.int32) if refractory else None
    v, counts = v0.clone(), torch.zeros((b, n))
    discard = torch.zeros((b, n)) if lb is not None else torch.zeros(0)
    r = r0.clone() if refractory else torch.zeros(0, dtype=torch.int32)
    words = torch.empty((tb * b, (n + 63) // 64), dtype=torch.int64)
    preds = torch.zeros((tb, b) if readout else (0,), dtype=torch.int16)
    ext = kernels.load()
    ext.if_bits(cur, const, v, counts, r, discard,
                _kernel_neuron(p, torch.device("cpu"), torch.float32), lb is not None,
                reset == "zero", refractory, words, preds)
    spikes = ext.unpack_bits(words, n, torch.zeros(0)).reshape(tb, b, n)
    state = IFState(v0, r0, torch.zeros((b, n)) if lb is not None else None)
    total = torch.zeros((b, n))
    for t in range(tb):
        s, state = if_step(state, cur if const else cur[t], p)
        total += s
        assert torch.equal(s, spikes[t]), f"step {t}: spikes differ"
        if readout:  # most spikes so far, ties to the highest membrane, then the lowest index
            key = torch.where(total == total.max(1, keepdim=True).values, state.v,
                              float("-inf"))
            assert torch.equal(preds[t].long(), key.argmax(1))
    assert torch.equal(state.v, v) and torch.equal(total, counts)
    if refractory:
        assert torch.equal(state.r, r)
    if lb is not None:
        assert torch.equal(state.d, discard)


def test_a_failed_build_names_file_and_line(tmp_path):
    """A compile error comes back as KernelBuildError with the compiler's file:line."""
    src = tmp_path / "src"
    src.mkdir()
    for name in kernels.SOURCES:
        (src / name).write_text("// empty\n")
    (src / "conv.cpp").write_text("// a broken kernel\nint f() { return undefined_name; }\n")
    with pytest.raises(cosim.KernelBuildError) as err:
        kernels.build(source_dir=src, build_dir=tmp_path / "build")
    assert "conv.cpp:2" in str(err.value) and "undefined_name" in str(err.value)
    (src / "linear.cpp").unlink()
    with pytest.raises(cosim.KernelBuildError, match="missing.*linear.cpp"):
        kernels.build(source_dir=src)


def test_a_failed_build_is_loud_with_kernels_and_recorded_without(monkeypatch):
    def broken(mode):
        raise cosim.KernelBuildError("RuntimeError: Error building extension\n"
                                     "conv.cpp:7:3: error: 'boom' was not declared")

    monkeypatch.setattr(kernels, "_STATE", {})
    monkeypatch.setattr(kernels, "build", broken)
    monkeypatch.setenv("NMPKIT_COSIM_KERNELS", "1")
    net = cosim.convert(nn.Sequential(nn.Flatten(), nn.Linear(12, 4)))
    x = torch.ones(2, 3, 4)
    with pytest.warns(RuntimeWarning, match="(?s)did not build.*conv.cpp:7"):
        res = cosim.simulate(net, x, timesteps=3)
    assert "kernel build failed" in res.schedule["kernels"]
    with pytest.raises(cosim.KernelBuildError, match="conv.cpp:7:3: error"):
        cosim.simulate(net, x, timesteps=3, kernels=True)
    assert cosim.simulate(net, x, timesteps=3, kernels=False).schedule["kernels"] == \
        "torch only"
