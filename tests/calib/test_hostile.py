"""Hostile tables and calibration files: cut, edited, replaced or physically impossible inputs get
one clear `CalibrationError` naming the file or field, the value and what was expected."""

from __future__ import annotations

import json
import math
import os

import pandas as pd
import pytest

from calib import Calibration, CalibrationError
from calib.fit import fit
from calib.tables import read_table, read_tables, reseal
from tests.calib import synth_tables as syn


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return syn.write_tables(tmp_path_factory.mktemp("t"))


@pytest.fixture(scope="module")
def cal(tables):
    return fit(tables)


@pytest.fixture
def fresh(tmp_path):
    return syn.write_tables(tmp_path / "t")


def test_fi_cut_in_half_names_file_rows_and_hash(fresh):
    path = fresh / "fi.csv"
    lines = path.read_text().splitlines(keepends=True)
    rows = len(lines) - 1
    path.write_text("".join(lines[: 1 + rows // 2]))
    with pytest.raises(CalibrationError) as exc:
        fit(fresh)
    msg = str(exc.value)
    assert str(path) in msg and f"expected {rows} rows" in msg and f"found {rows // 2} rows" \
        in msg and "sha256" in msg
    with pytest.raises(CalibrationError, match="fi.csv: does not match"):
        read_tables(fresh)


@pytest.mark.parametrize("damage", ["empty", "one-digit", "extra-row", "swapped", "bytes"])
def test_any_change_to_a_table_is_refused(fresh, damage):
    path = fresh / "energy.csv"
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    if damage == "empty":
        path.write_text("")
    elif damage == "one-digit":  # still a valid table: only the hash can tell
        head, first = lines[0], lines[1]
        digit = next(i for i, ch in enumerate(first) if ch.isdigit() and ch != "9")
        path.write_text(head + first[:digit] + str(int(first[digit]) + 1) + first[digit + 1:]
                        + "".join(lines[2:]))
    elif damage == "extra-row":
        path.write_text(text + lines[-1])
    elif damage == "swapped":
        path.write_text((fresh / "floor.csv").read_text())
    else:
        path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CalibrationError, match=r"energy.csv: does not match its sidecar"):
        read_table(path, kind="energy")


def test_sidecar_without_seal_and_bad_seal_fields(fresh):
    side = fresh / "floor.json"
    meta = json.loads(side.read_text())
    legacy = {k: v for k, v in meta.items() if k not in ("rows", "sha256")}
    side.write_text(json.dumps(legacy))
    with pytest.raises(CalibrationError, match=r"records no row count and content hash.*reseal"):
        read_table(fresh / "floor.csv")
    reseal(fresh / "floor.csv")  # the explicit acceptance
    assert len(read_table(fresh / "floor.csv").df) == meta["rows"]
    for field, value, match in (("rows", -1, "field 'rows' must be a count"),
                                ("rows", "12", "field 'rows' must be a count"),
                                ("sha256", "abc", "field 'sha256' must be 64 hex"),
                                ("rows", meta["rows"] + 1, "records .* rows, the file has")):
        side.write_text(json.dumps(meta | {field: value}))
        with pytest.raises(CalibrationError, match=match):
            read_table(fresh / "floor.csv")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_or_folder_as_table_does_not_block(fresh):
    (fresh / "fi.csv").unlink()
    os.mkfifo(fresh / "fi.csv")
    with pytest.raises(CalibrationError, match="not a regular file"):
        read_table(fresh / "fi.csv")
    (fresh / "fi.csv").unlink()
    (fresh / "fi.csv").mkdir()
    with pytest.raises(CalibrationError, match="not found"):
        read_table(fresh / "fi.csv")


def test_saved_calibration_is_sealed(cal, tmp_path):
    path = cal.save(tmp_path / "c.json")
    data = json.loads(path.read_text())
    assert len(data["content_sha256"]) == 64
    assert Calibration.load(path) == cal
    data["e_spike_vdd_joules"][0] *= 1.5  # plausible, valid: only the seal tells
    path.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=r"c.json: field 'content_sha256' records"):
        Calibration.load(path)
    del data["content_sha256"]  # deleting the seal is the way to accept a hand edit
    path.write_text(json.dumps(data))
    assert Calibration.load(path).e_spike_vdd_joules[0] == pytest.approx(
        1.5 * cal.e_spike_vdd_joules[0])
    path.write_text(path.read_text()[:100])
    with pytest.raises(CalibrationError, match="not a JSON calibration file"):
        Calibration.load(path)
    path.write_text("")
    with pytest.raises(CalibrationError, match="not a JSON calibration file"):
        Calibration.load(path)


def _impossible(cal: Calibration) -> list[tuple[str, object, str]]:
    n_e, n_v, n_f = (len(cal.energy_v_dd_volts), len(cal.energy_v_neg_volts),
                     len(cal.floor_v_neg_volts))
    return [
        ("e_spike_vdd_joules", [-1e-13] * n_e, "energies/powers >= 0"),
        ("e_spike_vneg_joules", [-1e-14] + [0.0] * (n_v - 1), "energies/powers >= 0"),
        ("p_static_vneg_watts", [-1e-9] * n_v, "energies/powers >= 0"),
        ("spike_width_seconds", cal.dt_seconds * 2, "<= dt_seconds"),
        ("floor_v_mem_min_volts", [5.0] * n_f, "floors <= the rest level"),
        ("floor_v_neg_volts", [0.1 * (k + 1) for k in range(n_f)], "negative supplies <= 0"),
        ("v_dd_volts", -1.0, "> 0"),
        ("energy_v_dd_volts", [-1.0 + k for k in range(n_e)], "supplies > 0 V"),
        ("mismatch_samples", -3, "an integer >= 0"),
        ("mismatch_samples", 2.5, "an integer >= 0"),
        ("syn_charge_factor", 0.0, "> 0"),
        ("energy_exponent", "abc", "finite number or null"),
        ("energy_exponent", float("nan"), "finite number or null"),
        ("dt_seconds", float("nan"), "finite number"),
        ("dt_seconds", 0.0, "> 0"),
        ("gain_std", -0.1, ">= 0"),
        ("v_neg_volts", 0.5, "<= 0"),
        ("transfer_rate_hertz", [float("nan")] * len(cal.transfer_i_amps), "finite numbers"),
        ("e_spike_vdd_joules", ["x"] * n_e, "list of numbers"),
    ]


def test_physically_impossible_values_are_refused_by_field(cal, tmp_path):
    """Through the file (what a user hands in), each value gets one error naming its field."""
    good = cal.to_dict()
    for field, value, expected in _impossible(cal):
        path = tmp_path / f"{field}.json"
        path.write_text(json.dumps(good | {field: value}, allow_nan=True))
        with pytest.raises(CalibrationError) as exc:
            Calibration.load(path)
        msg = str(exc.value)
        assert str(path) in msg and f"{field!r}" in msg and expected in msg, msg
        assert len(msg.splitlines()) == 1


def test_no_negative_joules_per_inference(cal):
    """The silent result of the issue: negative energies made negative joules per inference."""
    data = cal.to_dict() | {"e_spike_vdd_joules": [-abs(e) for e in cal.e_spike_vdd_joules]}
    with pytest.raises(CalibrationError, match="e_spike_vdd_joules"):
        Calibration.from_dict(data)
    assert all(e >= 0 and math.isfinite(e) for e in cal.e_spike_vdd_joules)


def test_negative_energies_in_the_energy_table_stop_the_fit(fresh):
    path = fresh / "energy.csv"
    df = pd.read_csv(path)
    df["e_spike_vdd_joules"] = -df["e_spike_vdd_joules"]
    df.to_csv(path, index=False)
    reseal(path)
    with pytest.raises(CalibrationError, match="e_spike_vdd_joules.*>= 0"):
        fit(fresh)


def test_floor_just_above_rest_is_the_zmp_neuron_and_far_above_is_refused(cal):
    # The study's neuron at V_NEG = 0: the reset lands a few mV below ground, the floor is ground.
    from dataclasses import replace

    from calib._checks import ZMP_SLACK_THETA

    top = max(cal.floor_v_neg_volts)
    rest, theta = cal.rest_at(top), cal.theta_at(top)
    floors = list(cal.floor_v_mem_min_volts)
    k = cal.floor_v_neg_volts.index(top)
    floors[k] = rest + 0.5 * ZMP_SLACK_THETA * theta
    near = replace(cal, floor_v_mem_min_volts=tuple(floors))
    assert near.floor_theta(top) == 0.0          # ZMP, never a positive floor
    floors[k] = rest + 2 * ZMP_SLACK_THETA * theta
    with pytest.raises(CalibrationError, match="floor_v_mem_min_volts.*positive floor"):
        replace(cal, floor_v_mem_min_volts=tuple(floors))


def test_energy_noise_below_zero_reads_as_zero_and_a_real_negative_is_refused(cal, tmp_path):
    """Item 4 of #9: a 0 V supply integrates to about -1e-18 J next to pJ spikes (numerical
    noise); the physical check reads it as 0 (relative to the energy scale) and still refuses a
    negative energy that is not noise, through the file as well."""
    from dataclasses import replace

    from calib._checks import NOISE_RTOL

    scale = max(abs(e) for e in (*cal.e_spike_vdd_joules, *cal.e_spike_vneg_joules,
                                 *cal.spike_e0_joules, *cal.e_spike_vrst_joules))
    assert scale > 1e-15  # pJ-scale spikes: -1e-18 J is ~1e-6 of it
    n_v = len(cal.energy_v_neg_volts)
    noisy = replace(cal, e_spike_vneg_joules=(-1e-18,) + cal.e_spike_vneg_joules[1:])
    assert noisy.e_spike_vneg_joules[0] == 0.0
    assert noisy.e_spike_vneg_joules[1:] == cal.e_spike_vneg_joules[1:]
    path = noisy.save(tmp_path / "noisy.json")
    assert Calibration.load(path) == noisy
    # just past the tolerance: refused, naming the field and the tolerance
    bad = [-2 * NOISE_RTOL * scale] + [0.0] * (n_v - 1)
    with pytest.raises(CalibrationError, match=r"'e_spike_vneg_joules'.*>= 0.*noise up to"):
        replace(cal, e_spike_vneg_joules=tuple(bad))
    watts = max(abs(p) for p in (*cal.p_static_vneg_watts, *cal.p_static_vdd_watts,
                                 *cal.p_bias_watts, *cal.p_static_vrst_watts, *cal.spike_k_watts))
    assert replace(cal, p_static_vneg_watts=(-1e-6 * NOISE_RTOL * watts,) * n_v
                   ).p_static_vneg_watts == (0.0,) * n_v
