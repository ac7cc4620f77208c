"""Run configuration: the embedded default, user TOML files merged onto it, strict checking.

Every key a user writes must exist in the embedded default (``nmpkit/app/configs/default.toml``)
with a compatible type; anything else is a :class:`UsageError` naming the key, the value and
what was expected. The merged dict is validated once and returned as a frozen
:class:`~nmpkit.app.config_types.RunConfig` (one dataclass per table); stage keys hash its
tables as the plain dicts the TOML gave (``RunConfig.section``).
"""

from __future__ import annotations

import copy
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from nmpkit.app.config_types import RunConfig
from nmpkit.app.errors import UsageError

DATASETS = ("mnist", "fashion-mnist", "cifar10", "svhn", "autoencoder")


NETWORK_ENTRY: dict[str, Any] = {"name": "mnist", "weights": "", "epochs": 1, "eval_limit": 0,
                                 "tradeoff": True}
"""The keys of one ``[[networks]]`` entry (or the legacy single ``[network]`` table) and the
values an entry that omits them gets. ``eval_limit`` 0 = ``data.eval_limit``."""


def default_config() -> RunConfig:
    """The embedded default run configuration."""
    return RunConfig.from_dict(_default_dict())


def _default_dict() -> dict[str, Any]:
    """The embedded default as a nested dict (a fresh copy); ``network`` = ``networks[0]``."""
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


def load_config(path: str | Path | None = None) -> RunConfig:
    """The default config, with the TOML file at ``path`` (if any) merged onto it, validated.

    Raises:
        UsageError: unreadable file, bad TOML, unknown key, wrong type or bad value.
    """
    cfg = _default_dict()
    if path is not None:
        user = _parse(Path(path))
        nets = _networks(user, str(path))
        _merge(cfg, user, "", str(path))
        if nets is not None:
            cfg["networks"], cfg["network"] = nets, copy.deepcopy(nets[0])
    validate(cfg)
    return RunConfig.from_dict(cfg)


_MAX_TIMESTEPS = 100_000
"""Largest T a config may ask for: ~10⁵ steps is far past any converged SNN here, and a larger
T would make the output buffers outgrow memory before a clear error could be raised."""


