"""nmpkit.studies.zmp_rule against hand counts, the ANN's own currents and the IF simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cosim
from cosim.network import apply_ops
from nmpkit.errors import ConfigError
from nmpkit.ml.architectures import small_allconv
from nmpkit.studies import zmp_rule
from nmpkit.studies.zmp_rule import (
    ZmpRule,
    _split_op,
    fit_rule,
    layer_drive,
    predict_zmp_loss,
    surrogate_loss,
    surrogate_outputs,
    zmp_rate,
    zmp_score,
)


def _tiny() -> nn.Sequential:
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[0.5, 0.0], [0.0, 0.25]]))
        m[0].bias.zero_()
        m[2].weight.copy_(torch.tensor([[0.5, -0.25], [-0.5, 0.5]]))
        m[2].bias.copy_(torch.tensor([0.0, -0.125]))
    return m


def test_hand_counts_on_a_two_layer_net():
    net = cosim.convert(_tiny(), None, input_shape=(2,))
    d = layer_drive(net, torch.tensor([[1.0, 1.0]]))
    # layer 0: currents 0.5, 0.25, no cancellation by definition
    assert d[0].excitatory == pytest.approx(0.375) and d[0].cancelled == 0.0
    assert d[0].rate == pytest.approx(0.375)
    # layer 1, rates (0.5, 0.25): neuron 0: P = 0.25, N = 0.0625; neuron 1: P = 0.125,
    # N = 0.25 + 0.125 (bias) = 0.375  -> min: 0.0625, 0.125; nets 0.1875, -0.25
    assert d[1].excitatory == pytest.approx((0.25 + 0.125) / 2)
    assert d[1].inhibitory == pytest.approx((0.0625 + 0.375) / 2)
    assert d[1].cancelled == pytest.approx((0.0625 + 0.125) / 2)
    assert d[1].rate == pytest.approx(0.1875 / 2)
    assert d[1].negative_but_excited == pytest.approx(0.5)
    assert zmp_score(d) == pytest.approx(0.09375 / 0.09375)
    # Poisson input: layer 0 is split too; input (1, -0.5) -> P = (0.5, 0), N = (0, 0.125)
    dp = layer_drive(net, torch.tensor([[1.0, -0.5]]), encoding="poisson")
    assert dp[0].excitatory == pytest.approx(0.25) and dp[0].inhibitory == pytest.approx(0.0625)
    assert dp[0].cancelled == 0.0 and dp[0].rate == pytest.approx(0.25)
    with pytest.raises(ConfigError, match="encoding must be 'current' or 'poisson', got 'spikes'"):
        layer_drive(net, torch.ones(1, 2), encoding="spikes")


@settings(max_examples=10, deadline=None)
@given(depth=st.integers(2, 5), bn=st.booleans(), seed=st.integers(0, 2**16))
def test_split_is_the_ann_current(depth, bn, seed):
    torch.manual_seed(seed)
    model = small_allconv(depth, 4, bn).eval()
    if bn:
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    x = torch.rand(3, 1, 28, 28)
    net = cosim.convert(model, x)
    acts = net.ann_forward(x)
    for i in range(1, len(net.layers)):
        prev = acts[i - 1].clamp(0, 1)
        p, n = prev, torch.zeros_like(prev)
        for op in net.layers[i].ops:
            p, n = _split_op(op, p, n)
        assert (p >= 0).all() and (n >= 0).all()
        torch.testing.assert_close(p - n, apply_ops(net.layers[i].ops, prev), atol=1e-5,
                                   rtol=1e-5)
    d = layer_drive(net, x)
    assert all(0 <= ly.cancelled <= min(ly.excitatory, ly.inhibitory) + 1e-7 for ly in d)


def test_zmp_excess_rate_is_bounded_by_the_cancelled_drive():
    """The physics behind the rule: with the floor at 0 a neuron fires at most min(P, N) more
    than with a negative membrane (P, N from the spikes it actually received), up to 2/T."""
    torch.manual_seed(3)
    model = small_allconv(3, 6, batchnorm=False).eval()
    x = torch.rand(8, 1, 28, 28)
    net = cosim.convert(model, x)
    T = 256
    nmp = cosim.simulate(net, x, timesteps=T, lower_bound=None, kernels=False)
    zmp = cosim.simulate(net, x, timesteps=T, lower_bound=0.0, kernels=False)
    # layer 0 (constant current) spikes the same under both floors
    torch.testing.assert_close(nmp.spike_counts[0], zmp.spike_counts[0])
    p, n = zmp.rates(0).float(), torch.zeros_like(zmp.rates(0).float())
    for op in net.layers[1].ops:
        p, n = _split_op(op, p, n)
    excess = zmp.rates(1) - nmp.rates(1)
    assert (excess <= torch.minimum(p, n).double() + 2.0 / T).all()
    assert float(excess.sum()) > 0  # the floor does make this layer over-fire


def test_zmp_rate_against_the_first_passage_ode():
    """1/T with T the mean first-passage time 0 -> 1 of drift-diffusion reflected at 0:
    D T'' + mu T' = -1, T'(0) = 0, T(1) = 0, solved by finite differences."""
    n = 1500
    h = 1.0 / n
    for mu, d in ((0.3, 0.02), (-0.05, 0.04), (0.0, 0.05), (0.1, 0.2)):
        a = np.zeros((n, n))
        b = -np.ones(n)
        a[0, 0], a[0, 1] = -2 * d / h ** 2, 2 * d / h ** 2  # reflecting: ghost point T_-1 = T_1
        for i in range(1, n):
            a[i, i - 1] = d / h ** 2 - mu / (2 * h)
            a[i, i] = -2 * d / h ** 2
            if i + 1 < n:
                a[i, i + 1] = d / h ** 2 + mu / (2 * h)
        t0 = np.linalg.solve(a, b)[0]
        got = float(zmp_rate(torch.tensor([mu], dtype=torch.float64),
                             torch.tensor([d], dtype=torch.float64))[0])
        assert got == pytest.approx(min(1.0, 1 / t0), rel=2e-3)
    mu = torch.tensor([-0.3, 0.0, 0.4])
    assert torch.equal(zmp_rate(mu, torch.zeros(3)), mu.clamp(min=0))  # no noise: NMP rate


def test_surrogate_without_noise_is_the_clipped_ann():
    torch.manual_seed(1)
    model = small_allconv(4, 4).eval()
    x = torch.rand(4, 1, 28, 28)
    net = cosim.convert(model, x)
    a, b = surrogate_outputs(net, x, 0.0)
    torch.testing.assert_close(a, b)
    ref = x
    for ly in net.layers:
        ref = apply_ops(ly.ops, ref).clamp(0, 1)
    torch.testing.assert_close(a, ref)
    a2, b2 = surrogate_outputs(net, x, 0.5)
    torch.testing.assert_close(a2, a)
    assert not torch.equal(b2, a2)
    assert surrogate_loss(net, x, torch.zeros(4), 0.0) == 0.0
    with pytest.raises(ConfigError, match="kappa must be a finite number >= 0, got -1"):
        surrogate_outputs(net, x, -1)
    with pytest.raises(ConfigError, match=r"labels must have one entry per input \(4\), got 3"):
        surrogate_loss(net, x, torch.zeros(3), 0.5)


def test_fit_picks_the_best_kappa_and_predicts():
    grid = (0.1, 0.2, 0.4)
    table = [[0.0, 0.05, 0.2], [0.0, 0.01, 0.03], [0.1, 0.2, 0.3]]
    rule = fit_rule(table, [0.05, 0.01, 0.2], list("abc"), 300, grid)
    assert rule.kappa == 0.2 and rule.residual_sd == pytest.approx(0.0)
    with pytest.raises(ConfigError, match=">= 3 networks"):
        fit_rule(table[:2], [0.1, 0.2], ["a", "b"], 300, grid)
    net = cosim.convert(_tiny(), None, input_shape=(2,))
    pred = predict_zmp_loss(net, torch.ones(3, 2), torch.zeros(3), rule)
    assert pred.predicted_loss == surrogate_loss(net, torch.ones(3, 2), torch.zeros(3), 0.2)
    text = pred.line(measured=0.031)
    assert "predicted ZMP loss at T = 300: " in text and "measured: +3.10 %p" in text
    assert predict_zmp_loss(net, torch.ones(1, 2), torch.zeros(1)).rule is zmp_rule_default()


def test_input_errors_name_the_field():
    net = cosim.convert(_tiny(), None, input_shape=(2,))
    with pytest.raises(ConfigError, match=r"inputs must be a \(B >= 1, 2\) tensor.*\(1, 3\)"):
        layer_drive(net, torch.ones(1, 3))
    with pytest.raises(ConfigError, match="finite"):
        layer_drive(net, torch.full((1, 2), float("nan")))
    with pytest.raises(ConfigError, match="cosim.SpikingNetwork"):
        layer_drive(_tiny(), torch.ones(1, 2))


def zmp_rule_default() -> ZmpRule:
    from nmpkit.studies.zmp_rule import DEFAULT_RULE

    return DEFAULT_RULE


def test_the_fit_module_is_what_the_report_writes_and_holds_data_only():
    """zmp_rule_fit.py is generated (`zmp_rule_report.rule_module`): plain data, no import of
    the rule (which imports it), and the source the generator writes for its own fit."""
    import ast
    from pathlib import Path

    from nmpkit.studies import zmp_rule_fit
    from nmpkit.studies.zmp_rule import DEFAULT_RULE
    from nmpkit.studies.zmp_rule_report import rule_module

    src = Path(zmp_rule_fit.__file__).read_text(encoding="utf-8")
    assert not [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert src == rule_module(DEFAULT_RULE, Path("what_makes_zmp_hurt"))
    other = ZmpRule(kappa=0.2, timesteps=100, residual_sd=0.01, fitted_on=("a", "b", "c"))
    ns: dict = {}
    exec(compile(rule_module(other, Path("run")), "zmp_rule_fit.py", "exec"), ns)
    assert ZmpRule(**ns["FITTED"]) == other


def test_small_allconv_shapes_and_errors():
    for depth in (2, 4, 7):
        m = small_allconv(depth, 8)
        assert m(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
        assert sum(isinstance(x, nn.Conv2d) for x in m) == depth
    assert not any(isinstance(x, nn.BatchNorm2d) for x in small_allconv(4, batchnorm=False))
    assert sum(isinstance(x, nn.Dropout) for x in small_allconv(4, dropout=0.3)) == 2
    with pytest.raises(ValueError, match="depth must be an int >= 2, got 1"):
        small_allconv(1)
    assert zmp_rule.__all__
