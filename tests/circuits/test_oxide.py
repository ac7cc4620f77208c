"""The thick-oxide option of the V_NEG path (circuits.oxide): rendering, SOA rating, and the
neuron in real ngspice."""

import dataclasses
import re

import pytest

from circuits.design import default_design, preset
from circuits.errors import DesignError
from circuits.oxide import THICK_DEVICES, THICK_MIN_LENGTH_METERS, THICK_RATED_GATE_VOLTS, apply
from circuits.render import Stimulus, render_deck
from circuits.soa import check, enforce
from tests.circuits.conftest import needs_ngspice

STIM = Stimulus(i_exc_amps=1e-7, t_stop_seconds=5e-5, t_max_step_seconds=1e-7)


def _mos(deck: str) -> dict[str, str]:
    return {ln.split()[0].upper(): ln for ln in deck.splitlines() if re.match(r"^M\w+ ", ln)}


@pytest.mark.parametrize("name", ["default", "raised_rest"])
def test_thick_option_moves_exactly_the_v_neg_path_to_thick_cards(name):
    thin = render_deck(preset(name), STIM)
    thick = render_deck(preset(name, v_neg_path_oxide="thick"), STIM)
    assert "_thick" not in thin  # the thin default renders as before (golden netlists)
    assert ".model nch_thick nmos" in thick and ".model pch_thick pmos" in thick
    mos = _mos(thick)
    on_thick = {d for d, ln in mos.items() if ln.split()[5].endswith("_thick")}
    topology = "study" if name == "default" else "raised_rest"
    assert on_thick == {d.upper() for d in THICK_DEVICES[topology]}
    for d in on_thick:  # no thick device shorter than the thick rule (numbers or expressions)
        length = re.search(r" l=(\S+)", mos[d]).group(1)
        if length.startswith("{"):
            assert length.startswith("{max(") and f",{THICK_MIN_LENGTH_METERS:g})" in length
        else:
            assert float(length) >= THICK_MIN_LENGTH_METERS
    for d, ln in _mos(thin).items():  # the thin devices keep their lines
        if d not in on_thick:
            assert mos[d] == ln


def test_thick_option_refuses_bad_values_by_name():
    with pytest.raises(DesignError, match="v_neg_path_oxide must be one of"):
        preset("default", v_neg_path_oxide="medium")
    with pytest.raises(DesignError,
                       match=r"v_neg_path_oxide 'thick' needs v_dd_volts >= 1.0.*got 0.8"):
        preset("default", v_neg_path_oxide="thick", v_dd_volts=0.8)
    with pytest.raises(DesignError, match=r"devices \['mc1', .*'mr1'\] not found"):
        apply("MP1 a b c d pch w=1 l=1\n", oxide="thick", topology="study")
    assert "v_neg_path_oxide" not in default_design().to_dict()  # thin keeps old cache keys
    assert preset("default", v_neg_path_oxide="thick").to_dict()["v_neg_path_oxide"] == "thick"


def test_soa_passes_with_thick_oxide_up_to_its_rating():
    thin = dataclasses.replace(default_design(), v_dd_volts=1.2, v_neg_volts=-1.2, v_rst_volts=-1.2)
    assert check(thin) and check(thin)[0].volts == pytest.approx(2.4)  # thin: above 1.8 V
    thick = dataclasses.replace(thin, v_neg_path_oxide="thick")
    assert check(thick) == []  # 2.4 V on a 3.3 V oxide
    assert enforce(thick, warn=False)["rated_gate_volts"] == THICK_RATED_GATE_VOLTS[
        "generic_bsim3"] == 3.3
    over = dataclasses.replace(thick, v_dd_volts=1.5, v_neg_volts=-2.0, v_rst_volts=-2.0)
    with pytest.raises(DesignError, match=r"3\.5 V .*3\.3 V rating"):
        enforce(over, strict=True)


@needs_ngspice
def test_thick_neuron_fires_and_floors_at_v_neg():
    """Measured (V_DD 1 V): theta 0.59 V, rest +0.08 V (0.14 theta: the thick sense inverter
    switches late on the slow ramp, the packet is sized for its DC switching point), floor
    exactly V_NEG; V_DD 1.2 V alike."""
    from circuits.point import Point, simulate_point

    d = preset("default", v_neg_path_oxide="thick")
    r = simulate_point(d, Point(kind="fi", v_dd_volts=1.0, v_neg_volts=-1.0, i_exc_amps=3e-8))
    assert r["v_th_volts"] == pytest.approx(0.5, rel=0.25) and r["rate_hertz"] > 1e4, r
    assert 0 <= r["v_rest_volts"] <= 0.2 * r["v_th_volts"], r
    f = simulate_point(d, Point(kind="floor", v_dd_volts=1.0, v_neg_volts=-1.0, i_inh_amps=1e-7))
    assert f["v_mem_min_volts"] == pytest.approx(-1.0, abs=0.05)
