"""Hostile files: lookup tables, calibration files, weights and datasets that are cut, edited,
swapped, of the wrong type or physically impossible."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np

from calib import CalibrationError
from nmpkit.errors import ConfigError
from tests.hostile.harness import Case, assets, copy_tables, write


# ---- tables ----------------------------------------------------------------------------------
def _table(damage: str):
    def run(tmp: Path):
        import pandas as pd

        from calib.fit import fit
        from calib.tables import reseal

        t = copy_tables(tmp)
        path = t / ("fi.csv" if damage.startswith("fi") else "energy.csv")
        lines = path.read_text().splitlines(keepends=True)
        if damage == "fi-cut-in-half":
            path.write_text("".join(lines[: 1 + (len(lines) - 1) // 2]))
        elif damage == "fi-empty":
            path.write_text("")
        elif damage == "fi-header-only":
            path.write_text(lines[0])
        elif damage == "fi-binary":
            path.write_bytes(b"\xff\xfe\x00garbage")
        elif damage == "fi-extra-row":
            path.write_text("".join(lines) + lines[-1])
        elif damage == "fi-missing":
            path.unlink()
        elif damage == "fi-folder":
            path.unlink()
            path.mkdir()
        elif damage == "fi-fifo":
            path.unlink()
            os.mkfifo(path)
        elif damage == "fi-sidecar-missing":
            path.with_suffix(".json").unlink()
        elif damage == "fi-sidecar-garbage":
            path.with_suffix(".json").write_text("{not json")
        elif damage == "fi-sidecar-rows-neg":
            side = path.with_suffix(".json")
            side.write_text(json.dumps(json.loads(side.read_text()) | {"rows": -1}))
        elif damage == "fi-sidecar-no-seal":
            side = path.with_suffix(".json")
            meta = json.loads(side.read_text())
            side.write_text(json.dumps({k: v for k, v in meta.items()
                                        if k not in ("rows", "sha256")}))
        elif damage == "energy-swapped":
            path.write_text((t / "floor.csv").read_text())
        else:  # edits a user might make and reseal: impossible values must still be refused
            df = pd.read_csv(path)
            col = {"energy-negative": "e_spike_vdd_joules", "energy-nan": "e_spike_vdd_joules",
                   "energy-no-column": "e_spike_vdd_joules", "energy-inf": "p_static_vdd_watts",
                   "energy-neg-vdd": "v_dd_volts", "energy-pos-vneg": "v_neg_volts"}[damage]
            if damage == "energy-negative":
                df[col] = -df[col].abs()
            elif damage == "energy-nan":
                df.loc[0, col] = float("nan")
            elif damage == "energy-inf":
                df.loc[0, col] = float("inf")
            elif damage == "energy-no-column":
                df = df.drop(columns=[col])
            elif damage == "energy-neg-vdd":
                df[col] = -df[col]
            else:
                df[col] = df[col].abs() + 0.5
            df.to_csv(path, index=False)
            reseal(path)
        return fit(t)
    return run


TABLES = [
    ("fi-cut-in-half", r"fi.csv.*expected \d+ rows.*found \d+ rows.*sha256"),
    ("fi-empty", r"fi.csv"), ("fi-header-only", r"fi.csv"), ("fi-binary", r"fi.csv"),
    ("fi-extra-row", r"fi.csv: does not match"), ("fi-missing", r"fi.csv.*not found|fi"),
    ("fi-folder", r"fi.csv"), ("fi-fifo", r"fi.csv.*not a regular file"),
    ("fi-sidecar-missing", r"fi.json|sidecar"), ("fi-sidecar-garbage", r"fi.json|sidecar"),
    ("fi-sidecar-rows-neg", r"'rows' must be a count"),
    ("fi-sidecar-no-seal", r"no row count and content hash"),
    ("energy-swapped", r"energy.csv"), ("energy-negative", r"e_spike_vdd_joules.*>= 0"),
    ("energy-nan", r"e_spike_vdd_joules|spike_e0_joules.*finite"),
    ("energy-inf", r"p_static_vdd_watts"),
    ("energy-no-column", r"e_spike_vdd_joules"), ("energy-neg-vdd", r"v_dd_volts"),
    ("energy-pos-vneg", r"v_neg_volts"),
]


# ---- calibration files -----------------------------------------------------------------------
def _impossible() -> list[tuple[str, object, str]]:
    d = json.loads(assets().calibration.read_text())
    n = {k: len(d[k]) for k in ("energy_v_dd_volts", "energy_v_neg_volts", "floor_v_neg_volts",
                                "transfer_i_amps")}
    return [
        ("e_spike_vdd_joules", [-1e-13] * n["energy_v_dd_volts"], "energies/powers >= 0"),
        ("p_static_vneg_watts", [-1e-9] * n["energy_v_neg_volts"], "energies/powers >= 0"),
        ("spike_width_seconds", d["dt_seconds"] * 2, "<= dt_seconds"),
        ("floor_v_mem_min_volts", [5.0] * n["floor_v_neg_volts"], "floors <= the rest level"),
        ("floor_v_neg_volts", [0.1 * (k + 1) for k in range(n["floor_v_neg_volts"])],
         "negative supplies <= 0"),
        ("v_dd_volts", -1.0, "> 0"), ("mismatch_samples", -3, "an integer >= 0"),
        ("syn_charge_factor", 0.0, "> 0"), ("energy_exponent", "abc", "finite number or null"),
        ("energy_exponent", float("nan"), "finite number or null"),
        ("dt_seconds", float("nan"), "finite number"), ("dt_seconds", 0.0, "> 0"),
        ("gain_std", -0.1, ">= 0"), ("v_neg_volts", 0.5, "<= 0"),
        ("transfer_rate_hertz", [float("nan")] * n["transfer_i_amps"], "finite numbers"),
        ("e_spike_vdd_joules", ["x"] * n["energy_v_dd_volts"], "list of numbers"),
    ]


def _cal_field(field: str, value: object):
    def run(tmp: Path):
        from calib import Calibration

        d = json.loads(assets().calibration.read_text())
        d.pop("content_sha256", None)  # a hand edit: the seal removed, the values still checked
        return Calibration.load(write(tmp, "c.json", json.dumps(d | {field: value},
                                                                allow_nan=True)))
    return run


def _cal_file(kind: str):
    def run(tmp: Path):
        from calib import Calibration

        text = assets().calibration.read_text()
        path = tmp / "c.json"
        if kind == "truncated":
            path.write_text(text[: len(text) // 2])
        elif kind == "empty":
            path.write_text("")
        elif kind == "edited-sealed":
            d = json.loads(text)
            d["e_spike_vdd_joules"][0] *= 1.5
            path.write_text(json.dumps(d))
        elif kind == "list":
            path.write_text("[1, 2, 3]")
        elif kind == "missing-field":
            d = json.loads(text)
            d.pop("content_sha256")
            d.pop("dt_seconds")
            path.write_text(json.dumps(d))
        elif kind == "binary":
            path.write_bytes(b"\x00\xff" * 40)
        elif kind == "folder":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "missing":
            pass
        return Calibration.load(path)
    return run


def _cal_at_99(tmp: Path):
    from calib import Calibration

    return Calibration.load(assets().calibration).at(99.0)


# ---- weights ---------------------------------------------------------------------------------
def _weights(kind: str):
    def run(tmp: Path):
        import torch

        from nmpkit.ml.train import load_weights

        sd = torch.load(assets().weights, weights_only=True)
        path = tmp / "w.pt"
        if kind == "int64":
            torch.save({k: (v * 100).long() for k, v in sd.items()}, path)
        elif kind == "nan":
            sd[next(iter(sd))][...] = float("nan")
            torch.save(sd, path)
        elif kind == "missing-key":
            sd.pop(next(iter(sd)))
            torch.save(sd, path)
        elif kind == "extra-key":
            torch.save(sd | {"bogus.weight": torch.zeros(2)}, path)
        elif kind == "wrong-shape":
            k = next(iter(sd))
            torch.save(sd | {k: torch.zeros(3, 3)}, path)
        elif kind == "list":
            torch.save(list(sd.values()), path)
        elif kind == "text":
            path.write_text("not weights")
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "truncated":
            blob = assets().weights.read_bytes()
            path.write_bytes(blob[: len(blob) // 2])
        elif kind == "pickle-payload":
            class Evil:
                def __reduce__(self):
                    return (os.system, (f"touch {tmp / 'pwned'}",))
            torch.save({"x": Evil()}, path)
        elif kind == "other-network":
            from nmpkit.ml.train import save_weights
            from nmpkit.ml.zoo import get_network

            save_weights(get_network("autoencoder").build(), path, {})
        elif kind == "folder":
            path.mkdir()
        elif kind == "fifo":  # torch.load would block on it
            os.mkfifo(path)
        try:
            return load_weights("mnist", path)
        finally:
            assert not (tmp / "pwned").exists(), "a pickle payload ran"
    return run


WEIGHTS = [("int64", r"int64|dtype"), ("nan", r"(?i)finite|nan"), ("missing-key", r"missing|key"),
           ("extra-key", r"bogus"), ("wrong-shape", r"shape"), ("list", r"state_dict"),
           ("text", r"not a torch state_dict"), ("empty", r"not a torch state_dict"),
           ("truncated", r"not a torch state_dict"), ("pickle-payload", r"not a torch"),
           ("other-network", r"do not fit network 'mnist'"), ("folder", r"not found"),
           ("fifo", r"w.pt' not found")]


# ---- datasets --------------------------------------------------------------------------------
def _npz(kind: str):
    def run(tmp: Path):
        from nmpkit.ml.data import load_dataset

        rng = np.random.default_rng(1)
        arr = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
               "y_train": np.arange(6) % 10,
               "x_test": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
               "y_test": np.arange(4) % 10}
        path = tmp / "d.npz"
        if kind == "float01":
            arr["x_train"] = arr["x_train"] / 255.0
        elif kind == "float01-binary":  # only 0.0 and 1.0: integer-valued, still [0, 1] scaled
            arr["x_train"] = (arr["x_train"] > 127).astype(np.float32)
        elif kind == "over-255":
            arr["x_test"] = arr["x_test"].astype(np.int32) + 300
        elif kind == "negative":
            arr["x_test"] = -arr["x_test"].astype(np.int16)
        elif kind == "labels-10":
            arr["y_train"] = np.full(6, 10)
        elif kind == "labels-neg":
            arr["y_test"] = np.full(4, -1)
        elif kind == "labels-float":
            arr["y_test"] = np.array([0.5, 1.5, 2.5, 3.5])
        elif kind == "labels-short":
            arr["y_train"] = np.arange(3)
        elif kind == "missing-key":
            arr.pop("y_test")
        elif kind == "shape-32":
            arr["x_train"] = np.zeros((6, 32, 32), np.uint8)
            arr["x_test"] = np.zeros((4, 32, 32), np.uint8)
        elif kind == "5d":
            arr["x_train"] = np.zeros((6, 1, 1, 28, 28), np.uint8)
        elif kind == "object-array":
            arr["y_train"] = np.array([{"a": 1}] * 6, dtype=object)
        if kind == "corrupt-zip":
            path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
        elif kind == "object-array":
            with open(path, "wb") as fh:
                pickle.dump(arr, fh)  # what an attacker would hand over as an .npz
        else:
            np.savez(path, **arr)
        return load_dataset("mnist", path)
    return run


DATASETS = [("float01", r"x_train .*0..255"), ("float01-binary", r"x_train .*0..255|float"),
            ("over-255", r"x_test .*0..255"), ("negative", r"x_test .*0..255"),
            ("labels-10", r"y_train .*0..9"), ("labels-neg", r"y_test .*0..9"),
            ("labels-float", r"y_test"), ("labels-short", r"y_train must have shape"),
            ("missing-key", r"missing \['y_test'\]"), ("shape-32", r"\(1, 28, 28\)"),
            ("5d", r"x_train must be"), ("object-array", r"not a readable .npz"),
            ("corrupt-zip", r"not a readable .npz")]


def _data_root(kind: str):
    def run(tmp: Path):
        from nmpkit.ml.data import load_dataset

        root = {"missing": tmp / "nope", "empty-dir": tmp, "unknown-name": tmp,
                "fifo": tmp / "d.npz"}[kind]
        if kind == "fifo":
            os.mkfifo(root)
        return load_dataset("imagenet" if kind == "unknown-name" else "mnist", root)
    return run


def cases() -> list[Case]:
    issue = {"table/fi-cut-in-half", "table/energy-negative", "calibration/e_spike_vdd_joules",
             "calibration/energy_exponent", "weights/int64", "dataset/float01",
             "dataset/missing-root"}
    out = [Case(f"table/{d}", "tables", _table(d), CalibrationError, m) for d, m in TABLES]
    seen: set[str] = set()
    for field, value, expected in _impossible():
        cid = f"calibration/{field}" if field not in seen else f"calibration/{field}-{value!s}"
        seen.add(field)
        out.append(Case(cid, "calibration files", _cal_field(field, value), CalibrationError,
                        rf"'{field}'.*{expected.replace('(', '.').replace(')', '.')}"))
    out += [Case(f"calibration/file-{k}", "calibration files", _cal_file(k), CalibrationError,
                 m) for k, m in (("truncated", r"not a JSON calibration file"),
                                 ("empty", r"not a JSON calibration file"),
                                 ("edited-sealed", r"content_sha256"),
                                 ("list", r"c.json"), ("missing-field", r"dt_seconds"),
                                 ("binary", r"not a JSON calibration file"),
                                 ("folder", r"c.json"), ("fifo", r"c.json"),
                                 ("missing", r"c.json"))]
    out.append(Case("calibration/at-v-dd-99", "calibration files", _cal_at_99, CalibrationError,
                    r"99"))
    out += [Case(f"weights/{k}", "weights", _weights(k), ConfigError, m) for k, m in WEIGHTS]
    out += [Case(f"dataset/{k}", "datasets", _npz(k), ConfigError, m) for k, m in DATASETS]
    out += [Case(f"dataset/{k}-root" if k != "missing" else "dataset/missing-root", "datasets",
                 _data_root(k), ConfigError, m)
            for k, m in (("missing", r"does not exist"), ("empty-dir", r"mnist"),
                         ("fifo", r"d.npz' is a FIFO or device, never read"),
                         ("unknown-name", r"imagenet"))]
    return [c if c.id not in issue else Case(**{**c.__dict__, "issue": True}) for c in out]
