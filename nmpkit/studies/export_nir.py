"""A trained zoo network, converted (and optionally calibrated), as a NIR graph:
``run(ExportConfig(...)) -> ExportResult`` (``.save(path)`` writes the ``.nir`` file atomically).

The floor, the reset and (with a calibration) the calibrated neurons and their provenance go into
the graph's metadata, so ``nmpkit evaluate --nir`` (`nmpkit.studies.evaluate_nir`) or another
tool simulates what was exported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmpkit.errors import ConfigError
from nmpkit.studies.evaluate_nir import net_floor
from nmpkit.studies.evaluate_parts import EvalConfig, convert_normalized, parse_lower_bound


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportConfig:
    """What to export. ``lower_bound``: nmp, zmp or a float <= 0 (ideal neurons only);
    ``calibration`` + ``v_neg_volts``: calibrated neurons with that supply's floor, per-neuron
    mismatch drawn with ``mismatch_seed`` (None: none), with or without the transfer curve and
    the refractory period."""

    network: str
    weights: str
    data_root: str
    dataset: str | None = None
    lower_bound: str = "nmp"
    reset: str = "subtract"
    percentile: float = 99.99
    calibration_samples: int = 1000
    calibration: str | None = None
    v_neg_volts: float | None = None
    mismatch_seed: int | None = None
    transfer: bool = True
    refractory: bool = True

    def __post_init__(self) -> None:
        from nmpkit.ml.zoo import get_network

        spec = get_network(self.network)
        ds = self.dataset or spec.datasets[0]
        if ds not in spec.datasets:
            raise ConfigError(f"--dataset for {spec.name} must be one of "
                              f"{', '.join(spec.datasets)}, got {ds!r}")
        object.__setattr__(self, "dataset", ds)
        if self.calibration_samples < 1:
            raise ConfigError(
                f"--calibration-samples must be >= 1, got {self.calibration_samples}")
        if self.calibration is None and (self.v_neg_volts is not None
                                         or self.mismatch_seed is not None):
            raise ConfigError("--v-neg and --mismatch-seed need --calibration FILE")
        if self.calibration is not None and self.v_neg_volts is None:
            raise ConfigError("--calibration needs --v-neg VOLTS (the supply whose floor to "
                              "export)")
        if self.calibration is not None and self.lower_bound != "nmp":
            raise ConfigError("--lower-bound does not apply with --calibration: the floor comes "
                              f"from --v-neg, got --lower-bound {self.lower_bound!r}")
        parse_lower_bound(self.lower_bound)


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The NIR ``graph`` and a ``summary`` (network, dataset, layer shapes, floor, reset)."""

    graph: Any
    summary: dict[str, Any]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the graph as a NIR file, atomically; returns the path."""
        import nir

        from calib.io import atomic_write

        return atomic_write(path, lambda tmp: nir.write(tmp, self.graph))


def _neurons(cfg: ExportConfig, net: Any) -> tuple[Any, dict[str, Any] | None]:
    """The network's neurons (one ideal `cosim.IFNeuron`, or calibrated ones per layer) and the
    calibration's provenance (None without one)."""
    import torch

    import cosim

    if cfg.calibration is None:
        return cosim.IFNeuron(lower_bound=parse_lower_bound(cfg.lower_bound),
                              reset=cfg.reset), None
    from dataclasses import replace

    from calib import Calibration
    from cosim.nir import calibration_provenance

    cal = Calibration.load(cfg.calibration)
    gen = None if cfg.mismatch_seed is None else torch.Generator().manual_seed(cfg.mismatch_seed)
    neuron = cosim.calibrated_neurons(cal, [ly.shape for ly in net.layers],
                                      v_neg_volts=cfg.v_neg_volts, generator=gen,
                                      transfer=cfg.transfer, refractory=cfg.refractory)
    if cfg.reset != "subtract":
        neuron = [replace(n, reset=cfg.reset) for n in neuron]
    return neuron, calibration_provenance(cal, v_neg_volts=cfg.v_neg_volts,
                                          path=cfg.calibration, seed=cfg.mismatch_seed,
                                          transfer=cfg.transfer, refractory=cfg.refractory)


def run(cfg: ExportConfig) -> ExportResult:
    """Convert ``cfg``'s network (normalized on its training samples) and build the NIR graph."""
    import cosim
    from calib.io import file_digest, provenance
    from nmpkit.ml.data import load_dataset, to_tensor
    from nmpkit.ml.train import load_weights
    from nmpkit.ml.zoo import get_network

    assert cfg.dataset is not None
    spec = get_network(cfg.network)
    sim = EvalConfig(timesteps=1, lower_bound=parse_lower_bound(cfg.lower_bound),
                     percentile=cfg.percentile, calibration_samples=cfg.calibration_samples)
    model = load_weights(spec, cfg.weights)
    mean, std = spec.norm_for(cfg.dataset)
    data = load_dataset(cfg.dataset, cfg.data_root)
    calib_x = to_tensor(data.x_train[: cfg.calibration_samples], mean, std)
    net = convert_normalized(model, calib_x, sim)
    neuron, prov = _neurons(cfg, net)
    source = {"network": spec.name, "dataset": cfg.dataset, "data_source": data.source,
              "weights": str(cfg.weights), "weights_sha256": file_digest(cfg.weights),
              "percentile": cfg.percentile, "calibration_samples": len(calib_x),
              "provenance": provenance(command="nmpkit export-nir")}
    graph = cosim.to_nir(net, neuron, provenance=prov, source=source)
    summary = {"network": spec.name, "dataset": cfg.dataset,
               "layers": [list(ly.shape) for ly in net.layers],
               "lower_bound": net_floor(neuron), "reset": cfg.reset,
               "calibrated": cfg.calibration is not None}
    return ExportResult(graph=graph, summary=summary)


__all__ = ["ExportConfig", "ExportResult", "run"]
