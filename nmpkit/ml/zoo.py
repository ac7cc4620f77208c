"""The reference study's four networks and their training recipes.

Only layers that `cosim.convert` accepts are used (Conv2d, Linear, ReLU, AvgPool2d,
AdaptiveAvgPool2d, Dropout, Flatten, BatchNorm2d, ConvTranspose2d). Notation as in DESIGN.md:
nCm = n filters m×m, (s) = stride, CT = transposed conv, GAP = global average pooling.

- ``mnist``: 20C3-50C5-FC500-FC10 (valid convolutions, no pooling: 50·22·22 = 24200 → 500),
  dropout 0.5 before the output layer; Adam 1e-3, L2 1e-4. Also trained on Fashion-MNIST.
- ``svhn``: 20C5-40C5-40C5-40C5-100C3×4-FC500-FC10 (valid convolutions: 32→16, 100·8·8 → 500).
- ``cifar10``: the all-convolutional net (Springenberg et al.'s All-CNN-C):
  96C3-96C3-96C3(2)-192C3-192C3-192C3(2)-192C3-192C1-10C1-GAP, with BatchNorm after each hidden
  conv (folded away by the converter) and dropout 0.5 after the two strided convs.
- ``allconv28``: a deeper all-convolutional net for 28×28 grey images (the CIFAR-style all-conv
  scaled down, after the issue-11 net whose floor mattered): 32C3-32C3(2)-64C3-64C3(2)-64C3-64C1-
  10C1-GAP, BatchNorm after every hidden conv (folded by the converter), no dropout, no bias
  before BatchNorm. Trained on Fashion-MNIST for the default run.
- ``autoencoder``: enc 128C3-256C3(2)-128C3(2)-4C3, dec 128CT3-256CT3(2)-128CT3(2)-3CT3 on 32×32
  RGB patches in [0, 1]; the last layer is linear (regression output).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from torch import nn

from nmpkit.errors import ConfigError
from nmpkit.ml.architectures import (
    allconv28,
    cifar10_allconv,
    conv_autoencoder,
    mnist_net,
    svhn_net,
)
from nmpkit.ml.recipe import Recipe

CIFAR_MEAN = (125.307 / 255, 122.950 / 255, 113.865 / 255)
CIFAR_STD = (62.993 / 255, 62.089 / 255, 66.705 / 255)
SVHN_MEAN = (0.4377, 0.4438, 0.4728)
SVHN_STD = (0.1980, 0.2010, 0.1970)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSpec:
    """One zoo entry: how to build it, what it eats, how it is trained, what the study reported."""

    name: str
    build: Callable[[], nn.Module]
    task: Literal["classify", "reconstruct"]
    datasets: tuple[str, ...]  # the first is the default
    input_shape: tuple[int, int, int]  # (C, H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    recipe: Recipe
    study: str = ""
    dataset_norms: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(
        default_factory=dict
    )

    def norm_for(self, dataset: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) used to standardize ``dataset`` for this network."""
        return self.dataset_norms.get(dataset, (self.mean, self.std))


NETWORKS: dict[str, NetworkSpec] = {
    "mnist": NetworkSpec(
        name="mnist",
        build=mnist_net,
        task="classify",
        datasets=("mnist", "fashion-mnist"),
        input_shape=(1, 28, 28),
        mean=(0.0,),
        std=(1.0,),
        recipe=Recipe(
            optimizer="adam",
            lr=1e-3,
            weight_decay=1e-4,
            batch_size=128,
            epochs=4,
            schedule="cosine",
        ),
        study="ANN 99.37%; NMP best 99.43%; ZMP best 99.42%, 99.36% at t=1000",
    ),
    "svhn": NetworkSpec(
        name="svhn",
        build=svhn_net,
        task="classify",
        datasets=("svhn",),
        input_shape=(3, 32, 32),
        mean=SVHN_MEAN,
        std=SVHN_STD,
        recipe=Recipe(
            optimizer="adam",
            lr=1e-3,
            weight_decay=1e-4,
            batch_size=128,
            epochs=20,
            schedule="cosine",
        ),
        study="ANN 95.11%; accuracy rises as the bound goes 0 → −0.5",
    ),
    "cifar10": NetworkSpec(
        name="cifar10",
        build=cifar10_allconv,
        task="classify",
        datasets=("cifar10",),
        input_shape=(3, 32, 32),
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        recipe=Recipe(
            optimizer="sgd",
            lr=0.05,
            weight_decay=5e-4,
            batch_size=128,
            epochs=60,
            schedule="cosine",
            momentum=0.9,
            augment="crop_flip",
        ),
        study="ANN 91.70%; NMP best 91.78% (t=743), 99% of ANN at t=180; ZMP ≈ 2.7 %p lower",
    ),
    "allconv28": NetworkSpec(
        name="allconv28",
        build=allconv28,
        task="classify",
        datasets=("fashion-mnist", "mnist"),
        input_shape=(1, 28, 28),
        mean=(0.0,),
        std=(1.0,),
        recipe=Recipe(
            optimizer="adam",
            lr=2e-3,
            weight_decay=1e-4,
            batch_size=128,
            epochs=4,
            schedule="cosine",
        ),
        study="not in the study: the depth contrast to mnist for the default run (issue 11)",
    ),
    "autoencoder": NetworkSpec(
        name="autoencoder",
        build=conv_autoencoder,
        task="reconstruct",
        datasets=("cifar10",),
        input_shape=(3, 32, 32),
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        recipe=Recipe(
            optimizer="adam",
            lr=1e-3,
            weight_decay=0.0,
            batch_size=64,
            epochs=10,
            schedule="cosine",
            loss="mse",
        ),
        study="ZMP MSE ≈ 10× NMP at t=750; image not restored under ZMP",
    ),
}


def get_network(name: str) -> NetworkSpec:
    """The zoo entry called ``name``; `ConfigError` listing the choices otherwise."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ConfigError(f"network must be one of {', '.join(NETWORKS)}, got {name!r}") from None


__all__ = ["NETWORKS", "NetworkSpec", "get_network"]
