"""The zoo's architectures as plain ``nn.Sequential`` builders (which network trains on what,
and with which recipe, is `nmpkit.ml.zoo`).

Only layers that `cosim.convert` accepts are used (Conv2d, Linear, ReLU, AvgPool2d,
AdaptiveAvgPool2d, Dropout, Flatten, BatchNorm2d, ConvTranspose2d). Notation as in DESIGN.md:
nCm = n filters m×m, (s) = stride, CT = transposed conv, GAP = global average pooling.
"""

from __future__ import annotations

from torch import nn


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


__all__ = ["allconv28", "cifar10_allconv", "conv_autoencoder", "mnist_net", "small_allconv",
           "svhn_net"]
