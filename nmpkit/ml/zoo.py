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

CIFAR_MEAN = (125.307 / 255, 122.950 / 255, 113.865 / 255)
CIFAR_STD = (62.993 / 255, 62.089 / 255, 66.705 / 255)
SVHN_MEAN = (0.4377, 0.4438, 0.4728)
SVHN_STD = (0.1980, 0.2010, 0.1970)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """How a network is trained. Learning rates follow ``schedule`` over all steps of all epochs."""

    optimizer: Literal["adam", "sgd"]
    lr: float
    weight_decay: float  # L2 penalty, added to the gradient (torch's ``weight_decay``)
    batch_size: int
    epochs: int
    schedule: Literal["constant", "cosine"] = "constant"
    momentum: float = 0.9
    augment: Literal["none", "crop_flip"] = "none"
    loss: Literal["cross_entropy", "mse"] = "cross_entropy"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if self.augment not in ("none", "crop_flip"):
            raise ValueError(f"augment must be 'none' or 'crop_flip', got {self.augment!r}")
        if self.loss not in ("cross_entropy", "mse"):
            raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {self.loss!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError(
                f"batch_size and epochs must be >= 1, got {self.batch_size!r}, {self.epochs!r}"
            )


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


def mnist_net(dropout: float = 0.5) -> nn.Sequential:
    """20C3-50C5-FC500-FC10 on (1, 28, 28): 24.3 M MAC per sample."""
    return nn.Sequential(
        nn.Conv2d(1, 20, 3),
        nn.ReLU(),
        nn.Conv2d(20, 50, 5),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(50 * 22 * 22, 500),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(500, 10),
    )


def svhn_net(dropout: float = 0.5) -> nn.Sequential:
    """20C5-40C5-40C5-40C5-100C3×4-FC500-FC10 on (3, 32, 32), valid convolutions."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 20, 5),
        nn.ReLU(),
        nn.Conv2d(20, 40, 5),
        nn.ReLU(),
        nn.Conv2d(40, 40, 5),
        nn.ReLU(),
        nn.Conv2d(40, 40, 5),
        nn.ReLU(),
    ]
    c = 40
    for _ in range(4):
        layers += [nn.Conv2d(c, 100, 3), nn.ReLU()]
        c = 100
    layers += [
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(100 * 8 * 8, 500),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(500, 10),
    ]
    return nn.Sequential(*layers)


def cifar10_allconv(dropout: float = 0.5) -> nn.Sequential:
    """All-CNN-C with BatchNorm: (3, 32, 32) → 10 logits through global average pooling."""

    def block(cin: int, cout: int, k: int, stride: int = 1, pad: int = 1) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        ]

    return nn.Sequential(
        *block(3, 96, 3),
        *block(96, 96, 3),
        *block(96, 96, 3, stride=2),  # 32 → 16
        nn.Dropout(dropout),
        *block(96, 192, 3),
        *block(192, 192, 3),
        *block(192, 192, 3, stride=2),  # 16 → 8
        nn.Dropout(dropout),
        *block(192, 192, 3, pad=0),  # 8 → 6, as in All-CNN-C
        *block(192, 192, 1, pad=0),
        nn.Conv2d(192, 10, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


def allconv28(width: int = 32) -> nn.Sequential:
    """Seven convolutions with BatchNorm, strided subsampling, no dropout, GAP on (1, 28, 28).

    Channels ``width``-``width``-2w-2w-2w-2w-10; 28 → 14 → 7 by two stride-2 convs. At width 32:
    9.4 M MAC per sample, 53 k spiking neurons.
    """

    def block(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        ]

    w, w2 = width, 2 * width
    return nn.Sequential(
        *block(1, w, 3),
        *block(w, w, 3, stride=2),  # 28 → 14
        *block(w, w2, 3),
        *block(w2, w2, 3, stride=2),  # 14 → 7
        *block(w2, w2, 3),
        *block(w2, w2, 1),
        nn.Conv2d(w2, 10, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


def small_allconv(depth: int = 4, width: int = 16, batchnorm: bool = True,
                  dropout: float = 0.0) -> nn.Sequential:
    """A narrow all-conv net for 28×28 grey images (the ZMP factor study, issue 11 §1).

    ``depth`` convolutions in all (``depth - 1`` hidden 3×3 + the 10C1 output) then GAP: hidden
    conv 0 is ``width``C3(2) (28 → 14), hidden conv 2 is 2·``width``C3(2) (14 → 7), the rest
    keep size and width (2·``width`` from conv 2 on); BatchNorm after every hidden conv when
    ``batchnorm`` (no bias then), dropout ``dropout`` after each strided conv when > 0.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
        raise ValueError(f"depth must be an int >= 2, got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an int >= 1, got {width!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    layers: list[nn.Module] = []
    cin = 1
    for i in range(depth - 1):
        cout, stride = (width, 2 if i == 0 else 1) if i < 2 else (2 * width, 2 if i == 2 else 1)
        layers.append(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=not batchnorm))
        layers += [nn.BatchNorm2d(cout)] if batchnorm else []
        layers.append(nn.ReLU())
        layers += [nn.Dropout(dropout)] if dropout > 0 and stride == 2 else []
        cin = cout
    return nn.Sequential(*layers, nn.Conv2d(cin, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def conv_autoencoder() -> nn.Sequential:
    """enc 128C3-256C3(2)-128C3(2)-4C3 (code 4×8×8), dec 128CT3-256CT3(2)-128CT3(2)-3CT3."""
    return nn.Sequential(
        nn.Conv2d(3, 128, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(128, 256, 3, stride=2, padding=1),
        nn.ReLU(),  # 32 → 16
        nn.Conv2d(256, 128, 3, stride=2, padding=1),
        nn.ReLU(),  # 16 → 8
        nn.Conv2d(128, 4, 3, padding=1),
        nn.ReLU(),  # code: 4 × 8 × 8
        nn.ConvTranspose2d(4, 128, 3, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(128, 256, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),  # → 16
        nn.ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),  # → 32
        nn.ConvTranspose2d(128, 3, 3, padding=1),
    )


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


__all__ = [
    "NETWORKS",
    "NetworkSpec",
    "allconv28",
    "Recipe",
    "cifar10_allconv",
    "conv_autoencoder",
    "get_network",
    "mnist_net",
    "small_allconv",
    "svhn_net",
]
