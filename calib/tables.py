"""Lookup tables: the circuit side's measurements, as tidy CSV files with a JSON provenance sidecar.

This is the pinned contract between ``circuits`` (which writes the tables) and ``calib.fit`` (which
reads them). A table directory holds ``fi.csv``, ``floor.csv``, ``energy.csv``, ``mismatch.csv`` and
``waveform.csv`` (and, for the ``study`` topology, ``mirror.csv``), each with a sidecar
``<name>.json``::

    {"kind": "fi", "columns": [...], "rows": 120, "sha256": "<of the CSV bytes>",
     "provenance": {"design": {...}, "model_cards": ..., "ngspice_version": ...,
     "nmpkit_version": ..., "git_revision": ..., "seed": ..., "grid": ...}}

Required columns per kind are ``SCHEMAS[kind]`` (extra columns are allowed and kept). SI units are
spelled in the column names. Writes are atomic (``calib.io``: a temporary file in the same
directory, then ``os.replace``), CSV first and sidecar last. A CSV whose row count or sha256
differs from its sidecar's (cut, edited, replaced, or a crash between the two writes) is refused
on reading.

Example::

    from calib.tables import read_table, write_table
    write_table(df, "tables/fi.csv", kind="fi", provenance=prov)
    table = read_table("tables/fi.csv", kind="fi")   # Table(kind, df, provenance)
"""

from __future__ import annotations

import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from calib.errors import CalibrationError
from calib.io import atomic_write_text
from calib.io import digest as sha256_hex

SCHEMAS: dict[str, tuple[str, ...]] = {
    "fi": ("i_exc_amps", "v_dd_volts", "v_neg_volts", "temp_celsius", "rate_hertz", "n_spikes",
           "v_th_volts", "spike_width_seconds"),
    "floor": ("i_inh_amps", "v_dd_volts", "v_neg_volts", "temp_celsius", "v_mem_min_volts"),
    "energy": ("i_exc_amps", "v_dd_volts", "v_neg_volts", "rate_hertz", "e_spike_vdd_joules",
               "e_spike_vneg_joules", "p_static_vneg_watts", "regime"),
    "mismatch": ("mc_sample", "seed", "i_exc_amps", "v_dd_volts", "v_neg_volts", "rate_hertz",
                 "rate_nominal_hertz", "gain", "v_th_volts"),
    "waveform": ("time_seconds", "v_mem_volts", "v_out_volts"),
    "mirror": ("i_amps", "v_dd_volts", "v_neg_volts", "temp_celsius", "v_mem_volts", "gain_exc",
               "gain_inh"),
}
"""Required columns of each table kind (the pinned contract)."""

REQUIRED_KINDS: tuple[str, ...] = ("fi", "floor", "energy", "mismatch")
"""Kinds every table directory has: the calibration is fitted from them."""

OPTIONAL_KINDS: tuple[str, ...] = ("waveform", "mirror")
"""Kinds a table directory may lack: ``waveform`` (a check of the threshold and the sense level
where the f–I table has no rows for them), ``mirror`` (only the ``study`` topology meters its
mirrors). ``REQUIRED_KINDS + OPTIONAL_KINDS`` are the kinds of ``SCHEMAS``."""

TABLE_FILES: dict[str, str] = {kind: f"{kind}.csv" for kind in SCHEMAS}
"""File name of each kind inside a table directory."""

PROVENANCE_KEYS: tuple[str, ...] = ("design", "model_cards", "ngspice_version", "nmpkit_version",
                                    "git_revision", "seed", "grid")
"""Keys that the circuit side always puts into a table's provenance."""

REGIMES: frozenset[str] = frozenset({"quadratic", "crowbar"})
"""Allowed values of the ``energy`` table's ``regime`` column."""

_TEXT_COLUMNS = {"regime"}


