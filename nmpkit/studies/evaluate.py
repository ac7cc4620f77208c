"""Evaluate a trained zoo network as a converted SNN: accuracy or MSE after every timestep.

``run(EvaluateConfig(...)) -> EvaluateResult`` (``.save(dir, name)`` / ``.load(dir, name)``,
`nmpkit.studies.evaluate_io`). The ANN is converted once (`cosim.convert`, data-based
normalization on a calibration batch of training samples) and simulated in chunks
(`cosim.simulate`); each finished chunk is stored under ``PARTS-<key>/`` as
``chunk_<start>_<size>.pt`` so a killed evaluation resumes where it stopped, and a longer
``limit`` reuses the chunks a shorter one finished. Per-step metrics of the chunks are combined by
sample count (accuracy) or by element count (MSE), which equals the metric over the whole set.
The chunk loop: `nmpkit.studies.evaluate_chunks`; correlation data: `nmpkit.studies.evaluate_corr`;
the pieces (`EvalConfig`, the floor's spelling, the chunk key): `nmpkit.studies.evaluate_parts`.

Example::

    res = run(EvaluateConfig(network="mnist", weights="w.pt", data_root="mnist.npz",
                             sim=EvalConfig(timesteps=100, lower_bound=0.0)))
    res.save("out", "zmp")      # out/zmp.csv, zmp.json, zmp_correct.npz, zmp_corr.csv
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nmpkit.errors import ConfigError
from nmpkit.studies.distributed import run_chunks_on
from nmpkit.studies.evaluate_chunks import run_chunks
from nmpkit.studies.evaluate_corr import ann_activations, correlation_data, layer_scales
from nmpkit.studies.evaluate_io import EvaluateResult, load_correct, save_correct
from nmpkit.studies.evaluate_parts import (
    EvalConfig,
    bound_label,
    config_key,
    convert_normalized,
    correct_per_step,
    decoded_output,
    parse_lower_bound,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluateConfig:
    """One evaluation of a zoo network's trained weights as an SNN.

    Attributes:
        network, weights: the zoo network and its state_dict (``nmpkit train``).
        sim: the simulation's options (timesteps, floor, chunk size, normalization, device).
        data_root: dataset folder or .npz (a classifier: required; the autoencoder: optional,
            CIFAR-10 training patches for the normalization batch).
        dataset: the dataset (default: the network's first).
        limit: the first ``limit`` test samples (classifiers; None: all).
        image, crop: the autoencoder's test image (None: skimage's astronaut) and the side of its
            central square that is used (a multiple of 32; None: all of it).
        snapshots: the autoencoder's steps at which reconstructions are kept (those <= T).
    """

    network: str
    weights: str
    sim: EvalConfig
    data_root: str | None = None
    dataset: str | None = None
    limit: int | None = None
    image: str | None = None
    crop: int | None = None
    snapshots: tuple[int, ...] = (50, 100, 150, 200, 750)

    def __post_init__(self) -> None:
        from nmpkit.ml.data import PATCH
        from nmpkit.ml.zoo import get_network

        spec = get_network(self.network)
        ds = self.dataset or spec.datasets[0]
        if ds not in spec.datasets:
            raise ConfigError(f"dataset for {spec.name} must be one of "
                              f"{', '.join(spec.datasets)}, got {ds!r}")
        object.__setattr__(self, "dataset", ds)
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1, got {self.limit}")
        if spec.task == "classify" and self.data_root is None:
            raise ConfigError(f"data_root is required for network {spec.name!r}")
        if spec.task != "classify" and self.limit is not None:
            raise ConfigError("limit does not apply to the autoencoder's image; use crop")
        if self.crop is not None and (self.crop < PATCH or self.crop > 512 or self.crop % PATCH):
            raise ConfigError(f"crop must be a multiple of {PATCH} in 32..512, got {self.crop}")
        steps = sorted({int(t) for t in self.snapshots if 1 <= int(t) <= self.sim.timesteps})
        object.__setattr__(self, "snapshots", tuple(steps) if spec.task != "classify" else ())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_snapshots(text: str) -> tuple[int, ...]:
    """``"50,100"`` → (50, 100): the autoencoder's snapshot steps as a comma list."""
    try:
        return tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise ConfigError(f"--snapshots must be a comma list of steps, got {text!r}") from None


def _inputs(spec: Any, cfg: EvaluateConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                      str]:
    """(x, target, calibration batch, source description) for the network's task."""
    from nmpkit.ml.data import image_to_patches, load_dataset, load_test_image, to_tensor

    assert cfg.dataset is not None
    mean, std = spec.norm_for(cfg.dataset)
    n_cal = cfg.sim.calibration_samples
    if spec.task == "classify":
        data = load_dataset(cfg.dataset, cfg.data_root)
        x = to_tensor(data.x_test[: cfg.limit], mean, std)
        y = torch.from_numpy(data.y_test[: cfg.limit])
        return x, y, to_tensor(data.x_train[:n_cal], mean, std), data.source
    img = load_test_image(cfg.image)
    if cfg.crop is not None:
        top = (img.shape[1] - cfg.crop) // 2
        img = img[:, top : top + cfg.crop, top : top + cfg.crop]
    patches = torch.from_numpy(image_to_patches(img))
    name = cfg.image or "skimage.data.astronaut"
    if cfg.data_root is None:
        return patches, patches, patches, f"{name}; calibration: its own patches"
    data = load_dataset(cfg.dataset, cfg.data_root)
    calib = to_tensor(data.x_train[:n_cal], mean, std)
    return patches, patches, calib, f"{name}; calibration: {data.source}"


