"""The study's four networks: shapes, layer types, sizes; recipe validation."""

import dataclasses

import pytest
import torch
from torch import nn

from nmpkit.errors import ConfigError
from nmpkit.ml.recipe import Recipe
from nmpkit.ml.zoo import NETWORKS, get_network

CONVERTIBLE = (
    nn.Sequential,
    nn.Conv2d,
    nn.Linear,
    nn.ReLU,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Dropout,
    nn.Flatten,
    nn.BatchNorm2d,
    nn.ConvTranspose2d,
)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_output_shapes_and_convertible_layers(name):
    spec = get_network(name)
    torch.manual_seed(0)
    model = spec.build().eval()
    x = torch.rand(2, *spec.input_shape)
    with torch.no_grad():
        y = model(x)
    want = (2, 10) if spec.task == "classify" else (2, *spec.input_shape)
    assert tuple(y.shape) == want
    bad = [type(m).__name__ for m in model.modules() if not isinstance(m, CONVERTIBLE)]
    assert bad == []
    assert len(spec.mean) == len(spec.std) == spec.input_shape[0]


def _convs(model):
    return [
        (m.out_channels, m.kernel_size[0], m.stride[0])
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
    ]


def test_mnist_architecture_matches_the_study():
    model = get_network("mnist").build()
    assert _convs(model) == [(20, 3, 1), (50, 5, 1)]
    fcs = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    assert fcs == [(50 * 22 * 22, 500), (500, 10)]
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5]
    # 24.3 M MAC per sample (hand count: 26²·20·9 + 22²·50·20·25 + 24200·500 + 5000)
    macs = 26 * 26 * 20 * 9 + 22 * 22 * 50 * 20 * 25 + 24200 * 500 + 500 * 10
    assert round(macs / 1e6, 1) == 24.3


def test_svhn_architecture_matches_the_study():
    model = get_network("svhn").build()
    assert _convs(model) == [(20, 5, 1), (40, 5, 1), (40, 5, 1), (40, 5, 1)] + [(100, 3, 1)] * 4
    fcs = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    assert fcs == [500, 10]


def test_cifar_allconv_matches_the_study():
    model = get_network("cifar10").build()
    assert _convs(model) == [
        (96, 3, 1),
        (96, 3, 1),
        (96, 3, 2),
        (192, 3, 1),
        (192, 3, 1),
        (192, 3, 2),
        (192, 3, 1),
        (192, 1, 1),
        (10, 1, 1),
    ]
    assert any(isinstance(m, nn.AdaptiveAvgPool2d) for m in model.modules())
    assert not any(isinstance(m, nn.Linear) for m in model.modules())


def test_autoencoder_matches_the_study_and_code_size():
    model = get_network("autoencoder").build().eval()
    assert _convs(model) == [
        (128, 3, 1),
        (256, 3, 2),
        (128, 3, 2),
        (4, 3, 1),
        (128, 3, 1),
        (256, 3, 2),
        (128, 3, 2),
        (3, 3, 1),
    ]
    encoder = model[:8]
    with torch.no_grad():
        code = encoder(torch.rand(1, 3, 32, 32))
    assert tuple(code.shape) == (1, 4, 8, 8)


def test_get_network_unknown_lists_choices():
    with pytest.raises(ConfigError, match="mnist, svhn, cifar10, allconv28, autoencoder.*'lenet'"):
        get_network("lenet")


@pytest.mark.parametrize(
    "field,value",
    [
        ("optimizer", "rmsprop"),
        ("lr", 0.0),
        ("schedule", "step"),
        ("augment", "mixup"),
        ("weight_decay", -1.0),
        ("batch_size", 0),
        ("loss", "l1"),
    ],
)
def test_recipe_rejects_bad_fields(field, value):
    base = dict(optimizer="adam", lr=1e-3, weight_decay=0.0, batch_size=8, epochs=1)
    with pytest.raises(ValueError, match=field):
        Recipe(**{**base, field: value})


def test_recipe_is_frozen():
    r = get_network("mnist").recipe
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.lr = 1.0  # type: ignore[misc]
    assert (r.optimizer, r.lr, r.weight_decay) == ("adam", 1e-3, 1e-4)  # the study's recipe


def test_allconv28_is_deep_all_conv_with_batchnorm_and_gap():
    model = get_network("allconv28").build()
    assert _convs(model) == [(32, 3, 1), (32, 3, 2), (64, 3, 1), (64, 3, 2), (64, 3, 1),
                             (64, 1, 1), (10, 1, 1)]
    kinds = [type(m) for m in model]
    assert kinds.count(nn.BatchNorm2d) == 6 and nn.Dropout not in kinds
    assert not any(isinstance(m, nn.Linear) for m in model)
    assert isinstance(model[-2], nn.AdaptiveAvgPool2d)
    # 28 → 14 → 7 by the two strided convs; GAP leaves one value per class
    with torch.no_grad():
        feats = model[:-3].eval()(torch.rand(1, 1, 28, 28))
    assert tuple(feats.shape) == (1, 64, 7, 7)
