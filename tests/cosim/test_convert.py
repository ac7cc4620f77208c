"""cosim.convert: supported modules, BN folding, data-based normalization, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cosim
from cosim.network import apply_ops

torch.set_num_threads(1)


def _ann(net: cosim.SpikingNetwork, x: torch.Tensor) -> torch.Tensor:
    """The converted chain's output in the original units (undo the output normalization)."""
    return net.ann_forward(x)[-1] * net.output_scale


def _randomize_bn(model: nn.Module, g: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.randn(n, generator=g))
                m.bias.copy_(torch.randn(n, generator=g))


def test_bn_folding_and_all_supported_layers_match_the_ann():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU()),
        nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(3), nn.ReLU(), nn.Dropout(0.3),
        nn.Conv2d(3, 5, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 3)).eval()
    _randomize_bn(model, g)
    x = torch.rand(9, 2, 16, 16, generator=g)
    net = cosim.convert(model, input_shape=(2, 16, 16))
    assert [ly.relu for ly in net.layers] == [True, True, True, True, True, False]
    assert net.layers[-1].shape == (3,)
    with torch.no_grad():
        torch.testing.assert_close(_ann(net, x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("percentile", [100.0, 99.0, 50.0])
def test_normalization_scales_each_layer_by_its_percentile(percentile):
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4),
                          nn.ReLU(), nn.Linear(4, 2)).eval()
    x = torch.rand(20, 1, 8, 8, generator=g)
    net = cosim.convert(model, x, percentile=percentile)
    with torch.no_grad():
        acts = [model[:2](x), model[:5](x), model(x)]
    for ly, a in zip(net.layers, acts, strict=True):
        pos = a[a > 0].double()
        expected = pos.max() if percentile == 100 else torch.quantile(pos, percentile / 100)
        assert ly.scale == pytest.approx(float(expected), rel=1e-5)
    # normalized activations are the original ones divided by each layer's scale
    for ly, a, n in zip(net.layers, acts, net.ann_forward(x), strict=True):
        torch.testing.assert_close(n * ly.scale, torch.relu(a) if ly.relu else a,
                                   atol=1e-5, rtol=1e-5)
    if percentile == 100.0:  # the max activation of every hidden layer becomes exactly 1
        for n in net.ann_forward(x)[:2]:
            assert float(n.max()) == pytest.approx(1.0, rel=1e-5)


def test_weightless_layer_gets_explicit_normalization_scale():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten()).eval()
    x = torch.rand(5, 1, 6, 6)
    net = cosim.convert(model, x, percentile=100)
    assert [op.kind for op in net.layers[-1].ops] == ["global_avg_pool", "flatten", "scale"]
    with torch.no_grad():
        torch.testing.assert_close(_ann(net, x), model(x), atol=1e-6, rtol=1e-5)


def test_shapes_and_fan_out():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(2 * 4 * 4, 3))
    net = cosim.convert(model, input_shape=(1, 4, 4))
    assert [ly.shape for ly in net.layers] == [(2, 4, 4), (3,)]
    assert torch.equal(net.fan_out(0), torch.full((2, 4, 4), 3.0))
    assert torch.equal(net.fan_out(1), torch.zeros(3))
    conv = cosim.convert(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(2, 5, 3, padding=1)), input_shape=(1, 4, 4))
    fo = conv.fan_out(0)
    assert float(fo[0, 0, 0]) == 5 * 4  # a corner reaches 2x2 output positions × 5 channels
    assert float(fo[0, 1, 1]) == 5 * 9


@pytest.mark.parametrize(("module", "instead"), [
    (nn.MaxPool2d(2), "AvgPool2d"),
    (nn.Sigmoid(), "ReLU"),
    (nn.LeakyReLU(), "ReLU"),
    (nn.Softmax(dim=1), "ReLU"),
    (nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), "padding_mode='zeros'"),
    (nn.AdaptiveAvgPool2d(2), "AdaptiveAvgPool2d\\(1\\)"),
    (nn.LSTM(3, 3), "supported modules"),
])
def test_unsupported_modules_name_path_type_and_alternative(module, instead):
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Sequential(nn.Identity(), module))
    with pytest.raises(cosim.ConversionError, match=instead) as err:
        cosim.convert(model)
    assert "'2.1'" in str(err.value) and type(module).__name__ in str(err.value)


def test_branching_module_is_refused():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return x + self.conv(x)

    with pytest.raises(cosim.ConversionError, match="Residual.*nn.Sequential"):
        cosim.convert(nn.Sequential(Residual(), nn.ReLU()))


def test_nan_weights_and_bad_bn_placement_and_percentile():
    bad = nn.Linear(3, 2)
    with torch.no_grad():
        bad.weight[0, 0] = float("nan")
    with pytest.raises(cosim.ConversionError, match="'1'.*Linear.*NaN/Inf"):
        cosim.convert(nn.Sequential(nn.Flatten(), bad))
    with pytest.raises(cosim.ConversionError, match="'2'.*BatchNorm1d.*folds only"):
        cosim.convert(nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.BatchNorm1d(3)))
    with pytest.raises(cosim.ConversionError, match="percentile"):
        cosim.convert(nn.Sequential(nn.Linear(3, 3)), percentile=0)
    with pytest.raises(cosim.ConversionError, match="ReLU must follow"):
        cosim.convert(nn.Sequential(nn.ReLU(), nn.Linear(3, 3)))


def test_convert_leaves_the_model_untouched():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = cosim.convert(model, torch.rand(8, 4))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    x = torch.rand(3, 4)
    with torch.no_grad():
        torch.testing.assert_close(apply_ops(net.layers[0].ops, x) * net.layers[0].scale,
                                   model[:2](x), atol=1e-5, rtol=1e-5)


