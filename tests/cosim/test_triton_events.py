"""The CUDA event-driven Conv2d (``cosim.triton_events``), run on the CPU by Triton's interpreter.

What these tests can show without a GPU: the kernel's indexing (stride, padding, dilation, taps
that miss, output-channel blocks, values other than 1) and its use by the engine are right, bit
for bit against torch's conv2d and the CPU kernels on the dyadic grid. What they cannot: its speed
and the GPU's atomics (the interpreter runs the programs one after another). Kept small: the
interpreter runs each (event, tap, channel block) program in Python.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

pytest.importorskip("triton")

import cosim  # noqa: E402
from cosim import triton_events as te  # noqa: E402
from tests.cosim.strategies import assert_same_result, dyadic_  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _interpret():
    """Triton's interpreter on for this module only (the kernel is jitted under it, and dropped
    again afterwards, so nothing of it leaks into later tests)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRITON_INTERPRET", "1")
        te._kernel.cache_clear()
        yield
    te._kernel.cache_clear()


@pytest.fixture
def interpreter(monkeypatch):
    """The engine allowed to use the interpreter on the CPU."""
    monkeypatch.setattr(te, "CPU_INTERPRETER", True)


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _conv(x, w, b, s, p, d):
    s, p, d = _pair(s), _pair(p), _pair(d)
    ref = F.conv2d(x, w, b, stride=s, padding=p, dilation=d)
    out = te.event_conv2d(x.permute(0, 2, 3, 1).contiguous(), te.conv_layout(w), b,
                          stride=s, padding=p, dilation=d, out_hw=tuple(ref.shape[2:]))
    return out.permute(0, 3, 1, 2), ref


@settings(max_examples=16, deadline=None, derandomize=True)
@given(c=st.integers(1, 3), o=st.integers(1, 5), kh=st.integers(1, 3), kw=st.integers(1, 3),
       s=st.tuples(st.integers(1, 2), st.integers(1, 3)), p=st.tuples(*[st.integers(0, 2)] * 2),
       d=st.tuples(*[st.integers(1, 2)] * 2), h=st.integers(4, 7), w_=st.integers(3, 6),
       seed=st.integers(0, 2**31 - 1), binary=st.booleans())
def test_event_conv_equals_conv2d_on_the_dyadic_grid(c, o, kh, kw, s, p, d, h, w_, seed, binary):
    """Height and width differ in size, kernel, stride, padding and dilation (a swapped axis
    fails)."""
    if (kh - 1) * d[0] + 1 > h + 2 * p[0] or (kw - 1) * d[1] + 1 > w_ + 2 * p[1]:
        return  # no output pixel
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(2, c, h, w_, generator=g) < 0.25).float()
    if not binary:  # values weigh the weights (e.g. an analog input)
        x = x * torch.randint(1, 4, x.shape, generator=g).float() / 2
    w = torch.randint(-12, 13, (o, c, kh, kw), generator=g).float() / 16
    b = torch.randint(-12, 13, (o,), generator=g).float() / 16
    out, ref = _conv(x, w, b, s, p, d)
    assert torch.equal(out, ref)


def test_output_channels_beyond_one_block_and_no_events(monkeypatch):
    monkeypatch.setattr(te, "_BLOCK_O_MAX", 4)  # 10 channels: blocks of 4, 4 and a masked 2
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(1, 2, 5, 5)
    x[0, 1, 2, 3] = x[0, 0, 0, 0] = x[0, 1, 4, 4] = 1.0
    w = torch.randint(-12, 13, (10, 2, 3, 3), generator=g).float() / 16
    b = torch.randint(-12, 13, (10,), generator=g).float() / 16
    out, ref = _conv(x, w, b, 2, 1, 1)
    assert torch.equal(out, ref)
    out, ref = _conv(torch.zeros(1, 2, 5, 5), w, b, 1, 1, 1)  # no spikes: the bias alone
    assert torch.equal(out, ref) and torch.equal(out[0, :, 0, 0], b)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same C"):
        te.event_conv2d(torch.zeros(1, 4, 4, 3), torch.zeros(3, 3, 2, 5), None, stride=(1, 1),
                        padding=(1, 1), dilation=(1, 1), out_hw=(4, 4))


def test_the_cpu_never_uses_it_unless_told(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert not te.usable(torch.device("cpu"))  # CPU_INTERPRETER off: the CPU kernels' job
    monkeypatch.setattr(te, "CPU_INTERPRETER", True)
    monkeypatch.delenv("TRITON_INTERPRET")
    assert not te.usable(torch.device("cpu"))  # no interpreter: it could not run here
    assert te.describe(torch.device("cpu")) == "none"


def test_the_engine_runs_convs_event_driven_and_gives_the_cpu_kernels_spikes(interpreter):
    """A conv net on the dyadic grid: the Triton event-driven convs (schedule sparse, no CPU
    kernels) against the CPU kernels and the dense torch path, spike for spike."""
    g = torch.Generator().manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3))
    dyadic_(model, g)
    net = cosim.convert(model, None, input_shape=(1, 5, 5))
    x = torch.randint(0, 5, (2, 1, 5, 5), generator=g).float() / 4
    T = 6
    events = cosim.simulate(net, x, timesteps=T, schedule="sparse", kernels=False)
    assert events.schedule["event_convs"].startswith("triton ")
    convs = [v for v in events.schedule.values() if str(v).startswith("conv2d: sparse")]
    assert len(convs) == 2 and all("event-driven calls 0" not in v for v in convs), \
        events.schedule  # both spike-fed convs event-driven (the input's conv stays dense)
    dense = cosim.simulate(net, x, timesteps=T, schedule="dense", kernels=False)
    assert dense.schedule["event_convs"] == "triton " + te.triton_version() + \
        " interpreter (CPU)" and "event-driven calls 0" in str(dense.schedule)
    assert_same_result(events, dense, "triton events vs dense torch")
    assert int(events.output_counts.sum()) > 0  # something fired
    te.CPU_INTERPRETER = False  # (restored by the fixture's monkeypatch)
    cpu = cosim.simulate(net, x, timesteps=T, schedule="sparse")
    assert cpu.schedule["event_convs"] == "none"
    assert_same_result(events, cpu, "triton events vs the CPU kernels")
