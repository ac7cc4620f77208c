"""A converted classifier with its evaluation data: what the trade-off, the per-layer search, the
modulation study and the optimizer evaluate (`load_classifier`: a zoo network's weights, its
dataset's first ``limit`` test images, data-based normalization from training images)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True, slots=True, kw_only=True)
class Classifier:
    """A converted classifier with its evaluation data."""

    net: Any
    x: torch.Tensor
    y: torch.Tensor
    ann_accuracy: float
    info: dict[str, Any]


def load_classifier(*, network: str, weights: str | Path, dataset: str, data_root: str | Path,
                    limit: int, calibration_samples: int = 1000,
                    percentile: float = 99.99) -> Classifier:
    """Load a zoo network's weights and data, convert with data-based normalization."""
    import cosim
    from nmpkit.ml.data import load_dataset, to_tensor
    from nmpkit.ml.train import load_weights
    from nmpkit.ml.zoo import get_network

    spec = get_network(network)
    model = load_weights(spec, weights).eval()
    ds = load_dataset(dataset, data_root)
    mean, std = spec.norm_for(dataset)
    calib_x = to_tensor(ds.x_train[:calibration_samples], mean, std)
    n = len(ds.x_test) if limit <= 0 else min(limit, len(ds.x_test))
    x = to_tensor(ds.x_test[:n], mean, std)
    y = torch.as_tensor(ds.y_test[:n])
    with torch.no_grad():
        ann = float((model(x).argmax(1) == y).double().mean())
    net = cosim.convert(model, calib_x, percentile=percentile)
    from calib.io import file_digest

    info = {"network": network, "weights": str(weights),
            "weights_sha256": file_digest(weights), "dataset": dataset,
            "data_source": ds.source, "test_samples": n, "percentile": percentile,
            "calibration_samples": calibration_samples}
    return Classifier(net=net, x=x, y=y, ann_accuracy=ann, info=info)


__all__ = ["Classifier", "load_classifier"]