def _parse(path: Path) -> dict[str, Any]:
    """The TOML table in ``path``: a regular UTF-8 text file (never a FIFO, device or folder)."""
    if not path.exists():
        raise UsageError(f"config file {str(path)!r} does not exist")
    if not path.is_file():
        raise UsageError(f"config file {str(path)!r} is not a regular file (a folder, FIFO or "
                         "device); expected a TOML text file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"config file {str(path)!r} is not UTF-8 text; expected a TOML "
                         "text file") from None
    except OSError as exc:
        raise UsageError(f"config file {str(path)!r} cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def validate(cfg: dict[str, Any] | RunConfig) -> None:
    """Value checks beyond types (ranges, choices, finiteness), each naming the field."""
    from nmpkit.ml.zoo import NETWORKS

    if isinstance(cfg, RunConfig):
        cfg = cfg.to_dict()

    def need(ok: bool, field: str, value: Any, expected: str) -> None:
        if not ok:
            raise UsageError(f"{field} must be {expected}, got {value!r}")

    ds = cfg["data"]["dataset"]
    if ds not in DATASETS:
        raise UsageError(f"data.dataset must be one of {DATASETS}, got {ds!r}")
    net = cfg["network"]["name"]
    need(net in NETWORKS, "network.name", net, f"one of {sorted(NETWORKS)}")
    need(bool(cfg["data"]["root"]), "data.root", cfg["data"]["root"], "a dataset folder or .npz")
    budgets = cfg["tradeoff"]["timesteps"]
    if not budgets or any(isinstance(t, bool) or not isinstance(t, int) or t < 1
                          for t in budgets):
        raise UsageError(f"tradeoff.timesteps must be a non-empty list of integers >= 1 "
                         f"(latency budgets), got {budgets!r}")
    need(max(budgets) <= _MAX_TIMESTEPS, "tradeoff.timesteps", budgets,
         f"budgets <= {_MAX_TIMESTEPS}")
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
        if key == "timesteps":
            need(cfg[section][key] <= _MAX_TIMESTEPS, f"{section}.{key}", cfg[section][key],
                 f"<= {_MAX_TIMESTEPS}")
    names = [n["name"] for n in cfg["networks"]]
    for i, n in enumerate(cfg["networks"]):
        where = "network" if len(cfg["networks"]) == 1 else f"networks[{i}]"
        need(n["epochs"] >= 1, f"{where}.epochs", n["epochs"], ">= 1")
        need(n["eval_limit"] >= 0, f"{where}.eval_limit", n["eval_limit"],
             ">= 0 (0 = the whole test set)")
        if names.count(n["name"]) > 1:
            raise UsageError(f"networks: each name once (their stages are named after them), "
                             f"{n['name']!r} appears {names.count(n['name'])} times")
    for section in ("data", "tradeoff", "variation"):
        v = cfg[section]["eval_limit"]
        need(v >= 0, f"{section}.eval_limit", v, ">= 0 (0 = the whole test set)")
    need(cfg["run"]["seed"] >= 0, "run.seed", cfg["run"]["seed"], ">= 0")
    if cfg["characterize"]["scheduler"]:
        check_dask("characterize.scheduler", cfg["characterize"]["scheduler"])
    need(cfg["characterize"]["workers"] >= 0, "characterize.workers",
         cfg["characterize"]["workers"], ">= 0 (0 = all cores)")
    p = cfg["evaluate"]["percentile"]
    need(_finite(p) and 0 < p <= 100, "evaluate.percentile", p, "a number in (0, 100]")
    for f in cfg["evaluate"]["floors"]:
        if not _finite(f) or f > 0:
            raise UsageError(f"evaluate.floors entries must be numbers <= 0, got {f!r}")
    for section in ("tradeoff", "cosim_check"):
        vs = cfg[section]["v_neg_volts"]
        need(len(vs) > 0, f"{section}.v_neg_volts", vs, "a non-empty list")
        for v in vs:
            if not _finite(v) or v > 0:
                raise UsageError(f"{section}.v_neg_volts entries must be finite numbers <= 0, "
                                 f"got {v!r}")
    ca = cfg["evaluate"]["compare_at"]  # steps past evaluate.timesteps are left out, by design
    need(all(isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in ca),
         "evaluate.compare_at", ca, "a list of steps (integers >= 1)")
    need(len(cfg["tradeoff"]["v_dd_volts"]) > 0, "tradeoff.v_dd_volts",
         cfg["tradeoff"]["v_dd_volts"], "a non-empty list")
    for v in cfg["tradeoff"]["v_dd_volts"]:
        if not _finite(v) or not 0 < v <= 5:
            raise UsageError(f"tradeoff.v_dd_volts entries must be finite volts in (0, 5], "
                             f"got {v!r}")
    for s in cfg["variation"]["sigmas"]:
        if not _finite(s) or not 0 <= s < 1:
            raise UsageError(f"variation.sigmas entries must be in [0, 1), got {s!r}")
    w = cfg["variation"]["window_steps"]
    need(w >= 0, "variation.window_steps", w, ">= 0 (0 = per layer)")
    need(cfg["variation"]["max_pulses"] >= 1, "variation.max_pulses",
         cfg["variation"]["max_pulses"], ">= 1")
    need(cfg["cosim_check"]["hidden"] >= 1, "cosim_check.hidden", cfg["cosim_check"]["hidden"],
         ">= 1")
    need(cfg["cosim_check"]["substeps"] >= 1, "cosim_check.substeps",
         cfg["cosim_check"]["substeps"], ">= 1 (1 = the step model)")
    need(cfg["cosim_check"]["samples"] >= 1, "cosim_check.samples",
         cfg["cosim_check"]["samples"], ">= 1 (test images per V_NEG)")
    from circuits.design import design_from_mapping
    from circuits.errors import CircuitError

    try:  # [design] is checked here, not when the characterize stage runs
        design_from_mapping(dict(cfg["design"]), source="config [design]")
    except CircuitError as exc:
        raise UsageError(str(exc).splitlines()[0]) from None


def check_paths(cfg: RunConfig) -> None:
    """The config's input files exist (checked before any stage runs, not when one needs them)."""
    root = Path(cfg.data.root)
    if not root.exists():
        raise UsageError(f"data.root {str(root)!r} does not exist; expected a dataset folder "
                         "or .npz")
    weights = cfg.network.weights
    if weights and not Path(weights).is_file():
        raise UsageError(f"network.weights {weights!r} is not a file; expected a state_dict "
                         "written by `nmpkit train` (or \"\" to train here)")


def check_dask(field: str, value: object) -> None:
    """A Dask scheduler address needs the ``distributed`` package (the ``dask`` extra) and the
    form distributed parses (``tcp://host:port``, ``host:port``, ``inproc://...``)."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        raise UsageError(f"{field} {value!r} needs Dask's distributed package, which is not "
                         "installed; pip install 'nmpkit[distributed]' or leave the scheduler "
                         "empty")
    from distributed.comm.addressing import parse_address, parse_host_port

    try:  # distributed's own parser: a malformed address fails here, not as a traceback later
        scheme, location = parse_address(str(value))
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as exc:
        raise UsageError(f"{field} must be a Dask scheduler address such as tcp://host:8786, "
                         f"got {value!r} ({exc})") from None
