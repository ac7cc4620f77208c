"""The run configuration as frozen dataclasses, one per TOML table.

`nmpkit.app.config.load_config` parses, merges and validates the TOML once (as a nested dict,
so every message names the key) and returns a :class:`RunConfig`; the stages read attributes
(``cfg.tradeoff.timesteps``), never ``cfg["tradeoff"]["timesteps"]``.

Adding a key: one line in ``configs/default.toml``, one field in its table's class below, and
its value check in ``config.validate``. A key in the TOML without a field here is refused when
the class is built (``TypeError`` naming the field), so the three cannot drift apart.

Stage keys hash :meth:`RunConfig.section` (the table as the plain dict the TOML gave), so they
are the same bytes as when the config was a dict: no cache migration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunCfg:
    seed: int


@dataclass(frozen=True)
class CharacterizeCfg:
    quick: bool
    workers: int      # 0 = all cores
    scheduler: str    # Dask scheduler address; "" = local processes


@dataclass(frozen=True)
class DataCfg:
    dataset: str
    root: str
    eval_limit: int   # 0 = the whole test set


@dataclass(frozen=True)
class NetworkCfg:
    name: str
    weights: str       # "" = train here; a path; or "nmpkit:weights/FILE.pt"
    epochs: int
    eval_limit: int    # 0 = data.eval_limit
    tradeoff: bool     # run the trade-off on it


@dataclass(frozen=True)
class EvaluateCfg:
    timesteps: int
    percentile: float
    floors: tuple[float, ...]
    compare_at: tuple[int, ...]


@dataclass(frozen=True)
class TradeoffCfg:
    v_neg_volts: tuple[float, ...]
    v_dd_volts: tuple[float, ...]
    timesteps: tuple[int, ...]
    eval_limit: int
    tolerance: float
    energy_samples: int
    eta: float


@dataclass(frozen=True)
class VariationCfg:
    sigmas: tuple[float, ...]
    window_steps: int
    max_pulses: int
    eval_limit: int
    timesteps: int


@dataclass(frozen=True)
class CosimCheckCfg:
    v_neg_volts: tuple[float, ...]
    timesteps: int
    hidden: int
    substeps: int
    samples: int


TABLES: dict[str, type] = {
    "run": RunCfg, "characterize": CharacterizeCfg, "data": DataCfg, "evaluate": EvaluateCfg,
    "tradeoff": TradeoffCfg, "variation": VariationCfg, "cosim_check": CosimCheckCfg,
}
"""The fixed tables and their classes (``design`` and ``networks`` are handled apart)."""


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _thawed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    return value


def _build(cls: type, table: Mapping[str, Any]) -> Any:
    return cls(**{k: _frozen(v) for k, v in table.items()})


@dataclass(frozen=True)
class RunConfig:
    """A validated run config (build it with `nmpkit.app.config.load_config`)."""

    run: RunCfg
    design: Mapping[str, Any]   # NeuronDesign overrides (read-only by convention; checked by
                                # circuits.design.design_from_mapping in validate)
    characterize: CharacterizeCfg
    data: DataCfg
    networks: tuple[NetworkCfg, ...]
    evaluate: EvaluateCfg
    tradeoff: TradeoffCfg
    variation: VariationCfg
    cosim_check: CosimCheckCfg

    @property
    def network(self) -> NetworkCfg:
        """The first network (the one ``train``/``evaluate``/``modulate`` use)."""
        return self.networks[0]

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> RunConfig:
        """The dataclasses of an already merged and validated nested dict."""
        return cls(design=dict(cfg["design"]),
                   networks=tuple(_build(NetworkCfg, n) for n in cfg["networks"]),
                   **{name: _build(k, cfg[name]) for name, k in TABLES.items()})

    def section(self, name: str) -> dict[str, Any]:
        """Table ``name`` as the plain dict (lists, not tuples) the TOML gave: a stage's inputs."""
        if name == "design":
            return _thawed(self.design)
        if name == "network":
            return self.network_dict(self.network)
        if name == "networks":
            return [self.network_dict(n) for n in self.networks]  # type: ignore[return-value]
        return _thawed(dataclasses.asdict(getattr(self, name)))

    @staticmethod
    def network_dict(net: NetworkCfg) -> dict[str, Any]:
        return dataclasses.asdict(net)

    def to_dict(self) -> dict[str, Any]:
        """The whole config as the nested dict ``config.validate`` checks (``network`` mirrors
        ``networks[0]``, as in the TOML's legacy single-network form)."""
        out = {name: self.section(name) for name in ("run", "design", "characterize", "data")}
        out["networks"] = self.section("networks")
        out["network"] = self.section("network")
        out |= {name: self.section(name) for name in ("evaluate", "tradeoff", "variation",
                                                       "cosim_check")}
        return out


__all__ = ["CharacterizeCfg", "CosimCheckCfg", "DataCfg", "EvaluateCfg", "NetworkCfg",
           "RunCfg", "RunConfig", "TradeoffCfg", "VariationCfg"]
