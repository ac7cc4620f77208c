import dataclasses

import pytest
import torch

from cosim.variation import DeviceModel, DevicePairArray


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_exact_devices_reproduce_quantized_weights():
    w = torch.tensor([[0.5, -0.25], [0.0, 1.0]])
    model = DeviceModel(levels=5, sigma_d2d=0.0, sigma_pulse=0.0)
    dev = DevicePairArray(w, model, generator=gen(), w_scale=1.0)
    assert torch.equal(dev.weights(), w)  # all on the 0.25 grid
    assert dev.weight_step == 0.25
    dev.program(torch.tensor([[1, 1], [-1, 0]]))
    assert torch.equal(dev.weights(), torch.tensor([[0.75, 0.0], [-0.25, 1.0]]))
    dev.program(torch.tensor([[9, 0], [0, 9]]))  # past the top of the range: clipped
    assert torch.equal(dev.weights(), torch.tensor([[1.0, 0.0], [-0.25, 1.0]]))
    assert dev.pulses_applied.tolist() == [[10, 1], [1, 9]]


def test_levels_quantize():
    w = torch.linspace(-1, 1, 101)
    dev = DevicePairArray(w, DeviceModel(levels=3, sigma_d2d=0.0, sigma_pulse=0.0),
                          generator=gen(), w_scale=1.0)
    assert set(dev.weights().tolist()) <= {-1.0, -0.5, 0.0, 0.5, 1.0}


def test_lognormal_spread_statistics():
    w = torch.full((200_000,), 0.5)
    dev = DevicePairArray(w, DeviceModel(levels=3, sigma_d2d=0.2, sigma_pulse=0.0),
                          generator=gen(1), w_scale=1.0)
    ratio = dev.weights() / 0.5  # g⁻ at reset (g_min = 0): w/w0 = d2d factor of g⁺
    logs = ratio.log()
    assert float(logs.mean()) == pytest.approx(0.0, abs=3e-3)
    assert float(logs.std()) == pytest.approx(0.2, rel=0.02)


def test_programming_noise_grows_with_pulses():
    w = torch.zeros(100_000)
    m = DeviceModel(levels=101, sigma_d2d=0.0, sigma_pulse=0.5)
    dev = DevicePairArray(w, m, generator=gen(2), w_scale=1.0)
    dev.program(torch.full((100_000,), 16, dtype=torch.int64))
    err = dev.weights() - 16 * m.step
    assert float(err.std()) == pytest.approx(0.5 * m.step * 4, rel=0.05)  # σ·Δg·√16


def test_seeded_and_repeatable():
    w = torch.randn(30, 40, generator=gen(3))
    a = DevicePairArray(w, DeviceModel(), generator=gen(7)).weights()
    b = DevicePairArray(w, DeviceModel(), generator=gen(7)).weights()
    c = DevicePairArray(w, DeviceModel(), generator=gen(8)).weights()
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("field,value", [("levels", 1), ("levels", 2.5), ("g_min", 1.0),
                                         ("g_min", -0.1), ("sigma_d2d", -1.0),
                                         ("sigma_pulse", float("nan"))])
def test_bad_device_model(field, value):
    with pytest.raises(ValueError, match=field):
        DeviceModel(**{field: value})


def test_frozen_and_shape_checks():
    m = DeviceModel()
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.levels = 3
    dev = DevicePairArray(torch.ones(2, 3), m, generator=gen())
    with pytest.raises(ValueError, match="pulses must have shape"):
        dev.program(torch.ones(3, 2))
    with pytest.raises(ValueError, match="finite"):
        DevicePairArray(torch.tensor([float("nan")]), m, generator=gen())
