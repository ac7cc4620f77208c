"""The pieces of an SNN evaluation: the floor's spelling, the options (`EvalConfig`), the
conversion, one simulate call, per-sample correctness, the decoded output, one chunk's record
and the chunk key."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from calib.io import content_hash
from nmpkit.errors import ConfigError


def parse_lower_bound(text: str) -> float | None:
    """``nmp`` → None (no floor), ``zmp`` → 0.0, a float ≤ 0 → that floor in threshold units."""
    t = text.strip().lower()
    if t == "nmp":
        return None
    if t == "zmp":
        return 0.0
    try:
        v = float(t)
    except ValueError:
        raise ConfigError(f"--lower-bound must be nmp, zmp or a float <= 0, got {text!r}") from None
    if not math.isfinite(v) or v > 0:
        raise ConfigError(f"--lower-bound must be nmp, zmp or a finite float <= 0, got {text!r}")
    return v


def bound_label(lb: float | None) -> str:
    """Human label of a lower bound: NMP, ZMP or the floor value."""
    return "NMP" if lb is None else ("ZMP" if lb == 0 else f"{lb:g}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalConfig:
    """Options of one SNN evaluation."""

    timesteps: int
    lower_bound: float | None
    batch_size: int = 500
    percentile: float = 99.99
    calibration_samples: int = 1000
    correlation_at: int = 300  # clipped to timesteps
    correlation_samples: int = 16
    correlation_points: int = 3000  # per layer, sampled at random (seeded)
    seed: int = 0
    device: str = "cpu"  # where cosim.simulate runs ("cuda" on a GPU)
    memory_budget_gb: float = 1.0  # cosim.simulate's working-memory bound per call

    def __post_init__(self) -> None:
        if not 1 <= self.timesteps <= 100_000:  # past 10^5 the buffers outgrow memory
            raise ConfigError(f"timesteps must be in 1..100000, got {self.timesteps!r}")
        for name in ("correlation_at", "correlation_samples"):
            if getattr(self, name) < (1 if name == "correlation_at" else 0):
                raise ConfigError(f"{name} must be >= {1 if name == 'correlation_at' else 0}, "
                                  f"got {getattr(self, name)!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size!r}")
        if not 0 < self.percentile <= 100:
            raise ConfigError(f"percentile must be in (0, 100], got {self.percentile!r}")
        if self.calibration_samples < 1:
            raise ConfigError(f"calibration_samples must be >= 1, got {self.calibration_samples!r}")
        if not (math.isfinite(self.memory_budget_gb) and self.memory_budget_gb > 0):
            raise ConfigError(f"memory_budget_gb must be > 0, got {self.memory_budget_gb!r}")
        from nmpkit.ml.device import resolve_device

        resolve_device(self.device)


def convert_normalized(model: nn.Module, calib_x: torch.Tensor, cfg: EvalConfig):
    """`cosim.convert` with data-based normalization on ``calib_x`` (N, C, H, W)."""
    import cosim

    return cosim.convert(model.eval(), calib_x, percentile=cfg.percentile)


def simulate_eval(net, x: torch.Tensor, timesteps: int, cfg: EvalConfig):
    """``cosim.simulate`` of ``x`` for ``timesteps`` steps with ``cfg``'s floor, device and memory
    bound."""
    import cosim

    return cosim.simulate(
        net,
        x,
        timesteps=timesteps,
        lower_bound=cfg.lower_bound,
        device=cfg.device,
        memory_budget_bytes=int(cfg.memory_budget_gb * 2**30),
    )


def correct_per_step(res, labels: torch.Tensor) -> torch.Tensor:
    """(T, B) bool: sample b classified right after t+1 steps (most output spikes; ties go to
    the lowest index, as ``SimulationResult.accuracy_per_step(ties="first")``)."""
    labels = torch.as_tensor(labels).reshape(-1).long().cpu()
    spk = res.output_spikes.reshape(res.timesteps, res.batch_size, -1)
    return spk.to(torch.int32).cumsum(0).argmax(-1) == labels


def decoded_output(res, t: int) -> torch.Tensor:
    """(B, *out_shape) float32: output spikes in the first ``t`` steps / t × output scale."""
    counts = res.output_spikes[:t].sum(0, dtype=torch.float32)
    return counts / t * float(res.output_scale)


def chunk_record(net, xb: torch.Tensor, tb: torch.Tensor, cfg: EvalConfig, *, task: str,
                 snapshots: tuple[int, ...] = ()) -> dict:
    """One chunk's stored record (`run_chunks` locally, `distributed.run_chunks_on` on a
    cluster: the one place that builds it): the per-step metric, the mean rate per layer, the
    sample count, per-sample correctness (classify) and the decoded snapshots."""
    from nmpkit.studies.batched import metric_per_step

    res = simulate_eval(net, xb, cfg.timesteps, cfg)
    per = metric_per_step(res, tb, task)
    rec: dict = {
        "metric": torch.as_tensor(per, dtype=torch.float64).reshape(cfg.timesteps),
        "rates": torch.tensor([float(torch.as_tensor(r).double().mean())
                               for r in res.layer_rates], dtype=torch.float64),
        "n": len(xb),
    }
    if task == "classify":
        rec["correct"] = correct_per_step(res, tb)
    if snapshots:
        rec["snap"] = torch.stack([decoded_output(res, t) for t in snapshots])
    return rec


def config_key(**parts: object) -> str:
    """Short content hash (``calib.io.content_hash``) of all that changes a chunk's result."""
    return content_hash(parts)[:12]


__all__ = [
    "EvalConfig",
    "bound_label",
    "chunk_record",
    "config_key",
    "convert_normalized",
    "correct_per_step",
    "decoded_output",
    "parse_lower_bound",
    "simulate_eval",
]
