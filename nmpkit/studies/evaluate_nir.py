"""Evaluate a NIR file (written by ``nmpkit export-nir`` or another tool) on a classifier's test
set: ``run(NirEvaluateConfig(...)) -> EvaluateResult``, accuracy after every step.

The file's neurons (floor, reset, calibrated gains) are simulated as they are; ``lower_bound``
replaces the file's floor (``nmp`` removes it). The network named in the file's metadata (or
``network``) sets the input normalization. Chunks are resumable as in `nmpkit.studies.evaluate`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nmpkit.errors import ConfigError
from nmpkit.studies.evaluate_io import EvaluateResult
from nmpkit.studies.evaluate_parts import EvalConfig, config_key, parse_lower_bound


@dataclass(frozen=True, slots=True, kw_only=True)
class NirEvaluateConfig:
    """One evaluation of a NIR file.

    Attributes:
        nir: the NIR file.
        data_root: dataset folder or .npz.
        timesteps: simulation steps T.
        network: the zoo network whose input normalization applies (default: the file's).
        dataset: the dataset (default: the file's, else the network's first).
        lower_bound: None keeps the file's floor; else ``nmp``, ``zmp`` or a float <= 0.
        limit: the first ``limit`` test samples (None: all).
        batch_size, device, memory_budget_gb: as in `EvalConfig`.
    """

    nir: str
    data_root: str | None
    timesteps: int | None
    network: str | None = None
    dataset: str | None = None
    lower_bound: str | None = None
    limit: int | None = None
    batch_size: int = 500
    device: str = "cpu"
    memory_budget_gb: float = 1.0

    def __post_init__(self) -> None:
        if not Path(self.nir).is_file():
            raise ConfigError(f"--nir file {str(self.nir)!r} not found")
        if self.data_root is None:
            raise ConfigError("--data-root is required with --nir")
        if self.timesteps is None or self.timesteps < 1:
            raise ConfigError(f"--timesteps must be >= 1, got {self.timesteps}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {self.limit}")
        if self.lower_bound is not None:
            parse_lower_bound(self.lower_bound)
        self.sim()  # its own checks (batch size, device, memory) now

    def sim(self) -> EvalConfig:
        assert self.timesteps is not None
        return EvalConfig(timesteps=self.timesteps, lower_bound=None,
                          batch_size=self.batch_size, device=self.device,
                          memory_budget_gb=self.memory_budget_gb)


def net_floor(neuron: Any) -> str:
    """The floors of ``neuron`` (one `cosim.IFNeuron` or one per layer) as text: ``none, -0.5``."""
    import cosim

    ns = [neuron] if isinstance(neuron, cosim.IFNeuron) else list(neuron)
    return ", ".join(sorted({"none" if n.lower_bound is None else f"{n.lower_bound:g}"
                             for n in ns}))


def _read(path: Path) -> tuple[Any, Any, list[str], dict[str, Any]]:
    """(graph, network, import notes, metadata) of a NIR file."""
    import nir

    import cosim

    try:
        graph = nir.read(str(path))
    except (OSError, KeyError, ValueError) as err:
        raise ConfigError(f"--nir {str(path)!r} is not a readable NIR file ({err})") from err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", cosim.nir.NIRImportWarning)
        net = cosim.from_nir(graph)
    notes = [str(w.message) for w in caught if issubclass(w.category, cosim.nir.NIRImportWarning)]
    return graph, net, notes, cosim.nir.nir_metadata(graph) or {}


def run(cfg: NirEvaluateConfig, *, parts_prefix: Path | None = None,
        progress: Callable[[int], None] | None = None,
        record: dict[str, Any] | None = None) -> EvaluateResult:
    """Simulate ``cfg.nir`` on the test set; chunks under ``PARTS_PREFIX-<key>/``."""
    import torch

    from calib.io import file_digest, provenance
    from cosim.nir import with_neuron
    from nmpkit.ml.data import load_dataset, to_tensor
    from nmpkit.ml.zoo import get_network
    from nmpkit.studies.evaluate_chunks import run_chunks
    from nmpkit.studies.stats import wilson

    path = Path(cfg.nir)
    _, net, notes, meta = _read(path)
    src = meta.get("source", {})
    name = cfg.network or src.get("network")
    if name is None:
        raise ConfigError("the NIR file names no network: give NETWORK (it sets the input "
                          "normalization), e.g. `nmpkit evaluate mnist --nir FILE ...`")
    spec = get_network(name)
    if spec.task != "classify":
        raise ConfigError(f"evaluate --nir runs classifiers; {spec.name} is a {spec.task} network")
    dataset = cfg.dataset or src.get("dataset") or spec.datasets[0]
    if cfg.lower_bound is not None:  # override the file's floor (nmp: remove it)
        net = with_neuron(net, lower_bound=parse_lower_bound(cfg.lower_bound))
    sim = cfg.sim()
    mean, std = spec.norm_for(dataset)
    data = load_dataset(dataset, cfg.data_root)
    x = to_tensor(data.x_test[: cfg.limit], mean, std)
    y = torch.from_numpy(data.y_test[: cfg.limit])
    if tuple(x.shape[1:]) != tuple(net.input_shape):
        raise ConfigError(f"{dataset} samples have shape {tuple(x.shape[1:])} but the NIR "
                          f"network takes {tuple(net.input_shape)}")
    floor, sha = net_floor(net.neuron), file_digest(path)
    key = config_key(nir=sha, floor=floor, T=sim.timesteps, batch=sim.batch_size,
                     source=data.source, device=torch.device(sim.device).type)
    res = run_chunks(net, x, y, sim, task="classify", progress=progress,
                     parts_dir=None if parts_prefix is None else Path(f"{parts_prefix}-{key}"))
    n, final = len(x), float(res["metric"][-1])
    summary = {"nir": str(path), "nir_sha256": sha, "network": spec.name, "dataset": dataset,
               "data_source": data.source, "timesteps": sim.timesteps, "samples": n,
               "metric": "accuracy", "floor": floor,
               "reset": ", ".join(sorted({nn.reset for nn in net.neuron})),
               "final_accuracy": final, "final_accuracy_95ci": wilson(round(final * n), n),
               "layer_rates": res["layer_rates"], "notes": notes, "nir_source": src,
               "nir_calibration": meta.get("calibration"),
               "provenance": provenance(command="nmpkit evaluate --nir",
                                        evaluate=asdict(cfg), **(record or {}))}
    return EvaluateResult(summary=summary, metric=tuple(float(v) for v in res["metric"]))


__all__ = ["NirEvaluateConfig", "net_floor", "run"]