def _images(snaps: dict[int, torch.Tensor], x: torch.Tensor) -> dict[str, np.ndarray]:
    """Reconstructed images at the snapshot steps and the target, each (3, H, W) in [0, 1]."""
    from nmpkit.ml.data import PATCH, patches_to_image

    side = PATCH * math.isqrt(len(x))
    images = {f"t{t}": patches_to_image(v.reshape(x.shape).clamp(0, 1).numpy(), side, side)
              for t, v in snaps.items()}
    images["target"] = patches_to_image(x.numpy(), side, side)
    return images


def run(cfg: EvaluateConfig, *, parts_prefix: Path | None = None,
        progress: Callable[[int], None] | None = None,
        record: dict[str, Any] | None = None, scheduler: Any = None) -> EvaluateResult:
    """Convert, simulate and score ``cfg``'s network; chunks under ``PARTS_PREFIX-<key>/``.

    ``progress(n)`` is called with the number of samples each finished chunk held; ``record``:
    more provenance fields (the CLI's ``argv``); ``scheduler``: a Dask scheduler address (or
    ``distributed.Client``) to simulate the chunks on (`nmpkit.studies.distributed`; the same
    chunks and results as a local run).
    """
    import copy

    from calib.io import file_digest, provenance
    from nmpkit.ml.train import evaluate_ann, load_weights
    from nmpkit.ml.zoo import get_network

    spec, sim = get_network(cfg.network), cfg.sim
    model = load_weights(spec, cfg.weights)
    x, target, calib_x, source = _inputs(spec, cfg)
    on_cpu = torch.device(sim.device).type == "cpu"
    ann_model = model if on_cpu else copy.deepcopy(model).to(sim.device)
    ann_metric = evaluate_ann(ann_model, x, None if spec.task == "reconstruct" else target)
    net = convert_normalized(model, calib_x, sim)
    weights_sha = file_digest(cfg.weights)
    key = config_key(network=spec.name, weights=weights_sha, lb=sim.lower_bound,
                     T=sim.timesteps, batch=sim.batch_size, pct=sim.percentile,
                     calib=sim.calibration_samples, source=source,
                     device=torch.device(sim.device).type,  # GPU sums differ in float order
                     image=cfg.image, crop=cfg.crop, snapshots=cfg.snapshots)
    chunks = run_chunks if scheduler is None else \
        (lambda *a, **k: run_chunks_on(scheduler, *a, **k))
    res = chunks(net, x, target, sim, task=spec.task, progress=progress,
                     parts_dir=None if parts_prefix is None else Path(f"{parts_prefix}-{key}"),
                     snapshots=cfg.snapshots)
    col = "accuracy" if spec.task == "classify" else "mse"
    metric = np.asarray(res["metric"], dtype=np.float64)
    best = int(metric.argmax() if col == "accuracy" else metric.argmin())
    summary: dict[str, Any] = {
        "network": spec.name, "dataset": cfg.dataset if spec.task == "classify" else "image",
        "data_source": source, "weights": str(cfg.weights), "weights_sha256": weights_sha,
        "lower_bound": sim.lower_bound, "bound": bound_label(sim.lower_bound),
        "timesteps": sim.timesteps, "samples": len(x), "metric": col, f"ann_{col}": ann_metric,
        f"final_{col}": float(metric[-1]), f"best_{col}": float(metric[best]),
        "best_t": best + 1, "layer_rates": res["layer_rates"],
        "config": {k: getattr(sim, k) for k in sim.__slots__}}
    rows: list[dict[str, Any]] = []
    if sim.correlation_samples > 0:
        rows, corr = correlation_data(model, net, x[: sim.correlation_samples], calib_x, sim)
        summary["correlation"] = {"t": min(sim.correlation_at, sim.timesteps),
                                  "samples": min(sim.correlation_samples, len(x)),
                                  "layers": corr}
    images = _images(res["snapshots"], x) if cfg.snapshots else {}
    if images:
        summary["reconstructions"] = {"steps": list(cfg.snapshots)}
    summary["provenance"] = provenance(command="nmpkit evaluate", evaluate=cfg.to_dict(),
                                       **(record or {}))
    correct = res["correct"].numpy() if "correct" in res else None
    return EvaluateResult(summary=summary, metric=tuple(float(v) for v in metric),
                          correct=correct, correlation=tuple(rows), reconstructions=images)


__all__ = [
    "EvalConfig",
    "EvaluateConfig",
    "EvaluateResult",
    "ann_activations",
    "bound_label",
    "config_key",
    "convert_normalized",
    "correct_per_step",
    "correlation_data",
    "decoded_output",
    "layer_scales",
    "load_correct",
    "parse_lower_bound",
    "parse_snapshots",
    "run",
    "save_correct",
]