# ---- hostile models and weights: refused with the module path and what to do instead --------
class _Residual(nn.Sequential):
    def forward(self, x):
        return x + super().forward(x)


class _ScaledLinear(nn.Linear):
    def forward(self, x):
        return 2.0 * super().forward(x)


class _SneakyConv(nn.Conv2d):
    def _conv_forward(self, x, w, b):
        return super()._conv_forward(x, -w, b)


class _PlainSeq(nn.Sequential):  # a subclass that changes nothing converts
    pass


@pytest.mark.parametrize(("model", "path", "base"), [
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.ReLU(),
                           _Residual(nn.Linear(4, 4), nn.ReLU()), nn.Linear(4, 2)),
     "2", "Sequential"),
    (lambda: _Residual(nn.Linear(4, 4), nn.ReLU()), "<model>", "Sequential"),
    (lambda: nn.Sequential(_ScaledLinear(4, 4), nn.ReLU(), nn.Linear(4, 2)), "0", "Linear"),
    (lambda: nn.Sequential(nn.Sequential(nn.Flatten(), _ScaledLinear(4, 2))), "0.1", "Linear"),
    (lambda: nn.Sequential(_SneakyConv(1, 2, 3), nn.ReLU()), "0", "Conv2d"),
])
def test_subclasses_with_their_own_forward_are_refused(model, path, base):
    with pytest.raises(cosim.ConversionError) as exc:
        cosim.convert(model(), input_shape=(1, 6, 6) if base == "Conv2d" else (4,))
    msg = str(exc.value)
    assert f"module {path!r}" in msg and f"subclasses nn.{base}" in msg
    assert "overrides" in msg and "express it as a plain chain" in msg


def test_forward_hooks_are_refused_and_plain_subclasses_convert():
    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    m[2].register_forward_hook(lambda mod, i, o: o * 3)
    with pytest.raises(cosim.ConversionError, match="module '2'.*forward_hooks"):
        cosim.convert(m)
    ok = _PlainSeq(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
    x = torch.rand(5, 4)
    net = cosim.convert(ok, input_shape=(4,))
    with torch.no_grad():
        torch.testing.assert_close(_ann(net, x), ok(x), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool,
                                   torch.complex64])
def test_non_float_weights_are_refused_not_cast(dtype):
    m = nn.Sequential(nn.Linear(3, 2))
    m[0].weight = nn.Parameter(torch.ones(2, 3).to(dtype), requires_grad=False)
    with pytest.raises(cosim.ConversionError, match=rf"module '0'.*'weight' has dtype "
                       rf"{dtype}.*expected a floating-point tensor"):
        cosim.convert(m)


def test_bad_batchnorm_statistics_and_overflow_are_refused():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.ReLU()).eval()
    m[1].running_var.fill_(-1.0)
    with pytest.raises(cosim.ConversionError, match="module '1': 'running_var' has negative"):
        cosim.convert(m)
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():  # λ_1 ~ 3e30; layer 2 never activates (λ_2 = 1): w · λ_1 overflows
        m[0].weight.fill_(1e30)
        m[2].weight.fill_(-1e10)
        m[2].bias.fill_(-1.0)
    with pytest.raises(cosim.ConversionError, match="overflow after normalization"):
        cosim.convert(m, torch.rand(4, 3))


@pytest.mark.parametrize("bad", [torch.randint(0, 255, (4, 3), dtype=torch.uint8),
                                 torch.ones(4, 3, dtype=torch.int64)])
def test_integer_calibration_inputs_are_refused(bad):
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2))
    with pytest.raises(cosim.ConversionError, match=r"calibration_inputs must be floating "
                       rf"point.*{bad.dtype}"):
        cosim.convert(m, bad)


@pytest.mark.parametrize("percentile", [True, float("nan"), 0, 101, "99"])
def test_bad_percentile(percentile):
    with pytest.raises(cosim.ConversionError, match="percentile must be in"):
        cosim.convert(nn.Sequential(nn.Linear(3, 2)), percentile=percentile)


def test_state_dict_checked_before_load_state_dict_casts_it():
    from cosim.convert import check_state_dict

    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.ReLU(), nn.Linear(2, 2))
    sd = m.state_dict()
    check_state_dict(sd, m)  # a good one passes (num_batches_tracked stays int64)
    as_int = {k: v.long() for k, v in sd.items()}
    with pytest.raises(cosim.ConversionError, match=r"w.pt: '0.weight' has dtype torch.int64, "
                       "expected a floating-point"):
        check_state_dict(as_int, m, where="w.pt")
    cases = [({k: v for k, v in sd.items() if k != "3.bias"}, r"missing \['3.bias'\]"),
             (sd | {"x": torch.ones(1)}, r"unexpected \['x'\]"),
             (sd | {"0.weight": torch.ones(3, 3)}, r"'0.weight' has shape \(3, 3\), expected"),
             (sd | {"0.bias": torch.tensor([1.0, float("nan")])}, "'0.bias' holds NaN"),
             (sd | {"0.bias": [1.0, 2.0]}, "'0.bias' is a list, expected a tensor"),
             ([1, 2], "expected a dict of tensors")]
    for bad, match in cases:
        with pytest.raises(cosim.ConversionError, match=match):
            check_state_dict(bad, m)
    # what the check prevents: load_state_dict casts the int64 weights without a word
    m2 = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.ReLU(), nn.Linear(2, 2))
    m2.load_state_dict(as_int)
    assert m2[0].weight.dtype == torch.float32
