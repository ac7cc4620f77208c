"""Run configuration: the embedded default, user TOML files merged onto it, strict checking.

Every key a user writes must exist in the embedded default (``nmpkit/app/configs/default.toml``)
with a compatible type; anything else is a :class:`UsageError` naming the key, the value and
what was expected. A config is a plain nested dict so it can be hashed for stage keys.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from nmpkit.app.errors import UsageError

DATASETS = ("mnist", "fashion-mnist", "cifar10", "svhn", "autoencoder")


def default_config() -> dict[str, Any]:
    """The embedded default run configuration (a fresh copy)."""
    text = resources.files("nmpkit.app").joinpath("configs/default.toml").read_text()
    return tomllib.loads(text)


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list):
        return isinstance(value, list)
    return isinstance(value, type(default))


def _merge(base: dict[str, Any], user: dict[str, Any], where: str, source: str) -> None:
    for key, value in user.items():
        path = f"{where}.{key}" if where else key
        if key not in base:
            # [design] takes free NeuronDesign overrides; NeuronDesign itself checks them
            if where == "design":
                base[key] = value
                continue
            raise UsageError(f"{source}: unknown key {path!r} (known: {sorted(base)})")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise UsageError(f"{source}: {path!r} must be a table, got {value!r}")
            _merge(base[key], value, path, source)
        elif isinstance(base[key], list) and isinstance(value, int) \
                and not isinstance(value, bool) and path == "tradeoff.timesteps":
            base[key] = [value]  # an older config's single T is a one-budget list
        elif not _type_ok(base[key], value):
            raise UsageError(f"{source}: {path!r} must be {type(base[key]).__name__}, "
                             f"got {value!r}")
        else:
            base[key] = float(value) if isinstance(base[key], float) else value


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The default config, with the TOML file at ``path`` (if any) merged onto it.

    Raises:
        UsageError: unreadable file, bad TOML, unknown key, wrong type or bad value.
    """
    cfg = default_config()
    if path is not None:
        path = Path(path)
        try:
            user = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"config file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
        _merge(cfg, user, "", str(path))
    validate(cfg)
    return cfg


def validate(cfg: dict[str, Any]) -> None:
    """Value checks beyond types (ranges, choices)."""
    ds = cfg["data"]["dataset"]
    if ds not in DATASETS:
        raise UsageError(f"data.dataset must be one of {DATASETS}, got {ds!r}")
    budgets = cfg["tradeoff"]["timesteps"]
    if not budgets or any(isinstance(t, bool) or not isinstance(t, int) or t < 1
                          for t in budgets):
        raise UsageError(f"tradeoff.timesteps must be a non-empty list of integers >= 1 "
                         f"(latency budgets), got {budgets!r}")
    for k in ("tolerance",):
        v = cfg["tradeoff"][k]
        if not 0 <= v < 1:
            raise UsageError(f"tradeoff.{k} must be an accuracy fraction in [0, 1) (0.005 = "
                             f"0.5 %p), got {v!r}")
    if cfg["tradeoff"]["energy_samples"] < 0:
        raise UsageError(f"tradeoff.energy_samples must be >= 0 (0 = all), got "
                         f"{cfg['tradeoff']['energy_samples']!r}")
    for section, key in (("evaluate", "timesteps"),
                         ("variation", "timesteps"), ("cosim_check", "timesteps"),
                         ("network", "epochs")):
        if cfg[section][key] < 1:
            raise UsageError(f"{section}.{key} must be >= 1, got {cfg[section][key]!r}")
    for f in cfg["evaluate"]["floors"]:
        if not isinstance(f, int | float) or f > 0:
            raise UsageError(f"evaluate.floors entries must be numbers <= 0, got {f!r}")
    for v in cfg["tradeoff"]["v_neg_volts"]:
        if not isinstance(v, int | float) or v > 0:
            raise UsageError(f"tradeoff.v_neg_volts entries must be <= 0, got {v!r}")
    for s in cfg["variation"]["sigmas"]:
        if not isinstance(s, int | float) or not 0 <= s < 1:
            raise UsageError(f"variation.sigmas entries must be in [0, 1), got {s!r}")


def section(cfg: dict[str, Any], *names: str) -> dict[str, Any]:
    """A deep copy of the named sections (a stage's inputs)."""
    return {n: copy.deepcopy(cfg[n]) for n in names}