@dataclass(frozen=True, slots=True)
class Table:
    """One loaded lookup table: ``Table(kind, df, provenance)`` (positional or keyword).

    Attributes:
        kind: one of ``SCHEMAS`` ("fi", "floor", "energy", "mismatch", "waveform", "mirror").
        df: the rows; has at least the columns ``SCHEMAS[kind]``.
        provenance: what produced the table (design, model cards, versions, git revision, seed,
            grid), as written by the producer.
    """

    kind: str
    df: pd.DataFrame
    provenance: dict[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in SCHEMAS:
            raise CalibrationError(f"kind must be one of {sorted(SCHEMAS)}, got {self.kind!r}")


def _check_kind(kind: str) -> tuple[str, ...]:
    if kind not in SCHEMAS:
        raise CalibrationError(f"table kind must be one of {sorted(SCHEMAS)}, got {kind!r}")
    return SCHEMAS[kind]


def _check_columns(df: pd.DataFrame, kind: str, where: str) -> None:
    required = _check_kind(kind)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise CalibrationError(
            f"{where}: {kind} table is missing column {missing[0]!r}"
            + (f" (and {missing[1:]})" if len(missing) > 1 else "")
            + f"; required columns: {list(required)}"
        )
    for col in required:
        if col in _TEXT_COLUMNS or len(df) == 0:
            continue
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise CalibrationError(
                f"{where}: column {col!r} of the {kind} table must be numeric, "
                f"got dtype {df[col].dtype} (first value {df[col].iloc[0]!r})"
            )
    if "regime" in required:
        bad = sorted(set(df["regime"].astype(str)) - REGIMES)
        if bad:
            raise CalibrationError(
                f"{where}: column 'regime' must hold only {sorted(REGIMES)}, got {bad}"
            )



def _jsonable(value: Any) -> Any:
    """Plain-JSON form of provenance values (numpy scalars, paths, tuples, non-finite floats)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *, kind: str,
                provenance: dict[str, Any]) -> Path:
    """Write one table atomically: ``path`` (CSV) and ``path.with_suffix(".json")`` (sidecar).

    Args:
        df: the rows; must contain the columns ``SCHEMAS[kind]`` (extra columns are kept).
        path: CSV file to write; its directory is created if needed.
        kind: table kind, a key of ``SCHEMAS``.
        provenance: what produced the table; should hold ``PROVENANCE_KEYS``.

    Returns:
        The CSV path.

    Raises:
        CalibrationError: unknown kind, a missing or non-numeric required column, or a
            provenance that is not a dict.
    """
    path = Path(path)
    _check_columns(df, kind, str(path))
    if not isinstance(provenance, dict):
        raise CalibrationError(
            f"{path}: provenance must be a dict, got {type(provenance).__name__}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = df.to_csv(index=False, float_format="%.12g", lineterminator="\n")
    atomic_write_text(path, text)
    sidecar = {"kind": kind, "columns": [str(c) for c in df.columns],
               "rows": int(len(df)), "sha256": sha256_hex(text),
               "provenance": _jsonable(provenance)}
    atomic_write_text(path.with_suffix(".json"), json.dumps(sidecar, indent=2, sort_keys=True))
    return path


def _seal(meta: dict[str, Any], side: Path) -> tuple[int, str]:
    rows, digest = meta.get("rows"), meta.get("sha256")
    if rows is None and digest is None:
        raise CalibrationError(
            f"{side}: sidecar records no row count and content hash (written by an older "
            "nmpkit), so a cut or edited table cannot be told apart; regenerate the tables, or "
            f"accept the CSV as it is with calib.tables.reseal({str(side.with_suffix('.csv'))!r})")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise CalibrationError(f"{side}: field 'rows' must be a count >= 0, got {rows!r}")
    if not isinstance(digest, str) or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
        raise CalibrationError(f"{side}: field 'sha256' must be 64 hex digits, got {digest!r}")
    return rows, digest


def _rows_of(blob: bytes) -> int | str:
    try:
        return len(pd.read_csv(io.BytesIO(blob)))
    except (ValueError, UnicodeDecodeError):
        return "unreadable"


def reseal(path: str | os.PathLike[str]) -> Path:
    """Record the CSV's current row count and sha256 in its sidecar (an explicit acceptance of
    the file as it is: for tables written before sidecars held them, or edited on purpose).

    Raises:
        CalibrationError: the CSV or sidecar is missing or unreadable.
    """
    path = Path(path)
    side = path.with_suffix(".json")
    meta = _sidecar(path, side)
    blob = path.read_bytes()
    df = _parse(path, blob)  # columns are checked when the table is read
    meta |= {"rows": int(len(df)), "sha256": sha256_hex(blob)}
    atomic_write_text(side, json.dumps(meta, indent=2, sort_keys=True))
    return side


def _sidecar(path: Path, side: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CalibrationError(f"{path}: table file not found (or not a regular file)")
    if not side.is_file():
        raise CalibrationError(f"{path}: provenance sidecar {side.name} not found")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{side}: unreadable sidecar ({exc})") from exc
    if not isinstance(meta, dict) or "kind" not in meta:
        raise CalibrationError(f"{side}: sidecar lacks field 'kind'")
    return meta


def _parse(path: Path, blob: bytes) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(blob))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: unreadable CSV ({exc})") from exc


def read_table(path: str | os.PathLike[str], kind: str | None = None) -> Table:
    """Load a table and its provenance sidecar.

    Args:
        path: the CSV file (the sidecar is ``path.with_suffix(".json")``).
        kind: the expected kind; ``None`` takes the sidecar's.

    Returns:
        ``Table(kind, df, provenance)``.

    Raises:
        CalibrationError: missing file or sidecar, a sidecar of another kind, an unreadable file,
            a CSV whose row count or sha256 differs from the sidecar's (or a sidecar without
            them: `reseal`), or a missing/non-numeric required column (the message names file
            and column).
    """
    path = Path(path)
    side = path.with_suffix(".json")
    meta = _sidecar(path, side)
    side_kind = meta["kind"]
    if kind is not None and side_kind != kind:
        raise CalibrationError(f"{path}: expected a {kind!r} table, sidecar says {side_kind!r}")
    kind = side_kind
    _check_kind(kind)
    rows, digest = _seal(meta, side)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise CalibrationError(f"{path}: unreadable CSV ({exc.strerror})") from exc
    found = sha256_hex(blob)
    if found != digest:
        raise CalibrationError(
            f"{path}: does not match its sidecar {side.name}: expected {rows} rows with sha256 "
            f"{digest[:16]}..., found {_rows_of(blob)} rows with sha256 {found[:16]}... (cut, "
            "edited or replaced); regenerate the tables, or accept the file as it is with "
            f"calib.tables.reseal({str(path)!r})")
    df = _parse(path, blob)
    if len(df) != rows:
        raise CalibrationError(f"{path}: sidecar {side.name} records {rows} rows, the file "
                               f"has {len(df)}")
    _check_columns(df, kind, str(path))
    provenance = meta.get("provenance", {})
    if not isinstance(provenance, dict):
        raise CalibrationError(f"{side}: field 'provenance' must be an object")
    return Table(kind=kind, df=df, provenance=provenance)


def read_tables(directory: str | os.PathLike[str],
                kinds: tuple[str, ...] | None = None) -> dict[str, Table]:
    """Load every table of a table directory (``fi.csv``, ``floor.csv``, ...) by kind.

    Raises:
        CalibrationError: a table of ``kinds`` (default: all of ``SCHEMAS``) is missing or bad.
    """
    directory = Path(directory)
    if kinds is None:
        kinds = tuple(k for k in SCHEMAS if k not in OPTIONAL_KINDS
                      or (directory / TABLE_FILES[k]).is_file())
    return {k: read_table(directory / TABLE_FILES[k], kind=k) for k in kinds}


__all__ = ["OPTIONAL_KINDS", "PROVENANCE_KEYS", "REGIMES", "REQUIRED_KINDS", "SCHEMAS",
           "TABLE_FILES", "Table",
           "read_table", "read_tables", "reseal", "write_table"]
