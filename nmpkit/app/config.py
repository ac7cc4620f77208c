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


NETWORK_ENTRY: dict[str, Any] = {"name": "mnist", "weights": "", "epochs": 1, "eval_limit": 0,
                                 "tradeoff": True}
"""The keys of one ``[[networks]]`` entry (or the legacy single ``[network]`` table) and the
values an entry that omits them gets. ``eval_limit`` 0 = ``data.eval_limit``."""


def default_config() -> dict[str, Any]:
    """The embedded default run configuration (a fresh copy); ``network`` = ``networks[0]``."""
    text = resources.files("nmpkit.app").joinpath("configs/default.toml").read_text()
    cfg = tomllib.loads(text)
    cfg["networks"] = [_network_entry(e, f"networks[{i}]", "default.toml")
                       for i, e in enumerate(cfg["networks"])]
    cfg["network"] = copy.deepcopy(cfg["networks"][0])
    return cfg


def _network_entry(user: Any, where: str, source: str) -> dict[str, Any]:
    if not isinstance(user, dict):
        raise UsageError(f"{source}: {where!r} must be a table, got {user!r}")
    entry = copy.deepcopy(NETWORK_ENTRY)
    _merge(entry, user, where, source)
    return entry


def _networks(user: dict[str, Any], source: str) -> list[dict[str, Any]] | None:
    """The user's networks: ``[[networks]]`` entries, or the legacy ``[network]`` as the only one
    (its ``tradeoff`` true); None when the file names neither. Both at once are refused."""
    if "network" in user and "networks" in user:
        raise UsageError(f"{source}: give either [network] (one network) or [[networks]], "
                         "not both")
    if "network" in user:
        return [_network_entry(user.pop("network"), "network", source)]
    if "networks" not in user:
        return None
    nets = user.pop("networks")
    if not isinstance(nets, list) or not nets:
        raise UsageError(f"{source}: 'networks' must be a non-empty array of tables "
                         f"([[networks]]), got {nets!r}")
    return [_network_entry(e, f"networks[{i}]", source) for i, e in enumerate(nets)]


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
        nets = _networks(user, str(path))
        _merge(cfg, user, "", str(path))
        if nets is not None:
            cfg["networks"], cfg["network"] = nets, copy.deepcopy(nets[0])
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
    if not 0 < cfg["tradeoff"]["eta"] <= 1:
        raise UsageError(f"tradeoff.eta (charge-pump efficiency) must be in (0, 1], got "
                         f"{cfg['tradeoff']['eta']!r}")
    if cfg["tradeoff"]["energy_samples"] < 0:
        raise UsageError(f"tradeoff.energy_samples must be >= 0 (0 = all), got "
                         f"{cfg['tradeoff']['energy_samples']!r}")
    for section, key in (("evaluate", "timesteps"),
                         ("variation", "timesteps"), ("cosim_check", "timesteps")):
        if cfg[section][key] < 1:
            raise UsageError(f"{section}.{key} must be >= 1, got {cfg[section][key]!r}")
    names = [n["name"] for n in cfg["networks"]]
    for i, n in enumerate(cfg["networks"]):
        if n["epochs"] < 1 or n["eval_limit"] < 0:
            raise UsageError(f"networks[{i}] ({n['name']!r}): epochs must be >= 1 and "
                             f"eval_limit >= 0, got {n['epochs']!r}, {n['eval_limit']!r}")
        if names.count(n["name"]) > 1:
            raise UsageError(f"networks: each name once (their stages are named after them), "
                             f"{n['name']!r} appears {names.count(n['name'])} times")
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
