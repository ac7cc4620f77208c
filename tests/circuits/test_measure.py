import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import measure


def _pulse_train(period: float, width: float, n: int, v_dd: float = 1.0, dt: float = 1e-9):
    """Ideal membrane sawtooth (0.2 -> 0.6 V ramp) with rectangular spikes of ``width``."""
    t = np.arange(0.0, n * period + 0.5 * period, dt)
    phase = np.mod(t, period)
    v_out = np.where(phase < width, v_dd, 0.0)
    ramp = 0.2 + 0.4 * (phase - width) / (period - width)
    v_mem = np.where(phase < width, 0.6, ramp)
    return t, v_mem, v_out


def test_crossings_hand_count():
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    v = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    assert measure.crossings(t, v, 0.5, rising=True) == pytest.approx([0.5, 2.5])
    assert measure.crossings(t, v, 0.5, rising=False) == pytest.approx([1.5, 3.5])


@settings(max_examples=50, deadline=None)
@given(st.floats(1e3, 1e6), st.integers(3, 12))
def test_sine_crossings_counted(freq, cycles):
    t = np.linspace(0.0, cycles / freq, 200 * cycles + 1)
    v = np.sin(2 * np.pi * freq * t - 0.3)
    up = measure.crossings(t, v, 0.0, rising=True)
    assert up.size == cycles
    assert np.allclose(np.diff(up), 1.0 / freq, rtol=1e-3)


def test_rate_width_swing_on_ideal_train():
    period, width = 2e-6, 1e-7
    t, v_mem, v_out = _pulse_train(period, width, 9)
    sp = measure.find_spikes(t, v_out, 1.0)
    assert sp.n == 9
    assert measure.steady_rate(sp) == pytest.approx(1 / period, rel=1e-3)
    assert measure.spike_width(sp) == pytest.approx(width, rel=2e-2)
    assert measure.threshold_swing(t, v_mem, sp) == pytest.approx(0.4, rel=2e-2)


def test_too_few_spikes_give_nan():
    t, v_mem, v_out = _pulse_train(2e-6, 1e-7, 2)
    sp = measure.find_spikes(t, v_out, 1.0)
    assert sp.n == 2
    assert np.isnan(measure.steady_rate(sp))
    assert np.isnan(measure.threshold_swing(t, v_mem, sp))


def test_integrate_against_analytic():
    t = np.linspace(0.0, 1.0, 2001)
    y = 3 * t**2
    assert measure.integrate(t, y, 0.25, 0.75) == pytest.approx(0.75**3 - 0.25**3, rel=1e-5)


def test_window_energy_hand_computed():
    """Constant supply currents: energy = V * I * window, input charge excluded."""
    period, width = 1e-6, 1e-7
    t, v_mem, v_out = _pulse_train(period, width, 6)
    i_exc = 1e-7
    w = {"time": t, "v_mem": v_mem, "v_out": v_out,
         "i_vdd": np.full_like(t, -(2e-6 + 2 * i_exc)),  # supplying: negative branch current
         "i_exc_out": np.full_like(t, i_exc), "i_vneg": np.full_like(t, 3e-7)}
    sp = measure.find_spikes(t, v_out, 1.0)
    e_vdd, e_vneg, window = measure.window_energy(w, sp, v_dd_volts=1.0, v_neg_volts=-0.5,
                                                  i_exc_amps=i_exc)
    assert window == pytest.approx(4 * period, rel=1e-3)
    assert e_vdd == pytest.approx(1.0 * 2e-6 * window, rel=1e-6)
    assert e_vneg == pytest.approx(0.5 * 3e-7 * window, rel=1e-6)
