"""Where training and evaluation run: a device name checked once, and its description for
provenance (`nmpkit.ml.train` trains there; `nmpkit.studies.evaluate_parts.EvalConfig` checks
its ``device`` with `resolve_device`)."""

from __future__ import annotations

import torch

from nmpkit.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``torch.device(name)``, checked: a clear error for a bad name or a missing GPU."""
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be cpu, cuda or cuda:N, got {name!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r}: no CUDA GPU is available here (use cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} GPU(s) here")
    elif dev.type != "cpu":
        raise ConfigError(f"device must be cpu, cuda or cuda:N, got {name!r}")
    return dev


def device_description(dev: torch.device) -> str:
    """What ran the work, for provenance: the GPU's name, or the CPU and its thread count."""
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({torch.get_num_threads()} threads)"


__all__ = ["device_description", "resolve_device"]
