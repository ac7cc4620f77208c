"""The nmpkit metadata of a NIR graph: ``graph.metadata["nmpkit"]``, schema version 1.

NIR's IF (``dv/dt = r·I``; spike when ``v > v_threshold``; ``v = v_reset``) has no floor, no
reset by subtraction and no discrete step, so what this project is about travels here:

* ``schema_version`` (int, 1); ``semantics`` (str: the update rule below, for people);
  ``spikes_per_step`` (int, 1: at most one spike per neuron per step); ``threshold_rule``
  (``">="``); ``time_step`` (str: one step per input, ``r`` multiplies the input of one step,
  dt = 1); ``input_encoding`` (``"current"``: the input is applied every step).
* ``layers``: one entry per IF node, keyed by its node name: ``index`` (int), ``name`` (the
  layer's module path), ``scale`` (float, the normalization λ), ``ann_activation`` (``"relu"`` |
  ``"linear"``), ``lower_bound`` (float in threshold units, or ``"none"`` = no floor, NMP),
  ``reset`` (``"subtract"`` | ``"zero"``), ``refractory_steps`` (int), ``v_init`` (float, the
  membrane at t = 0 in threshold units; absent in older files: 0), ``transfer_x`` /
  ``transfer_y`` (float32 arrays, only with a transfer curve), ``op_kinds`` and ``op_sources``
  ({op node: cosim op kind / module path}).
* ``calibration`` (only for calibrated neurons): where the neuron came from — the calibration
  file's sha256, the preset, V_DD, the V_NEG used, model cards, mismatch seed
  (``calibration_provenance``).
* ``source`` (optional): what the network was made from (``nmpkit export-nir`` writes the
  network and dataset names, the weights' sha256, the normalization percentile and provenance).

The per-neuron threshold and gain sit in the IF node's own ``v_threshold`` and ``r`` (where other
tools read them). Values are str, int, float, arrays and dicts only (what ``nir.write`` stores
and ``nir.read`` gives back); ``None`` is written ``"none"``.

The update rule every layer follows (``cosim.neuron``), from ``v = v_init·v_threshold``, per
step: ``v += r·I``; ``s = v >= v_threshold``; ``v -= s·v_threshold`` (subtract) or ``v = 0``
where ``s`` (zero); then, where this step's input ``r·I`` is negative, ``v = max(v,
lower_bound·v_threshold)`` (for ``lower_bound <= 0`` the same as after every step; a floor above
rest, ``0 < lower_bound < 1``, bounds inhibition only).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from cosim.errors import NIRError

SCHEMA_KEY = "nmpkit"
SCHEMA_VERSION = 1
SEMANTICS = ("v starts at v_init * v_threshold (v_init 0 when absent); "
             "per step: v += r*I; spike iff v >= v_threshold (at most one spike per step); "
             "reset: subtract (v -= v_threshold) or zero (v = v_reset = 0); then, where r*I < 0, "
             "v = max(v, lower_bound * v_threshold) unless lower_bound is 'none' (for "
             "lower_bound <= 0 the same as after every step)")


class NIRImportWarning(UserWarning):
    """A graph imported with assumed semantics (no nmpkit metadata): says which."""


def nir_module() -> Any:
    try:
        import nir
    except ModuleNotFoundError as err:  # an optional extra
        raise NIRError("NIR support needs the 'nir' package: pip install 'nmpkit[nir]'") from err
    return nir


def int_pair(v: object) -> np.ndarray:
    return np.array(v if isinstance(v, tuple | list) else (v, v), dtype=np.int64)


def plain(value: Any, where: str) -> Any:
    """A metadata value nir.write stores and nir.read gives back: str, int, float, array, dict."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str | int | float | np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return np.asarray(value, dtype=np.float64)
        return ", ".join(str(v) for v in value)
    raise NIRError(f"metadata {where} = {value!r} ({type(value).__name__}) cannot be stored in "
                   "a NIR file; expected str, int, float, array or dict")


def calibration_provenance(calibration: Any, *, v_neg_volts: float | None,
                           path: str | Path | None = None, seed: int | None = None,
                           transfer: bool = True, refractory: bool = True) -> dict[str, Any]:
    """Where calibrated neurons came from, for ``to_nir(..., provenance=...)``.

    Args:
        calibration: the ``calib.Calibration`` the neurons were made from.
        v_neg_volts: the V_NEG whose floor the neurons carry (None: no floor).
        path: the calibration file (its sha256 is recorded); else the sha256 of its JSON.
        seed: the mismatch generator's seed, if mismatch was drawn.
    """
    import json

    from calib.io import digest as sha256_hex
    from calib.io import file_digest

    if path is not None:
        digest, file = file_digest(path), str(path)
    else:
        text = json.dumps(calibration.to_dict(), sort_keys=True, default=str)
        digest, file = sha256_hex(text), "none"
    cards: dict[str, str] = {}
    preset, netlist = "none", "none"
    for src in calibration.sources.values():
        prov = src.get("provenance", {}) if isinstance(src, dict) else {}
        mc = prov.get("model_cards")
        if isinstance(mc, dict) and "name" in mc:
            cards[str(mc["name"])] = str(mc.get("sha256", "none"))
        grid = prov.get("grid")
        if isinstance(grid, dict) and "name" in grid:
            preset = str(grid["name"])
        netlist = str(prov.get("netlist_sha256", netlist))
    return {"file": file, "sha256": digest, "preset": preset, "v_dd_volts": calibration.v_dd_volts,
            "v_neg_volts": "none" if v_neg_volts is None else float(v_neg_volts),
            "calibration_v_neg_volts": calibration.v_neg_volts, "model_cards": cards or "none",
            "netlist_sha256": netlist, "mismatch_seed": "none" if seed is None else int(seed),
            "transfer": int(transfer), "refractory": int(refractory)}


def _value(v: Any) -> Any:
    """nir.read's numpy scalars and bytes back to plain Python (arrays stay arrays)."""
    if isinstance(v, Mapping):
        return {str(k): _value(x) for k, x in v.items()}
    if isinstance(v, bytes):
        return v.decode("utf8")
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    if isinstance(v, np.generic):
        return v.item()
    return v


def nir_metadata(graph: Any) -> dict[str, Any] | None:
    """The graph's ``metadata["nmpkit"]`` as plain Python, or None when it has none.

    Raises:
        NIRError: a schema version this code does not read.
    """
    meta = getattr(graph, "metadata", None) or {}
    if SCHEMA_KEY not in meta:
        return None
    m = _value(meta[SCHEMA_KEY])
    if not isinstance(m, dict) or m.get("schema_version") != SCHEMA_VERSION:
        got = m.get("schema_version") if isinstance(m, dict) else m
        raise NIRError(f"metadata['{SCHEMA_KEY}'] schema_version must be {SCHEMA_VERSION}, got "
                       f"{got!r}; this nmpkit reads version {SCHEMA_VERSION} only")
    return m


__all__ = ["SCHEMA_KEY", "SCHEMA_VERSION", "SEMANTICS", "NIRImportWarning",
           "calibration_provenance", "nir_metadata", "plain"]
